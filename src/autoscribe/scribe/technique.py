"""The technique sentence of a draft: true to how the study was done, as far as its description says.

A template's technique is written for its usual study; the study description can say otherwise
(no contrast, one view, one side), and a template without a technique of its own (the generic one)
gets a sentence made from the description, or stays a placeholder the radiologist must fill.
What the description does not say is not claimed: an ultrasound's "color Doppler" stays only when
the description or the dictation shows Doppler was used.
"""

from __future__ import annotations

import re

from autoscribe.scribe.sides import description_sides, without_sides
from autoscribe.scribe.templates import MODALITY_WORDS, detect_modality
from autoscribe.scribe.wordlists import data_rows

# How descriptions write "with and without": "W WO", "W/WO", "W+WO", "W & W/O", "WITH & WITHOUT".
_WITH_AND_WITHOUT = re.compile(
    r"\b(?:with|w/?)\s*(?:and|&|\+|/)?\s*(?:without|w/o|wo)\b|\b(?:without|w/o|wo)\s*(?:and|&|\+)\s*(?:with|w)\b|"
    r"\bwwo\b",
    re.I,
)
# A description may end in "W" or "WO" alone ("CT ABD/PELVIS WO"), or say "W/O IV": contrast is
# what it means. Oral contrast only is no intravenous contrast.
_WITHOUT_CONTRAST = re.compile(
    r"\b(?:without|w/o|wo)\s+(?:iv\b|intravenous\b|contrast\b)|\bnon-?contrast|\bunenhanced\b|"
    r"\b(?:w/o|wo|without)\s*$|\boral contrast only\b|\bno iv\b",
    re.I,
)
_WITH_CONTRAST = re.compile(
    r"\b(?:with|w/?)\s*(?:iv\s+|intravenous\s+)?(?:contrast|con)\b|\b(?:with|w/?)\s+iv\b|\bcontrast-enhanced\b|"
    r"\b(?:w/?|with)\s*$",
    re.I,
)
_STONE_STUDY = re.compile(r"\b(?:stone protocol|renal stones?|kidney stones?|urolithiasis)\b", re.I)
_UROGRAM = re.compile(r"\b(?:urogram|urography)\b", re.I)
_TECHNIQUE_CONTRAST = re.compile(r"\b(?:with|without)( intravenous)? contrast\b")
_ANGIOGRAPHY = re.compile(r"\b(?:cta|mra|angio|angiogra\w*)\b", re.I)
# A CT angiogram is a contrast study; an MR angiogram may be time-of-flight, without any.
_CONTRAST_ANGIOGRAPHY = re.compile(r"\b(?:cta|ct angio|ct angiogra\w*)\b", re.I)
# How a description counts views ("XR HAND 3V", "2 VIEWS", "SINGLE VIEW"), and says a frontal view
# alone: a portable radiograph, "CHEST AP", "AP ONLY".
_VIEW_COUNT = re.compile(r"\b(\d+|one|two|three|four|five|six|single)\s*(?:v\b|views?\b)", re.I)
_COUNT_WORDS = {"1": "one", "single": "one", "2": "two", "3": "three", "4": "four", "5": "five", "6": "six"}
_FRONTAL_ONLY = re.compile(
    r"\bportable\b|\b(?:ap|pa)\s+only\b|\b(?:ap|pa)\s*$|\b(?:ap|pa)\s+(?:supine|upright|erect)\b", re.I
)
_LATERAL = re.compile(r"\b(?:lateral|lat)\b", re.I)
_TWO_VIEWS = re.compile(r"^Frontal and lateral radiographs\b")
_TOMOSYNTHESIS_CLAIMED = re.compile(r",?\s+(?:with|and)\s+digital breast tomosynthesis\b", re.I)
_TOMOSYNTHESIS_SAID = re.compile(r"\b(?:tomo\w*|3d|dbt)\b", re.I)
_OBTAINED = re.compile(
    r"\b(?:were obtained|was performed|were acquired)(?=(\s+(?:with|including|in|using)\b|\.))"
)
_BILATERAL = re.compile(r"\bbilateral\b", re.I)


def contrast_of(procedure: str) -> str | None:
    """How a study description says contrast was given: "before and after", "with", "without", or
    None when it does not say (a CT angiogram is a contrast study)."""
    if _WITH_AND_WITHOUT.search(procedure):
        return "before and after"
    if _WITHOUT_CONTRAST.search(procedure):
        return "without"
    if _WITH_CONTRAST.search(procedure) or _CONTRAST_ANGIOGRAPHY.search(procedure):
        return "with"
    if _STONE_STUDY.search(procedure) and not _UROGRAM.search(procedure):
        return "without"  # a stone study is done without contrast unless its description says
    return None


_ENHANCEMENT_CLAIMED = re.compile(r"\benhanc\w*", re.I)


def claims_contrast_not_given(normal: str, procedure: str) -> bool:
    """Whether a template's normal sentence speaks of contrast enhancement in a study the
    description says was done without contrast ("The kidneys enhance symmetrically.")."""
    return contrast_of(procedure) == "without" and bool(_ENHANCEMENT_CLAIMED.search(normal))


def view_counts(procedure: str) -> set[str]:
    """The view counts a description names, as words: "XR FOOT 1V" → {"one"}."""
    return {_COUNT_WORDS.get(m.lower(), m.lower()) for m in _VIEW_COUNT.findall(procedure)}


def technique_for_study(default: str, procedure: str) -> str:
    """The template's technique sentence as the study's description says it was done: its contrast
    (a CT abdomen "WITHOUT CONTRAST" must not read "obtained with intravenous contrast"; an
    angiogram is a contrast study), one view for a portable or one-view radiograph, and
    tomosynthesis only where the description names it."""
    counts = view_counts(procedure)
    frontal_only = not counts and _FRONTAL_ONLY.search(procedure) and not _LATERAL.search(procedure)
    if counts == {"one"} or frontal_only:
        default = _TWO_VIEWS.sub("A single frontal radiograph", default)
    elif len(counts) == 1 and counts != {"two"}:
        default = _TWO_VIEWS.sub(f"{counts.pop().capitalize()} radiographs", default)  # "XR CHEST 4V"
    if not _TOMOSYNTHESIS_SAID.search(procedure):
        default = _TOMOSYNTHESIS_CLAIMED.sub("", default)  # a 2D mammogram is no tomosynthesis
    default = _protocol_as_asked(default, procedure)
    wanted = contrast_of(procedure)
    if wanted is None:
        return default
    if not _TECHNIQUE_CONTRAST.search(default):
        # A technique that does not say ("Axial CT images of the chest were obtained with
        # multiplanar reformations.") says what the description does.
        return _OBTAINED.sub(
            lambda m: f"{m.group()} {wanted} intravenous contrast{',' if m.group(1) != '.' else ''}",
            default,
            count=1,
        )
    return _TECHNIQUE_CONTRAST.sub(lambda m: f"{wanted}{m.group(1) or ''} contrast", default, count=1)


# A protocol a template's technique names, and the words of a description that ask for it.
_PROTOCOL_CLAIMED = re.compile(r"\s+according to the (?P<name>[a-z ]+?) protocol\b")
_PROTOCOL_ASKED = {
    "pulmonary embolism": re.compile(r"\b(?:pe|pulmonary embol\w*|pulmonary angio\w*)\b", re.I),
    "aortic": re.compile(r"\b(?:aort\w*|dissection)\b", re.I),
}


def _protocol_as_asked(default: str, procedure: str) -> str:
    """ "... according to the pulmonary embolism protocol" only for a study whose description asks
    for it: a "CTA CHEST" may have been done for anything."""
    match = _PROTOCOL_CLAIMED.search(default)
    if match is None:
        return default
    asked = _PROTOCOL_ASKED.get(match.group("name"))
    return (
        default
        if asked is None or asked.search(procedure)
        else default[: match.start()] + default[match.end() :]
    )


def technique_for_side(default: str, side: str) -> str:
    """A template's technique for a study of one side: "Bilateral craniocaudal ... views" of a left
    mammogram are left craniocaudal views (the capital kept where the word starts a sentence)."""
    return _BILATERAL.sub(lambda m: side.capitalize() if m.group()[0].isupper() else side, default)


# ---- a technique from the study description -----------------------------------------------------

# Words of a description that say how, not what: the modality (data/procedure_words.txt), contrast,
# counts, the exam itself.
_NOT_THE_REGION = re.compile(
    rf"(?<![a-z0-9])(?:{'|'.join(re.escape(w) for w in MODALITY_WORDS)})(?![a-z0-9])|"
    r"\b(?:mrv|angiogra\w*|w/o|w/|wo|w|wwo|with|"
    r"without|contrast|con|iv|intravenous|non-?contrast|unenhanced|enhanced|exam|"
    r"examination|study|protocol|complete|limited|ltd|routine|min|minimum|only|"
    r"\d+\s*v(?:iews?)?|one|two|three|four|five|single|of|the)\b",
    re.I,
)
# data/body_regions.tsv: a description's words for a region → (the report's name, both sides').
_BODY_REGIONS = {words: (one, both) for words, one, both in data_rows("body_regions.tsv", 3)}
_LONGEST_REGION = max(len(words.split()) for words in _BODY_REGIONS)
_SPINE_LETTER = re.compile(r"\b([ctl])\s+spine\b", re.I)


def _regions(procedure: str) -> list[tuple[str, str]]:
    """The body regions a study description names, each as (one side, both sides): "CT ABD/PELVIS W
    CONTRAST" → abdomen, pelvis. Empty when any word of it is no region (nor a word of how the
    study was done): "XR BONE AGE" names a procedure, not a region."""
    text = _SPINE_LETTER.sub(lambda m: f"{m.group(1)}-spine", procedure.lower())
    text = re.sub(r"[/,&+]|\band\b", " | ", _NOT_THE_REGION.sub(" ", without_sides(text)))
    regions: list[tuple[str, str]] = []
    for run in text.split("|"):
        words = re.findall(r"[a-z][a-z-]*", run)
        while words:
            for size in range(min(_LONGEST_REGION, len(words)), 0, -1):
                region = _BODY_REGIONS.get(" ".join(words[:size]))
                if region is not None:
                    break
            else:
                return []
            if region not in regions:
                regions.append(region)
            words = words[size:]
    return regions


def _listed(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def technique_from_description(procedure: str, modality: str = "") -> str | None:
    """A technique sentence made from the study description alone, for a template without one of
    its own ("US THYROID" → "Ultrasound images of the thyroid were obtained."); None when the
    description does not name both a modality and a body part (the placeholder stays)."""
    regions = _regions(procedure)
    family = detect_modality(procedure, modality)
    sides = description_sides(procedure)
    counts = view_counts(procedure)
    if not regions or not family or len(sides) > 1 or len(counts) > 1 or re.search(r"\d\s*-\s*\d", procedure):
        return None  # "XR HAND 2V RT AND WRIST 3V LT", "2-3 VIEWS": the radiologist says which
    side = sides.pop() if sides else ""
    if side == "bilateral":
        both = _listed([both for _, both in regions])
        what = f"both {both}" if any(one != both for one, both in regions) else f"the {both}"
    else:
        what = "the " + (f"{side} " if side else "") + _listed([one for one, _ in regions])
    contrast = contrast_of(procedure)
    given = f" {contrast} intravenous contrast" if contrast else ""
    if family == "XR":
        if not counts:
            return f"Radiographs of {what}."
        count = counts.pop()
        return f"A single view of {what}." if count == "one" else f"{count.capitalize()} views of {what}."
    if family in ("CT", "MR"):
        if _ANGIOGRAPHY.search(procedure):
            return f"{family} angiography of {what} was performed{given}."
        return f"{family} images of {what} were obtained{given}."
    if family == "US":
        doppler = " and Doppler" if re.search(r"\b(?:doppler|duplex)\b", procedure, re.I) else ""
        return f"Grayscale{doppler} ultrasound images of {what} were obtained."
    if family == "MG":
        return f"Mammographic images of {what} were obtained."
    return None


# ---- Doppler as used -----------------------------------------------------------------------------

_COLOR_DOPPLER = re.compile(r"\s+and\s+color\s+Doppler\b", re.I)
# What shows Doppler was used: named, or what only Doppler measures.
_DOPPLER_SAID = re.compile(
    r"\b(?:doppler|duplex|color flow|flow|vascularity|hypervascular|avascular|waveforms?|resistive|"
    r"spectral|hepatopetal|hepatofugal|patent|patency|velocit\w+|transplant)\b",
    re.I,
)


def doppler_as_used(technique: str, procedure: str, dictated: str) -> str:
    """A template technique that says "grayscale and color Doppler" says only "grayscale" when
    neither the study description nor the dictation shows Doppler was used: a report must not
    claim an examination that was not done."""
    if not _COLOR_DOPPLER.search(technique) or _DOPPLER_SAID.search(f"{procedure} {dictated}"):
        return technique
    return _COLOR_DOPPLER.sub("", technique)
