"""TNM staging said aloud: "T two a N one M zero" → T2a N1 M0, "p T three N x" → pT3 NX."""

from __future__ import annotations

from autoscribe.scribe.normalize.numbers import parse_number
from autoscribe.scribe.normalize.tokens import Tok

# The highest category of each letter; "x" (not assessed) and, for T, "is" (in situ) also exist.
_MAX = {"t": 4, "n": 3, "m": 1}
_PREFIXES = frozenset(("c", "p", "y", "yp", "yc", "r"))
_SUBLETTERS = frozenset(("a", "b", "c", "d"))


def _category(toks: list[Tok], i: int, letter: str) -> tuple[str, int] | None:
    """ "T two a" → ("T2a", after): the letter, its number (or X, or "is" for T), and a subletter."""
    if i >= len(toks) or toks[i].kind not in ("word", "num"):
        return None
    tok = toks[i]
    # The model writes it joined at times: "T2", "N1"; the letter alone otherwise.
    if tok.low[:1] == letter and tok.low[1:].isdigit() and len(tok.low) == 2:
        value, j = tok.low[1:], i + 1
    elif tok.low == letter and i + 1 < len(toks):
        nxt = toks[i + 1]
        if nxt.low in ("x", "ex") or (letter == "t" and nxt.low == "is"):
            value, j = ("X" if nxt.low != "is" else "is"), i + 2
        else:
            parsed = parse_number(toks, i + 1)
            if parsed is None or "." in parsed[0] or parsed[2] > 1:
                return None
            value, j = parsed[0], parsed[1]
    else:
        return None
    if value.isdigit() and int(value) > _MAX[letter]:
        return None
    sub = ""
    if j < len(toks) and toks[j].kind == "word" and toks[j].low in _SUBLETTERS and value.isdigit():
        sub, j = toks[j].low, j + 1
    return f"{letter.upper()}{value}{sub}", j


def tnm_stage(toks: list[Tok], i: int) -> tuple[str, int] | None:
    """A TNM stage from i, and the index after it. A T category only counts with the N category
    after it ("T two a N one"), for "T two" alone is the second thoracic vertebra; an M category
    may follow. A prefix said as a letter ("p T three", "y p T two") is joined to it."""
    prefix = ""
    j = i
    if toks[i].kind == "word" and toks[i].low in _PREFIXES and i + 1 < len(toks) and toks[i + 1].low == "t":
        prefix, j = toks[i].low, i + 1
    elif (
        toks[i].low == "y" and i + 2 < len(toks) and toks[i + 1].low in ("p", "c") and toks[i + 2].low == "t"
    ):
        prefix, j = "y" + toks[i + 1].low, i + 2
    t = _category(toks, j, "t")
    if t is None:
        return None
    n = _category(toks, t[1], "n")
    if n is None:
        return None
    parts, j = [prefix + t[0], n[0]], n[1]
    m = _category(toks, j, "m")
    if m is not None:
        parts.append(m[0])
        j = m[1]
    return " ".join(parts), j
