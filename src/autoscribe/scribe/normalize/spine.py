"""Spine levels: "L four five" → L4-L5, "L5 S1" → L5-S1."""

from __future__ import annotations

from autoscribe.scribe.normalize.numbers import parse_number
from autoscribe.scribe.normalize.tokens import Tok

_SPINE_MAX = {"c": 7, "t": 12, "l": 5, "s": 5}


def _spine_digit(toks: list[Tok], i: int) -> tuple[int, int] | None:
    if i >= len(toks):
        return None
    tok = toks[i]
    if tok.kind == "num" and tok.text.isdigit():
        return int(tok.text), i + 1
    parsed = parse_number(toks, i)
    if parsed and "." not in parsed[0] and parsed[2] <= 2 and tok.kind == "word":
        return int(parsed[0]), parsed[1]
    return None


def spine_level(toks: list[Tok], i: int) -> tuple[str, int] | None:
    """ "L four five" → L4-L5, "L5 S1" → L5-S1, "C5-6" → C5-C6, "T twelve" → T12."""
    tok = toks[i]
    letter = tok.low
    if tok.text == "D" and _spine_context(toks, i):
        letter = "t"  # "D8": a dorsal level, written T8 (and how the model hears "T eight" at times)
    if tok.kind != "word" or letter not in _SPINE_MAX:
        return None
    # Letters as words only count as a spine level when written capital or followed by a number.
    at = i + 1
    if tok.text.isupper() and at + 1 < len(toks) and toks[at].text == "-" and toks[at + 1].kind == "num":
        at += 1  # "T-8": one level, as the model writes it now and then
    first = _spine_digit(toks, at)
    if first is None:
        return None
    n1, j = first
    if toks[at].kind == "num" and len(toks[at].text) == 2 and n1 > _SPINE_MAX[letter]:
        # "L45" / "C56": two adjacent levels written together.
        a, b = divmod(n1, 10)
        if 1 <= a <= _SPINE_MAX[letter] and b == a + 1:
            return f"{letter.upper()}{a}-{letter.upper()}{b}", j
        return None
    if not 1 <= n1 <= _SPINE_MAX[letter]:
        return None
    # "a t one" is not a spine level: a lowercase letter needs words around it that say so, or a
    # disc level's second vertebra ("c five six", "c two c three", "t twelve l one") or its "colon".
    needs_context = tok.text.islower() and toks[at].kind == "word"
    # "T1 T2 mismatch", "hyperintense on t one t two", "the ICA c six c seven segments": MR
    # sequences and vessel segments, never a disc level.
    if n1 in _NOT_A_LEVEL.get(letter, {}) and _NOT_A_LEVEL[letter][n1] & {
        t.low for t in toks[max(0, i - 4) : i + 8]
    }:
        return f"{letter.upper()}{n1}", j  # "t two flair" → T2 FLAIR, "ICA c six segment" → C6
    k = j
    # "c five to c six colon": one disc level; "from T12 to L1" a range, written as said.
    by_to = (
        k < len(toks) and toks[k].low == "to" and not {t.low for t in toks[max(0, i - 3) : i]} & _RANGE_WORDS
    )
    if k < len(toks) and (toks[k].text == "-" or toks[k].low == "dash" or by_to):
        k += 1
    # Second level: another letter ("L5 S1", "T12 L1") or just a number ("L4 5"). Said with "to",
    # only a disc level's two vertebrae: "from T12 to L3" is a range, written as said.
    if k < len(toks) and toks[k].kind == "word" and toks[k].low in _SPINE_MAX:
        second = _spine_digit(toks, k + 1)
        if (
            second is not None
            and 1 <= second[0] <= _SPINE_MAX[toks[k].low]
            and (not (by_to or needs_context) or _adjacent(letter, n1, toks[k].low, second[0]))
        ):
            return f"{letter.upper()}{n1}-{toks[k].low.upper()}{second[0]}", second[1]
    if not by_to:  # "L4 5", "L4-5"; not "L4 to 5"
        second = _spine_digit(toks, k)
        if second is not None and second[0] == n1 + 1 and second[0] <= _SPINE_MAX[letter]:
            return f"{letter.upper()}{n1}-{letter.upper()}{second[0]}", second[1]
    said_as_heading = j < len(toks) and toks[j].low == "colon"
    if needs_context and not said_as_heading and not _spine_context(toks, i):
        return None
    return f"{letter.upper()}{n1}", j


_REGION_ORDER = "ctls"
# Words around "T1"/"T2" that make them MR sequences, and around "C1"-"C7" an internal carotid
# artery's segments.
_MR_SEQUENCE_WORDS = frozenset((
    "weighted", "weighting", "hyperintense", "hypointense", "isointense", "hyperintensity",
    "hypointensity", "flair", "stir", "mismatch", "sequence", "sequences", "shine-through", "bright", "dark",
))  # fmt: skip
_VESSEL_SEGMENT_WORDS = frozenset(("ica", "carotid", "segment", "segments", "siphon"))
_NOT_A_LEVEL: dict[str, dict[int, frozenset[str]]] = {
    "t": {1: _MR_SEQUENCE_WORDS, 2: _MR_SEQUENCE_WORDS},
    "c": {n: _VESSEL_SEGMENT_WORDS for n in range(1, 8)},
}
_RANGE_WORDS = frozenset(("from", "between", "extending", "spanning"))


def _adjacent(letter: str, number: int, next_letter: str, next_number: int) -> bool:
    """Two vertebrae of one disc level: "c five to c six", "t twelve to l one"."""
    if letter == next_letter:
        return next_number == number + 1
    return (
        _REGION_ORDER.index(next_letter) == _REGION_ORDER.index(letter) + 1
        and number == _SPINE_MAX[letter]
        and next_number == 1
    )


def ends_with_spine_level(toks: list[Tok]) -> bool:
    """Whether the tokens end with a spine level ("L four five", "L4-5"): a "colon" after it writes
    the level as a heading of its own ("L4-L5: mild disc bulge"), never the organ."""
    for start in range(max(0, len(toks) - 6), len(toks)):
        level = spine_level(toks, start)
        if level is not None and level[1] == len(toks):
            return True
    return False


_SPINE_BEFORE = frozenset(
    {
        "at",
        "level",
        "levels",
        "from",
        "and",
        "through",
        "vertebral",
        "vertebra",
        "disc",
        "fracture",
        "fractures",
        # "anterolisthesis of l four on l five", "the lamina of c six", "corner of c two"
        "of",
        "on",
        "above",
        "below",
        "anterolisthesis",
        "retrolisthesis",
        "spondylolisthesis",
        "listhesis",
        "lamina",
        "pedicle",
        "pars",
    }
)
# "t ten vertebral body", "the s one nerve root": what a level is said before.
_SPINE_AFTER = frozenset(
    {
        "vertebral",
        "vertebra",
        "body",
        "nerve",
        "root",
        "roots",
        "level",
        "disc",
        "pedicle",
        "endplate",
        "superior",
        "inferior",
        "spinous",
        "transverse",
        "facet",
        "compression",
        "fracture",
        "through",
    }
)


def _spine_context(toks: list[Tok], i: int) -> bool:
    """Words around a lower-case letter and number that make it a spine level ("fracture of t
    seven", "the s one nerve root"); "a t one weighted image" stays."""
    before = {t.low for t in toks[max(0, i - 4) : i]}
    after = {t.low for t in toks[i + 2 : i + 5]}
    return bool(before & _SPINE_BEFORE or after & _SPINE_AFTER)
