"""Reading what the viewer shows in a Playwright page: its timestamps, its state, canvas pixels.

Shared by the browser tests of the viewer (tests/browser/viewer) and the workspace
(tests/browser/workspace): both pages mount the viewer on the element with id "viewer".
"""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page


def wait_first_image(page: Page, timeout: float = 15_000) -> None:
    page.wait_for_selector(".asv[data-first-image-ms]", state="attached", timeout=timeout)


def wait_all_loaded(page: Page, timeout: float = 30_000) -> None:
    page.wait_for_selector(".asv[data-all-loaded-ms]", state="attached", timeout=timeout)


def state(page: Page) -> Any:
    settle(page)
    return page.evaluate("() => document.getElementById('viewer').autoscribeViewer.state()")


CANVAS_STATS = """() => {
  const c = document.querySelector('.asv-canvas');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let lit = 0, sum = 0, sum2 = 0, hash = 0;
  const n = d.length / 4;
  for (let i = 0; i < d.length; i += 4) {
    const v = (d[i] + d[i + 1] + d[i + 2]) / 3;
    if (v > 8) lit++;
    sum += v; sum2 += v * v;
    hash = (hash * 31 + d[i] * 7 + d[i + 1] * 3 + d[i + 2]) >>> 0;
  }
  const mean = sum / n;
  return { lit: lit / n, mean, std: Math.sqrt(Math.max(0, sum2 / n - mean * mean)), hash };
}"""


def settle(page: Page) -> None:
    """Wait two animation frames: the viewer paints on the next frame after a change."""
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def canvas_stats(page: Page) -> dict[str, float]:
    """Fraction of lit pixels, mean, spread and a hash of what the canvas shows."""
    settle(page)
    return dict(page.evaluate(CANVAS_STATS))


SAMPLE = """([fx, fy]) => {
  const v = document.getElementById('viewer').autoscribeViewer;
  const r = v.state().imageRect;
  const c = document.querySelector('.asv-canvas');
  const k = c.width / c.clientWidth;
  const x = Math.floor((r.x + fx * r.width) * k), y = Math.floor((r.y + fy * r.height) * k);
  return Array.from(c.getContext('2d').getImageData(x, y, 1, 1).data.slice(0, 3));
}"""


def sample(page: Page, fx: float, fy: float) -> list[int]:
    """RGB on the canvas at a fraction (fx, fy) of the drawn image's width and height."""
    settle(page)
    return list(page.evaluate(SAMPLE, [fx, fy]))


def overlay(page: Page) -> str:
    return page.locator(".asv-viewport").inner_text()
