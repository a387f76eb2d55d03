"""Pre-sign checks: the speech-recognition and consistency errors a radiologist should see before signing.

Each check returns `CheckResult(code, severity, message, where, sentence_id)`. Severity "error"
means the report is incomplete (an empty required section, an unfilled placeholder); "warning"
is something probably wrong that the radiologist confirms or fixes; the report service decides
what blocks signing.

Codes: laterality_mismatch, laterality_inconsistent, sex_mismatch, negation_conflict,
empty_section, unfilled_placeholder, impression_omission, unit_missing, unit_implausible,
critical_finding, unknown_macro, comparison_missing.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, replace

from autoscribe.scribe.findings import (
    Analysis,
    Mention,
    analyze,
    communication_recorded,
    concepts_match,
    contradicts_anywhere,
    denial_contradicted,
    said_new,
)
from autoscribe.scribe.lexicon import regions_for_study
from autoscribe.scribe.sides import study_side
from autoscribe.scribe.types import (
    COMPARISON,
    FINDINGS,
    IMPRESSION,
    PLACEHOLDER,
    CheckResult,
    Draft,
    StudyContext,
)
from autoscribe.scribe.wordlists import data_rows, data_sections

CHECK_CODES = (
    "laterality_mismatch",
    "laterality_inconsistent",
    "sex_mismatch",
    "negation_conflict",
    "empty_section",
    "unfilled_placeholder",
    "impression_omission",
    "unit_missing",
    "unit_implausible",
    "critical_finding",
    "unknown_macro",
    "comparison_missing",
)


def _words_regex(words: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(r"\b(" + "|".join(re.escape(w) for w in words) + r")\b", re.I)


# Anatomy of one sex only, and the largest plausible size of a finding: data a radiologist reviews.
_SEX_SPECIFIC = data_sections("sex_specific_anatomy.txt")
_FEMALE_ONLY = _words_regex(_SEX_SPECIFIC["female"])
_MALE_ONLY = _words_regex(_SEX_SPECIFIC["male"])
_SIDE_WORD = re.compile(r"\b(right|left)\b", re.I)
_UNIT = (
    r"(?:g/cm²|g/cm2|cm/sec|m/sec|cm/s|m/s|cm|mm|mL|m|HU|%|mg|degrees|cc|ml|centimeters?|millimeters?|"
    # Durations (an age, a bone age), catheter and needle sizes, doses, pressures, rates.
    r"seconds?|minutes?|hours?|days?|weeks?|months?|years?|ms|french|fr|gauge|mmHg|bpm|kg|g|mCi|MBq|mSv|"
    r"mGy|ng/mL|Hz|liters?|litres?|L)"
)
_DIMENSIONS = re.compile(r"\b\d+(?:\.\d+)?(?:\s*x\s*\d+(?:\.\d+)?)+(?!\s*x)(?P<after>\s*\S*)", re.I)
_MEASURED = re.compile(
    r"\b(?:measuring|measures|measured|measure|diameter of|size of|up to|thickness of|caliber of)\s+"
    # Not the first number of "3.2 x 2.8 cm": _DIMENSIONS reads those.
    # A range ("2-3 cm") is one measurement; a sentence's full stop is no decimal point.
    r"(?:approximately\s+|about\s+|up to\s+)?(?P<num>\d+(?:\.\d+)?(?:\s*-\s*\d+(?:\.\d+)?)?)"
    r"(?!\d|\.\d|\s*(?:x|by)\s*\d)"
    r"(?P<after>\s*\S*)",
    re.I,
)
_NUMBER_WORD = (
    r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|"
    r"fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty)"
)
_NUMBER = rf"(?:\d+(?:\.\d+)?|{_NUMBER_WORD})"
# "a 6 solid nodule", "a six nodule": an article before a bare number means a size lost its unit.
_ARTICLE_NUMBER = re.compile(
    rf"\b(?:a|an)\s+{_NUMBER}\s+(?!{_UNIT}(?![A-Za-z])|x\b|times\b|-|of\b|or\b|to\b|and\b)", re.I
)
# "the tube tip is 5 above the carina": a distance without a unit.
_DISTANCE = re.compile(rf"\b{_NUMBER}\s+(?:above|below|proximal to|distal to|deep to|from the)\b", re.I)
# A decimal is a measurement unless it is a ratio, score or index. A PSA density (ng/mL per cc) is
# written without its unit; a bone's density is not.
_DECIMAL = re.compile(r"(?<![\w.])(?P<num>\d+\.\d+)(?P<after>\s*\S*)")
_UNITLESS = (
    r"(?:ratios?|index|indices|score|grade|version|z-score|t-score|suv|suvmax|suv\s*max|suvpeak|"
    r"psa density|psad|ri|pi(?!-rads)|rar|s/d|e/a)"
)
_DECIMAL_OK_BEFORE = re.compile(
    rf"(?:{_UNITLESS}"
    r"(?:\s+(?:is|was|are|were|of|measures|measured|measuring|range|ranges|ranged|ranging|from|"
    r"approximately|about))*|of|is less than|greater than|\d\s*(?:,|and|or|to))\W*$",
    re.I,
)
# ... or one of a list the ratio or index heads: "Resistive indices are 0.65 on the right and 0.7 on
# the left." A size named after the index is a size again ("RI 0.7 and the kidney measures 10.5").
_SIZE_WORD = (
    r"\b(?:measur\w*|size|diameter|length|width|thickness|volume|velocit\w*|psv|edv|distance|depth)\b"
)
# Only a ratio's or an index's list, and only values joined by commas, "and", or a side: "Grade 2
# splenic laceration extending 2.5 into the parenchyma" still wants its unit.
_UNITLESS_LIST = re.compile(
    r"\b(?:ratios?|index|indices|ri|pi(?!-rads)|rar)\b"
    r"(?:\s+(?:is|are|was|were|measure[sd]?|of))*\s*\d+(?:\.\d+)?"
    r"(?:\s*(?:,|and|or|on the (?:right|left)|in the (?:right|left)(?: \w+)?|right|left)\s*"
    r"(?:and\s+)?(?:\d+(?:\.\d+)?)?)*\s*$",
    re.I,
)
# A velocity is in cm/s or m/s: "Left ICA PSV 80, EDV 20." lost both units. Not a velocity ratio.
_VELOCITY = re.compile(
    r"\b(?:psv|edv|(?:peak|end)[\s-]+(?:systolic|diastolic)[\s-]+velocit(?:y|ies)|"
    r"(?:peak\s+)?velocit(?:y|ies))\b"
    r"(?:\s+(?!(?:ratios?|index|indices)\b)[A-Za-z/]+){0,5}?\s*[:=]?\s*"
    r"(?P<num>\d+(?:\.\d+)?(?:\s*/\s*\d+(?:\.\d+)?)*)(?!\d|\.\d|\s*(?:x|by)\s*\d)(?P<after>\s*\S*)",
    re.I,
)
# The second number of a range or a change, with the unit both share.
_RANGE_WITH_UNIT = re.compile(rf"\s*(?:to|-|and)\s*\d+(?:\.\d+)?\s*{_UNIT}(?![A-Za-z])", re.I)
_WITH_UNIT = re.compile(
    # Not an isotope's number: "Tc-99m" is no 99 metres.
    r"(?<![A-Za-z]-)\b(?P<num>\d+(?:\.\d+)?)(?:\s*x\s*\d+(?:\.\d+)?)*\s*(?P<unit>cm|mm|m|HU|%|mL)(?![A-Za-z/])"
)
# A sentence that names the diagnosis the findings before it add up to.
_DIAGNOSIS = re.compile(
    r"\b(consistent with|compatible with|suggestive of|diagnostic of|in keeping with|"
    r"likely representing|representing|concerning for|suspicious for)\b",
    re.I,
)
_LESION_MAX_CM = {concept: float(cm) for concept, cm in data_rows("lesion_max_size.tsv", 2)}
# Abbreviations and their words (data/abbreviations.tsv): "MCA" is the middle cerebral artery.
_SPELLED_OUT = {short.lower(): words for short, words in data_rows("abbreviations.tsv", 2)}
_ABBREVIATION = re.compile(r"\b(?:" + "|".join(re.escape(a) for a in _SPELLED_OUT) + r")\b", re.I)


@dataclass(frozen=True)
class _Plausible:
    """An organ's plausible size in one dimension (data/organ_sizes.tsv), in centimetres."""

    dimension: str
    smallest: float
    largest: float


def _organ_sizes() -> dict[str, tuple[_Plausible, ...]]:
    rows: dict[str, list[_Plausible]] = {}
    for words, dimension, smallest, largest in data_rows("organ_sizes.tsv", 4):
        for word in words.split(","):
            rows.setdefault(word.strip().lower(), []).append(
                _Plausible(dimension, float(smallest), float(largest))
            )
    return {word: tuple(sizes) for word, sizes in rows.items()}


_ORGAN_SIZES = _organ_sizes()
# "The spleen measures 11 cm", "The appendix is dilated to 12 mm", "The right kidney is 10.5 cm",
# "Spleen: 11 cm": the organ is what is measured, with only words about its size in between.
_ORGAN_MEASURED = re.compile(
    r"\b(?P<organ>" + "|".join(re.escape(w) for w in sorted(_ORGAN_SIZES, key=len, reverse=True)) + r")\b"
    r"(?P<gap>(?:[\s,]+(?:is|are|was|were|appears?|remains?|again|now|also|which|it|normal|in|size|and|has|a|an|"
    r"diameter|length|caliber|calibre|thickness|width|span|enlarged|dilated|distended|thickened|prominent|"
    r"aneurysmal|ectatic|[a-z]+ly))*?)"
    r"[\s,]*(?:\b(?:measures|measuring|measured|measure|spans|spanning|is|are|at|of|to)\b|:)\s*"
    r"(?:approximately\s+|about\s+|up to\s+|roughly\s+)?"
    r"(?P<size>\d+(?:\.\d+)?(?:\s*(?:x|by)\s*\d+(?:\.\d+)?)*)\s*(?P<unit>cm|mm)(?![A-Za-z])"
    # Not a distance: "the appendix is 6 cm from the ileocecal valve".
    r"(?!\s+(?:from|away|above|below|beyond|proximal|distal|deep|superior|inferior|lateral|medial)\b)",
    re.I,
)
# Words before an organ that still leave it the thing measured ("the right kidney", "the ascending
# aorta"), and words that make it the place of something else ("a cyst in the spleen measures").
_BEFORE_ORGAN = re.compile(
    r"(?:\b(?:the|a|an|right|left|both|bilateral|native|transplant(?:ed)?|ascending|descending|abdominal|"
    r"thoracic|infrarenal|suprarenal|proximal|mid|distal)\s+)*$",
    re.I,
)
_PLACE_OF = re.compile(
    r"\b(?:in|of|within|at|from|near|along|on|to|into|adjacent|beside|around|behind|above|below|by|"
    r"involving|abutting|between|through|under|over|across|than)\s+$",
    re.I,
)
_DIMENSION_SAID = {
    "length": re.compile(
        r"\b(?:length|long|longitudinal(?:ly)?|craniocaudal(?:ly)?|span|pole to pole)\b", re.I
    ),
    "diameter": re.compile(r"\b(?:diameter|caliber|calibre|wide|width|across)\b", re.I),
    "thickness": re.compile(r"\b(?:thick|thickness|thickened)\b", re.I),
}
# A dimension no row gives ("5 cm in transverse") is not checked.
_OTHER_DIMENSION = re.compile(r"\b(?:transverse|anteroposterior|AP|depth|height|volume)\b", re.I)
_FETAL = re.compile(r"\b(?:fetal|foetal|fetus|fetuses|foetus)\b", re.I)
# A word after the size that is neither about the organ's size nor the end of what is said of it:
# the size of something in it, or a difference.
_SOMETHING_ELSE_MEASURED = re.compile(
    r"\s+(?!(?:in|long|thick|wide|across|and|with|without|which|on|at|craniocaudal|craniocaudally|"
    r"transverse|anteroposterior|length|diameter|x|by|span|pole|longitudinal|longitudinally|"
    r"maximal|maximum|mid|previously|today|now|unchanged|stable)\b)[a-z]",
    re.I,
)


def _organ_size_implausible(text: str) -> str | None:
    """An organ's own measurement outside its plausible range (data/organ_sizes.tsv)."""
    if _FETAL.search(text):
        return None
    for match in _ORGAN_MEASURED.finditer(text):
        if _PLACE_OF.search(_BEFORE_ORGAN.sub("", text[: match.start()], count=1)):
            continue  # "a lesion in the spleen measures 3 cm": the lesion's size
        if _SOMETHING_ELSE_MEASURED.match(text, match.end()):
            continue  # "Left kidney: 2 cm cyst.", "2 cm smaller than the left": not the organ's size
        organ = match.group("organ").lower()
        # What the sentence says is measured: in the organ's words, before the number or just after it.
        after = re.match(r"[^\d;.]*", text[match.end() :])
        said = match.group() + (after.group() if after else "")
        named = [d for d, words_of in _DIMENSION_SAID.items() if words_of.search(said)]
        rows = _ORGAN_SIZES[organ]
        if named:
            rows = tuple(r for r in rows if r.dimension in named)
        elif _OTHER_DIMENSION.search(said):
            rows = ()
        else:
            rows = rows[:1]
        values = [float(x) for x in re.findall(r"\d+(?:\.\d+)?", match.group("size"))]
        cm = max(values) / (10 if match.group("unit").lower() == "mm" else 1)
        size = f"{match.group('size')} {match.group('unit')}"
        for row in rows:
            if cm > row.largest:
                return f'"{size}" is implausibly large for the {organ}; check the number and the unit.'
            if cm < row.smallest:
                return f'"{size}" is implausibly small for the {organ}; check the number and the unit.'
    return None


@dataclass(frozen=True)
class _Item:
    path: str
    sentence_id: str
    text: str
    source: str
    analysis: Analysis
    # The rest of the denied list in the sentence before, cut off by a misheard full stop.
    continues_denial: bool = False


def _organ(path: str) -> str:
    """The organ a sentence is filed under, as words: "findings.kidneys" -> "kidneys"."""
    return path.partition(".")[2].replace("_", " ")


def _items(draft: Draft, regions: frozenset[str] = frozenset()) -> list[_Item]:
    items = [
        _Item(path, s.id, s.text, s.source, analyze(s.text, where=_organ(path), regions=regions))
        for path, s in draft.iter_sentences()
        if s.text.strip()
    ]
    cut = _cut_negated_lists(items)
    return [
        replace(i, analysis=_negate_all(i.analysis), continues_denial=True) if i.sentence_id in cut else i
        for i in items
    ]


# A speech model sometimes hears the pause at a comma as the end of a sentence: "No focal
# consolidation, effusion or pneumothorax." comes out as "No focal consolidation. Effusion or
# pneumothorax." The second piece is the rest of a denied list, not a finding.
_VERB = re.compile(
    r"\b(is|are|was|were|has|have|had|there|seen|noted|present|identified|demonstrated|shows?|"
    r"measures?|measuring|extends?|involves?|causes?|suggests?|represents?|remains?)\b",
    re.I,
)
# A finding with a place ("... at the left apex") is a finding of its own, however it is worded.
_PLACE = re.compile(r"\b(at|in|of|on|along|within|left|right|bilateral|both)\b", re.I)
_LIST_START = re.compile(r"^\s*(the|a|an|this|these|there|it)\b", re.I)


def _sentence_number(sentence_id: str) -> int | None:
    match = re.fullmatch(r"s(\d+)", sentence_id)
    return int(match.group(1)) if match else None


def _cut_negated_lists(items: list[_Item]) -> set[str]:
    """Dictated sentences that are the cut-off rest of the denied list just before them: verbless,
    placeless, "or" between findings, no negation of their own, right after a sentence that denies
    findings and affirms none (dictation order is the order of sentence ids)."""
    said = sorted(
        (n, i) for i in items if i.source == "dictated" and (n := _sentence_number(i.sentence_id)) is not None
    )
    out: set[str] = set()
    for (n_prev, prev), (n, item) in itertools.pairwise(said):
        mentions = item.analysis.mentions
        if (
            n == n_prev + 1
            and len(mentions) >= 1
            and not any(m.negated for m in mentions)
            and re.search(r"\bor\b", item.text, re.I)
            and not _VERB.search(item.text)
            and not _PLACE.search(item.text)
            and not _LIST_START.match(item.text)
            and any(m.negated for m in prev.analysis.mentions)
            and not prev.analysis.positive
        ):
            out.add(item.sentence_id)
    return out


def _negate_all(analysis: Analysis) -> Analysis:
    return replace(analysis, mentions=tuple(replace(m, negated=True) for m in analysis.mentions))


def _section_of(path: str) -> str:
    return path.split(".")[0]


def _reported(items: list[_Item]) -> list[_Item]:
    """Findings and impression: where words about the patient live."""
    return [i for i in items if _section_of(i.path) in (FINDINGS, IMPRESSION)]


# "<side> [three words] was not imaged / evaluated for comparison", "<side> knee for comparison".
_OTHER_SIDE_NOT_IMAGED = (
    r"(?:\s+[a-z]+){0,3}?\s+(?:(?:was|were|is|are)\s+(?:not\s+(?:imaged|included|evaluated|examined|assessed)"
    r"|(?:included|imaged|obtained|evaluated|assessed|examined)\s+for\s+comparison)|for\s+comparison)\b"
)
_COMPARED_WITH_OTHER_SIDE = r"\b(?:compared (?:with|to)|comparison (?:with|to)|relative to|than) the "
# A unilateral venous duplex examines the other side's common femoral (leg) or subclavian (arm)
# vein for symmetry of its waveform (ACR-AIUM-SPR-SRU practice parameter): part of the study.
_CONTRALATERAL_BY_PROTOCOL = r"(?:\s+[a-z]+){0,2}?\s+(?:common\s+femoral|subclavian)\s+veins?\b"


def _other_side_named_as_such(text: str, opposite: str) -> bool:
    """ "The left shoulder was not imaged.", "Right hip included for comparison.", "asymmetric
    compared with the left", "the contralateral left ...": the sentence names the other side as
    the other side."""
    return bool(
        re.search(rf"\b{opposite}\b{_OTHER_SIDE_NOT_IMAGED}", text, re.I)
        or re.search(rf"{_COMPARED_WITH_OTHER_SIDE}{opposite}\b", text, re.I)
        or re.search(
            rf"\bcontralateral\s+(?:\(\s*)?{opposite}\b|\b{opposite}\s+\(?contralateral\b", text, re.I
        )
    )


_DVT_SIGN = re.compile(
    r"\b(?:not (?:fully )?compressible|non-?compressible|incompressible|thromb\w*|clot|occlu\w*|"
    r"no flow|absent flow|expanded|distended)\b",
    re.I,
)


def _other_side_by_protocol(item: _Item, opposite: str, procedure: str) -> bool:
    """In a venous duplex, a normal statement about the other side's vein the protocol looks at
    ("Right common femoral vein waveform is phasic."). A thrombus there is still questioned: it
    may be the study's side said wrong."""
    return (
        not item.analysis.positive
        and not _DVT_SIGN.search(item.text)
        and re.search(r"\b(?:venous|veins?|dvt)\b", procedure, re.I) is not None
        and re.search(rf"\b{opposite}{_CONTRALATERAL_BY_PROTOCOL}", item.text, re.I) is not None
    )


def check_laterality(items: list[_Item], context: StudyContext) -> list[CheckResult]:
    side = study_side(context.procedure)
    if side is None:
        return []
    opposite = "left" if side == "right" else "right"
    out = []
    for item in _reported(items):
        if item.source == "default":
            continue
        words = {w.lower() for w in _SIDE_WORD.findall(item.text)}
        if (
            opposite in words
            and not _other_side_named_as_such(item.text, opposite)
            and not _other_side_by_protocol(item, opposite, context.procedure)
        ):
            out.append(
                CheckResult(
                    "laterality_mismatch",
                    "warning",
                    f'The study is of the {side} side but this sentence says "{opposite}".',
                    item.path,
                    item.sentence_id,
                )
            )
    return out


_BOTH_SIDES = re.compile(r"(?=.*\bright\b)(?=.*\bleft\b)", re.I | re.S)


def check_laterality_consistency(items: list[_Item]) -> list[CheckResult]:
    """A finding on one side in Findings and on the other side in the Impression."""
    findings = [(i, m) for i in items if _section_of(i.path) == FINDINGS for m in i.analysis.positive]
    out = []
    for item in items:
        if _section_of(item.path) != IMPRESSION:
            continue
        for mention in item.analysis.positive:
            # A midline shift has a direction, not a side.
            if mention.side not in ("right", "left", "bilateral") or mention.concept == "midline shift":
                continue
            same = [m for _, m in findings if concepts_match(m.concept, mention.concept)]
            sided = [m for m in same if m.side in ("right", "left", "bilateral")]
            if mention.side == "bilateral":
                # "Bilateral pulmonary emboli" over findings of the right side only. A findings
                # sentence naming both sides ("right lower lobe and left upper lobe") is both.
                sides = {
                    "bilateral" if _BOTH_SIDES.search(f.text) else m.side
                    for f, m in findings
                    if concepts_match(m.concept, mention.concept) and m.side in ("right", "left", "bilateral")
                }
                if len(sides) == 1 and sides != {"bilateral"}:
                    out.append(
                        CheckResult(
                            "laterality_inconsistent",
                            "warning",
                            f"The impression says bilateral {mention.term}, "
                            f"the findings the {sides.pop()} side only.",
                            item.path,
                            item.sentence_id,
                        )
                    )
                continue
            if sided and not any(m.side in (mention.side, "bilateral") for m in sided):
                out.append(
                    CheckResult(
                        "laterality_inconsistent",
                        "warning",
                        f"The impression puts the {mention.term} on the {mention.side}, "
                        f"the findings on the {sided[0].side}.",
                        item.path,
                        item.sentence_id,
                    )
                )
    return out


def check_sex(items: list[_Item], context: StudyContext) -> list[CheckResult]:
    if context.sex not in ("male", "female"):
        return []
    pattern = _FEMALE_ONLY if context.sex == "male" else _MALE_ONLY
    out = []
    for item in items:
        match = pattern.search(item.text)
        if match:
            out.append(
                CheckResult(
                    "sex_mismatch",
                    "warning",
                    f'"{match.group()}" is unexpected for a {context.sex} patient.',
                    item.path,
                    item.sentence_id,
                )
            )
    return out


def _may_conflict(a: _Item, b: _Item) -> bool:
    # Organs are separate places: "no focal lesion" in the liver says nothing about a renal lesion.
    if a.path == b.path:
        return True
    sections = {_section_of(a.path), _section_of(b.path)}
    return IMPRESSION in sections or a.path == FINDINGS or b.path == FINDINGS


# A spine level ("L4-L5", "C6", "T12-L1"): a finding at one level says nothing about another.
_SPINE_LEVEL = re.compile(r"\b[CTLS]\d{1,2}(?:-[CTLS]?\d{1,2})?\b")


def _other_levels(a: str, b: str) -> bool:
    """Both sentences name spine levels, and none in common ("no stenosis at L3-L4" and "stenosis
    at L4-L5")."""
    first, second = set(_SPINE_LEVEL.findall(a)), set(_SPINE_LEVEL.findall(b))
    return bool(first and second) and not first & second


# A finding only supposed, not denied: "dense tissue, which may obscure small masses", "to rule out
# a fracture" (data/negex_triggers.txt reads them as "not found"; against a finding reported
# elsewhere they are no contradiction).
_HYPOTHETICAL = re.compile(
    r"\b(?:may|can|could|might) obscure\b|\b(?:exclude|rule out)\b"
    r"|\b(?:evaluate|evaluation|assess) for\b",
    re.I,
)


def _supposed(text: str, mention: Mention) -> bool:
    """Whether a denied mention is only supposed: a hypothetical trigger comes before it."""
    return any(match.start() < mention.start for match in _HYPOTHETICAL.finditer(text))


def check_negation_conflicts(items: list[_Item]) -> list[CheckResult]:
    reported = _reported(items)
    out = []
    flagged: set[str] = set()
    pairs: set[tuple[str, str]] = set()  # one warning per pair of sentences
    negs: list[tuple[_Item, Mention]] = [
        (i, m) for i in reported for m in i.analysis.mentions if m.negated and not _supposed(i.text, m)
    ]
    poss: list[tuple[_Item, Mention]] = [(i, m) for i in reported for m in i.analysis.positive]
    for neg_item, neg in negs:
        for pos_item, pos in poss:
            if pos_item is neg_item:
                continue
            same_place = (
                denial_contradicted(neg, neg_item.text, pos, pos_item.text)
                and _may_conflict(neg_item, pos_item)
                and not _other_levels(neg_item.text, pos_item.text)
            )
            # "No intracranial hemorrhage" in one organ, a subdural hematoma in another.
            if not same_place and not contradicts_anywhere(neg, pos, pos_item.text):
                continue
            key = neg.concept if neg.concept == pos.concept else f"{neg.concept}|{pos.concept}"
            pair = (neg_item.sentence_id, pos_item.sentence_id)
            if key in flagged or pair in pairs:
                continue
            flagged.add(key)
            pairs.add(pair)
            # Point at the sentence the radiologist dictated, not the template default.
            target = pos_item if neg_item.source == "default" else neg_item
            out.append(
                CheckResult(
                    "negation_conflict",
                    "warning",
                    f'"{pos.term}" is both denied ("{neg_item.text}") and reported ("{pos_item.text}").',
                    target.path,
                    target.sentence_id,
                )
            )
    return out


def check_completeness(draft: Draft) -> list[CheckResult]:
    out = []
    for section in draft.sections:
        if section.required and not section.all_sentences():
            out.append(CheckResult("empty_section", "error", f"{section.title} is empty.", section.key, None))
    for path, sentence in draft.iter_sentences():
        if PLACEHOLDER in sentence.text or "[***" in sentence.text or "___" in sentence.text:
            where = draft.section(path)
            title = where.title if where is not None else path
            out.append(
                CheckResult(
                    "unfilled_placeholder",
                    "error",
                    f"A placeholder in {title} has not been filled in.",
                    path,
                    sentence.id,
                )
            )
    return out


# Words that only a comparison with an earlier study can say.
_COMPARED = re.compile(
    r"\b(?:unchanged|interval (?:change|increase|decrease|development|resolution|improvement|worsening|"
    r"growth|enlargement|progression|healing)|redemonstrat\w*|since (?:the )?(?:prior|previous|last)"
    r"|compared (?:to|with) (?:the )?(?:prior|previous)|(?:from|on|than) (?:the )?(?:prior|previous)"
    r"|again (?:seen|noted|demonstrated|identified)|previously (?:seen|noted|described|demonstrated)"
    r"|no longer (?:seen|visualized|identified|present)|(?:has|have) resolved)\b",
    re.I,
)
_NO_COMPARISON = re.compile(r"^\s*(?:none|no prior|not available|n/?a|no comparison)\b", re.I)


def check_comparison(draft: Draft) -> list[CheckResult]:
    """Findings that compare with a prior study ("unchanged from prior") under a Comparison that
    says there is none."""
    comparison = draft.section(COMPARISON)
    if comparison is None or not comparison.sentences or not _NO_COMPARISON.match(comparison.text()):
        return []
    for path, sentence in draft.iter_sentences():
        if path.split(".")[0] not in (FINDINGS, IMPRESSION) or sentence.source == "default":
            continue
        match = _COMPARED.search(sentence.text)
        if match:
            return [
                CheckResult(
                    "comparison_missing",
                    "warning",
                    f'The report compares with a prior study ("{match.group()}"), but Comparison says '
                    f'"{comparison.text().rstrip(".")}".',
                    COMPARISON,
                    comparison.sentences[0].id,
                )
            ]
    return []


# The findings that are signs of a diagnosis (data/diagnosis_signs.tsv): "Acute appendicitis."
# covers "The appendix is dilated."
_SIGNS_OF = {
    diagnosis: (
        None
        if anatomy.strip() == "*"
        else re.compile(r"\b(?:" + "|".join(re.escape(a.strip()) for a in anatomy.split(",")) + ")", re.I),
        frozenset(sign.strip() for sign in signs.split(",")),
    )
    for diagnosis, anatomy, signs in data_rows("diagnosis_signs.tsv", 3)
}


def _signs_of_the_impression(item: _Item, in_impression: list[Mention]) -> bool:
    """Whether every finding of a findings sentence is a sign of a diagnosis the impression gives,
    in that diagnosis's anatomy (data/diagnosis_signs.tsv)."""
    signs: set[str] = set()
    for mention in in_impression:
        anatomy, its_signs = _SIGNS_OF.get(mention.concept, (None, frozenset()))
        if its_signs and (anatomy is None or anatomy.search(item.text)):
            signs |= its_signs
    return bool(signs) and all(p.concept in signs for p in item.analysis.positive)


# A finding of long ago; a "stable" or "unchanged" one may still be the impression's.
_LONG_PAST = re.compile(r"\b(?:healed|old|remote|chronic|sequelae?)\b", re.I)


def _long_past(item: _Item) -> bool:
    """Every finding of the sentence said to be of long ago in the words just before it ("Healed
    right rib fractures."), none of them new ("Acute on chronic subdural hematoma", "a new mass
    beside chronic scarring")."""
    for mention in item.analysis.positive:
        before = " ".join(item.text[: mention.start].split()[-4:])
        if not _LONG_PAST.search(before) or said_new(before):  # data/findings_words.txt [new]
            return False
    return True


def _spelled_out(item: _Item, regions: frozenset[str]) -> _Item:
    """The sentence with its abbreviations in words ("Left femoral DVT." → "Left femoral deep vein
    thrombosis."), read again; the sentence itself when it has none."""
    text = _ABBREVIATION.sub(lambda m: _SPELLED_OUT[m.group().lower()], item.text)
    if text == item.text:
        return item
    analysis = analyze(text, where=_organ(item.path), regions=regions)
    return replace(item, text=text, analysis=_negate_all(analysis) if item.continues_denial else analysis)


def check_impression_omissions(
    items: list[_Item], regions: frozenset[str] = frozenset()
) -> list[CheckResult]:
    """A significant positive finding sentence none of whose findings the impression mentions.

    Sentence level on purpose: "dilated appendix ... consistent with appendicitis" is covered by an
    impression that says "appendicitis", and so is "The appendix is dilated." when one of the next two
    sentences about the same organ gives that diagnosis ("... stranding, consistent with
    appendicitis."). Minor findings (weight below 35, e.g. a small joint effusion) are routinely
    left out of impressions and are not flagged. Abbreviations are read in words on both sides: an
    impression's "SMA" is the findings' "superior mesenteric artery", its "PE" their "pulmonary
    embolism" (data/abbreviations.tsv).
    """
    items = [_spelled_out(i, regions) for i in items]
    impression = [i for i in items if _section_of(i.path) == IMPRESSION]
    if not impression:
        return []
    in_impression = [m for i in impression for m in i.analysis.positive]
    # A side said inside a finding's name ("Hyperdense left MCA") is laterality's business, not this
    # check's: the impression read without its sides names the findings too.
    in_impression += [
        m
        for i in impression
        if _SIDE_WORD.search(i.text)
        for m in analyze(_SIDE_WORD.sub(" ", i.text), where=_organ(i.path), regions=regions).positive
    ]
    impression_text = " ".join(i.text.lower() for i in impression)

    def covered(item: _Item) -> bool:
        return any(
            any(concepts_match(m.concept, p.concept) for m in in_impression) or p.term in impression_text
            for p in item.analysis.positive
        ) or _signs_of_the_impression(item, in_impression)

    findings = [i for i in items if _section_of(i.path) == FINDINGS and i.source != "default"]
    out = []
    for index, item in enumerate(findings):
        positive = item.analysis.positive
        if not positive or item.analysis.weight < 35 or _long_past(item):
            continue  # minor, or long past ("healed rib fractures"): routinely left out of an impression
        if covered(item) or _named_in_impression(item, positive, impression):
            continue
        diagnosed = any(
            later.path == item.path and _DIAGNOSIS.search(later.text) is not None and covered(later)
            for later in findings[index + 1 : index + 3]
        )
        if diagnosed:
            continue
        main = max(positive, key=lambda m: m.weight)
        out.append(
            CheckResult(
                "impression_omission",
                "warning",
                # The term quoted: some are adjectives ("dilated"), not nouns to put after "the".
                f'The impression does not mention "{main.term}", reported in the findings.',
                item.path,
                item.sentence_id,
            )
        )
    return out


def _named_in_impression(item: _Item, positive: tuple[Mention, ...], impression: list[_Item]) -> bool:
    """The impression names this finding in words the lexicon cannot read whole, so an omission is
    not certain: it quotes the finding's measurement ("5 mm obstructing ... junction", the noun
    misheard), or has the finding's noun with a modifier that is no finding term ("L5-S1 scratch
    protrusion" for "disc protrusion")."""
    sizes = {m.group() for m in _WITH_UNIT.finditer(item.text)}
    heads = {p.term.split()[-1] for p in positive if " " in p.term}
    for imp in impression:
        if sizes & {m.group() for m in _WITH_UNIT.finditer(imp.text)}:
            return True
        # The noun as a term of its own counts ("extrusion" for "disc extrusion"); inside another
        # finding's term it does not ("joint effusion" is no pericardial effusion).
        spans = [(m.start, m.start + len(m.term)) for m in imp.analysis.mentions if " " in m.term]
        for head in heads:
            for found in re.finditer(rf"\b{re.escape(head)}\b", imp.text, re.I):
                if not any(a <= found.start() < b for a, b in spans):
                    return True
    return False


def _unit_follows(after: str) -> bool:
    return bool(re.match(rf"\s*{_UNIT}(?![A-Za-z])", after, re.I))


# A macro command still in the text after expansion names no macro ("insert normal pelvis").
_MACRO_LEFT = re.compile(r"^\s*(?:insert|macro)\s+(?P<name>[a-z][a-z0-9 \-]*[a-z0-9])\s*[.!]?\s*$", re.I)


def check_unknown_macros(items: list[_Item]) -> list[CheckResult]:
    """ "Insert normal pelvis" kept as text: no macro has that name, so nothing was inserted."""
    out = []
    for item in items:
        match = _MACRO_LEFT.match(item.text)
        if match:
            message = (
                f'No macro is named "{match.group("name").lower()}": the words were kept as dictated '
                "and nothing was inserted."
            )
            out.append(CheckResult("unknown_macro", "warning", message, item.path, item.sentence_id))
    return out


def check_units(items: list[_Item]) -> list[CheckResult]:
    out = []
    for item in _reported(items):
        if item.source == "default":
            continue
        text = item.text
        missing = (
            any(not _unit_follows(m.group("after")) for m in _DIMENSIONS.finditer(text))
            or any(not _unit_follows(m.group("after")) for m in _MEASURED.finditer(text))
            or bool(_ARTICLE_NUMBER.search(text))
            or bool(_DISTANCE.search(text))
            or any(
                not _unit_follows(m.group("after"))
                and m.group("after").strip().lower() not in ("x", "by")
                and not _DECIMAL_OK_BEFORE.search(text[: m.start()])
                and not _UNITLESS_LIST.search(text[: m.start()])
                and not _RANGE_WITH_UNIT.match(text, m.end("num"))  # "from 3.2 to 4.1 cm"
                for m in _DECIMAL.finditer(text)
            )
            or any(
                not _unit_follows(m.group("after")) and not _RANGE_WITH_UNIT.match(text, m.end("num"))
                for m in _VELOCITY.finditer(text)
            )
        )
        if missing:
            out.append(
                CheckResult(
                    "unit_missing",
                    "warning",
                    "A measurement has no unit.",
                    item.path,
                    item.sentence_id,
                )
            )
        problem = _implausible(item)
        if problem:
            out.append(CheckResult("unit_implausible", "warning", problem, item.path, item.sentence_id))
    return out


def _implausible(item: _Item) -> str | None:
    for match in _WITH_UNIT.finditer(item.text):
        dims = [
            float(x) for x in re.findall(r"\d+(?:\.\d+)?", match.group().rsplit(match.group("unit"), 1)[0])
        ]
        unit = match.group("unit")
        value = max(dims) if dims else float(match.group("num"))
        if unit == "m":
            return f'"{match.group()}": meters are not a size a finding has.'
        if unit in ("cm", "mm"):
            cm = value if unit == "cm" else value / 10
            concepts = {m.concept for m in item.analysis.mentions}
            limit = min((_LESION_MAX_CM[c] for c in concepts if c in _LESION_MAX_CM), default=60.0)
            if cm > limit:
                return f'"{match.group()}" is implausibly large; check the number and the unit.'
            if cm < 0.05 and value > 0:
                return f'"{match.group()}" is implausibly small; check the number and the unit.'
        if unit == "%" and value > 100:
            return f'"{match.group()}" is more than 100%.'
        if unit == "HU" and not -1100 <= value <= 4000:
            return f'"{match.group()}" is outside the Hounsfield scale.'
    return _organ_size_implausible(item.text)


def check_critical(items: list[_Item], context: StudyContext, regions: frozenset[str]) -> list[CheckResult]:
    """A critical finding affirmed in Findings or Impression, also when it was written as a close
    variant of the term ("new motor thorax", "pulmonary and bolus", "subdural haematoma"): the
    suggestion names the words it matched, so the radiologist sees what was read as critical.
    Negated mentions ("no pneumothorax", "no new motor thorax") never count (NegEx)."""
    if context.is_critical:
        return []
    out = []
    seen: set[str] = set()
    # The report may already say who was told: the result is then to be marked, not communicated.
    told = any(communication_recorded(item.text) for item in items)
    advice = (
        "consider marking the report as a critical result (its communication is recorded in the report)."
        if told
        else "consider marking the report as a critical result and communicating it."
    )
    for item in _reported(items):
        # A generated impression restates the findings: the findings' own sentence is the one to flag.
        if item.continues_denial or item.source == "generated":
            continue
        for mention in analyze(item.text, variants=True, where=_organ(item.path), regions=regions).positive:
            if mention.critical and mention.concept not in seen:
                seen.add(mention.concept)
                if mention.variant:
                    message = (
                        f'"{mention.term}" may be {mention.concept}, a critical finding: check the wording, '
                        f"and {advice}"
                    )
                else:
                    message = (
                        f'{mention.concept.capitalize()} ("{mention.term}") is a critical finding: {advice}'
                    )

                out.append(CheckResult("critical_finding", "warning", message, item.path, item.sentence_id))
    return out


def run_checks(draft: Draft, study_context: StudyContext | None = None) -> list[CheckResult]:
    context = study_context or StudyContext()
    # The study's body regions tell what a generic word means ("hemorrhage" in a head CT).
    regions = frozenset(regions_for_study(context.procedure, context.modality))
    items = _items(draft, regions)
    return [
        *check_completeness(draft),
        *check_laterality(items, context),
        *check_laterality_consistency(items),
        *check_sex(items, context),
        *check_negation_conflicts(items),
        *check_impression_omissions(items, regions),
        *check_units(items),
        *check_critical(items, context, regions),
        *check_unknown_macros(items),
        *check_comparison(draft),
    ]
