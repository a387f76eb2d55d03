"""Small charts drawn on the server as SVG: no script, nothing to load, allowed by the pages'
Content-Security-Policy (colours are classes in app.css, `.chart .s0` ...; no style attributes).

Each chart is an <svg role="img"> named by its title; every bar and point carries a <title> with
its value (a tooltip), and the page shows the same numbers in a table for those who do not see
the chart."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT = 720, 230
LEFT, RIGHT, TOP, BOTTOM = 40, 10, 24, 26
PALETTE_SIZE = 6  # .s0 ... .s5 in app.css


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]  # one per label; None: no value that day
    css: str  # "s0" ... "s5"


def series_class(index: int) -> str:
    return f"s{min(index, PALETTE_SIZE - 1)}"


def axis(largest: float, *, whole: bool = False, steps: int = 4) -> tuple[float, float]:
    """(top, step) of a y axis from 0 that holds `largest` in about `steps` round steps (1, 2,
    2.5 or 5 x 10^k; whole numbers only for counts)."""
    largest = largest if largest > 0 else 1.0  # an empty chart still has an axis
    raw = max(largest, 1.0 if whole else 0.1) / steps
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    if whole:
        step = max(1.0, math.ceil(step))
    return step * max(1, math.ceil(largest / step - 1e-9)), step


def _number(value: float) -> str:
    return f"{value:.0f}" if value == int(value) else f"{value:g}"


class _Frame:
    """The plot area: x bands for the labels, a y scale from 0 to `top` in steps of `step`."""

    def __init__(self, labels: Sequence[str], top: float, step: float) -> None:
        self.labels = labels
        self.top, self.step = top, step
        self.band = (WIDTH - LEFT - RIGHT) / max(1, len(labels))
        self.height = HEIGHT - TOP - BOTTOM

    def x(self, index: int) -> float:
        return LEFT + self.band * (index + 0.5)

    def y(self, value: float) -> float:
        return TOP + self.height * (1 - value / self.top)

    def axes(self, unit: str) -> list[str]:
        parts = []
        for i in range(round(self.top / self.step) + 1):
            value = self.step * i
            y = self.y(value)
            parts.append(
                f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
                f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{_number(value)}</text>'
            )
        parts.append(f'<text class="tick unit" x="4" y="{TOP - 12}">{escape(unit)}</text>')
        every = 1 if len(self.labels) <= 8 else 2
        for i, label in enumerate(self.labels):
            # Every other label when crowded, always the last (today).
            if (len(self.labels) - 1 - i) % every == 0:
                parts.append(
                    f'<text class="tick" x="{self.x(i):.1f}" y="{HEIGHT - 8}" text-anchor="middle">'
                    f"{escape(label)}</text>"
                )
        return parts


def _svg(chart_id: str, title: str, body: list[str]) -> Markup:
    return Markup(  # noqa: S704 - every text in it is escaped above
        f'<svg class="chart" id="{escape(chart_id)}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{escape(chart_id)}-title" preserveAspectRatio="xMidYMid meet">'
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>' + "".join(body) + "</svg>"
    )


def stacked_bars(
    chart_id: str, title: str, labels: Sequence[str], series: Sequence[Series], unit: str
) -> Markup:
    """One stacked bar per label, a segment per series (volumes)."""
    totals = [sum(s.values[i] or 0 for s in series) for i in range(len(labels))]
    frame = _Frame(labels, *axis(max(totals, default=0), whole=True))
    body = frame.axes(unit)
    width = frame.band * 0.62
    for i, label in enumerate(labels):
        base = 0.0
        for s in series:
            value = s.values[i] or 0
            if not value:
                continue
            y_top, y_base = frame.y(base + value), frame.y(base)
            body.append(
                f'<rect class="bar {s.css}" x="{frame.x(i) - width / 2:.1f}" y="{y_top:.1f}" '
                f'width="{width:.1f}" height="{y_base - y_top:.1f}" data-series="{escape(s.name)}" '
                f'data-label="{escape(label)}" data-value="{_number(value)}">'
                f"<title>{escape(s.name)}, {escape(label)}: {_number(value)} {escape(unit)}</title></rect>"
            )
            base += value
    return _svg(chart_id, title, body)


def lines(chart_id: str, title: str, labels: Sequence[str], series: Sequence[Series], unit: str) -> Markup:
    """A line per series over the labels; a missing value breaks the line (a lone value is a dot)."""
    top = max((v for s in series for v in s.values if v is not None), default=0.0)
    frame = _Frame(labels, *axis(top))
    body = frame.axes(unit)
    for s in series:
        path, dots, pen_down = [], [], False
        for i, value in enumerate(s.values):
            if value is None:
                pen_down = False
                continue
            x, y = frame.x(i), frame.y(value)
            path.append(f"{'L' if pen_down else 'M'}{x:.1f} {y:.1f}")
            pen_down = True
            dots.append(
                f'<circle class="point {s.css}" cx="{x:.1f}" cy="{y:.1f}" r="3.5" '
                f'data-series="{escape(s.name)}" data-label="{escape(labels[i])}" data-value="{value:.1f}">'
                f"<title>{escape(s.name)}, {escape(labels[i])}: {value:.1f} {escape(unit)}</title></circle>"
            )
        if path:
            body.append(f'<path class="line {s.css}" d="{" ".join(path)}"/>')
        body.extend(dots)
    return _svg(chart_id, title, body)
