"""Sides of the body: the words a report writes for them, and how study descriptions abbreviate them."""

from __future__ import annotations

import re

# The sides a report names; a correction may swap one for another ("left scratch that right").
SIDES = frozenset(("right", "left", "bilateral"))

# How a study description writes a side: "XR KNEE 3V LT", "US RENAL BILAT", "MAMMO BOTH".
_DESCRIPTION_SIDE = re.compile(r"\b(right|left|rt|lt|bilateral|bilat|both)\b", re.I)
_ABBREVIATED = {"rt": "right", "lt": "left", "bilat": "bilateral", "both": "bilateral"}

# A region with both sides in every image: "XR PELVIS AND LEFT HIP" shows both hips. ("head"
# is not one: a humeral or femoral head has a side.)
_BOTH_SIDED_REGION = re.compile(
    r"\b(?:pelvis|pelvic|chest(?! wall)|thorax|abdomen|abdominal|brain|spine)\b", re.I
)


def description_sides(procedure: str) -> set[str]:
    """The sides a study description names, as a report writes them: "XR HAND RT" → {"right"}."""
    return {_ABBREVIATED.get(m.lower(), m.lower()) for m in _DESCRIPTION_SIDE.findall(procedure)}


def without_sides(procedure: str) -> str:
    """The description with its side words blanked out ("XR KNEE LT" → "XR KNEE  ")."""
    return _DESCRIPTION_SIDE.sub(" ", procedure)


def study_side(procedure: str) -> str | None:
    """ "right" or "left" when the study description names that side only, and no region that
    holds both sides, else None."""
    if _BOTH_SIDED_REGION.search(procedure):
        return None
    sides = description_sides(procedure)
    return sides.pop() if sides in ({"right"}, {"left"}) else None
