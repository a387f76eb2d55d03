"""Normalized dictation → a structured draft: sentences placed into sections and organ subsections.

The draft starts as the template: every organ holds its normal default sentence, the indication a
placeholder. Each dictated sentence goes to the section the radiologist named ("Impression: ...",
"Liver: ...", "next section") or, when none was named, to the organ its words are about; the first
dictated sentence for an organ replaces that organ's normal default.
"""

from __future__ import annotations

import difflib
import itertools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace

from autoscribe.errors import InvalidRequest, NotFound
from autoscribe.scribe.findings import (
    COMMUNICATION,
    analyze,
    contradicts_anywhere,
    denial_contradicted,
    said_to_be_old,
    says_normal,
    unlisted_finding,
)
from autoscribe.scribe.normalize import NEXT_SECTION_MARK, normalize
from autoscribe.scribe.section_names import LABEL_SECTION_NAMES, SECTION_OF
from autoscribe.scribe.sides import SIDES, study_side
from autoscribe.scribe.technique import (
    claims_contrast_not_given,
    doppler_as_used,
    technique_for_side,
    technique_for_study,
    technique_from_description,
)
from autoscribe.scribe.templates import BUILTIN_MACROS, exam_scope
from autoscribe.scribe.types import (
    CLINICAL_INDICATION,
    COMPARISON,
    FINDINGS,
    IMPRESSION,
    PLACEHOLDER,
    TECHNIQUE,
    Draft,
    OrganTemplate,
    Section,
    Sentence,
    StudyContext,
    Template,
)
from autoscribe.scribe.wordlists import data_rows

_TECHNIQUE_START = re.compile(
    r"^(axial|multiplanar|noncontrast|non-contrast|contrast-enhanced|frontal and lateral|frontal|"
    r"pa and lateral|ap and lateral|(?:pa|ap|lateral|oblique) views?|portable|ct of the|ct angiography|"
    r"mri of the|mr images|ultrasound of the|"
    r"grayscale|images of the|bilateral craniocaudal|(?:\d+|one|two|three|four|five|six|single) views?)\b",
    re.I,
)
_VIEWS_START = re.compile(r"^(?:\d+|one|two|three|four|five|six|single) views?\b", re.I)
_TECHNIQUE_ANY = re.compile(
    r"\b(were obtained|was performed|were performed|were acquired|protocol was)\b", re.I
)
# ... said of the imaging itself: "A right hemicolectomy was performed" is a finding, not technique.
_IMAGING_WORDS = re.compile(
    r"\b(images?|imaging|scans?|sequences?|views?|contrast|protocol|reformat\w*|reconstruct\w*|"
    r"ct|mri?|ultrasound|sonograph\w*|radiograph\w*|doppler|duplex|examination|exam|study|"
    r"angiograph\w*|mammogra\w*|tomosynthesis|fluoroscop\w*|dose|technique|acquisition)\b",
    re.I,
)
_PRIOR_STUDY = re.compile(r"\b(?:prior|previous|last|earlier)\s+\w+", re.I)
# "Compared with the prior study, it has increased in size.": a finding with its comparison.
_CLAUSE_AFTER_COMMA = re.compile(
    r",[^,]*\b(is|are|was|were|has|have|had|remains?|measures?|shows?|demonstrates?|appears?|"
    r"increased|decreased|enlarged|resolved|improved|worsened|progressed|new)\b",
    re.I,
)
_COMPARISON_START = re.compile(
    r"^(comparison|compared (to|with) (the )?prior|no prior|"
    r"prior (study|studies|exam|examination)s? (from|dated|of)|"
    # "Compared with CT from March 3, 2025.", "Compared to the outside chest radiograph of 1/2/2024."
    r"compared (to|with) (an? |the )?(prior |previous |outside |recent )?[\w -]{0,20}?"
    r"\b(ct|cta|mri?|mra|radiographs?|x-rays?|ultrasound|sonogram|study|exam|examination|mammograms?|"
    r"pet(-ct)?|films?|scan)\b[^,]*\b(from|dated|of|on|performed|obtained)\b|"
    r"none available for comparison|no comparison)",
    re.I,
)
_INDICATION_START = re.compile(
    r"^(history of|indication|clinical history|reason for (the )?exam|"
    r"rule out|evaluate for|evaluation of)\b",
    re.I,
)
# What the referrer asks, anywhere in a sentence of the history: "elevated D-dimer, evaluate for PE".
_INDICATION_ASKS = re.compile(
    r"\b(rule out|r/o|evaluate for|evaluation (of|for)|assess for|assessment for|query|question of|"
    r"concern for|suspected|suspicion of|history of)\b",
    re.I,
)
# What only a referrer asks: in the first sentence of a dictation, a history ("shortness of breath,
# rule out pneumonia"); "suspected" and "concern for" open findings too.
_INDICATION_FIRST = re.compile(r"\b(rule out|r/o|evaluate for|assess for)\b", re.I)
_NUMBER_WORDS = "one|two|three|four|five|six|seven|eight|nine|ten"
# "1." / "One." / "One," / "Number one" before an impression item ("One, small effusion.").
# A number before a decimal point is a measurement, not an item: "2.1 cm cyst" keeps its 2.
_ENUMERATION = re.compile(
    rf"^(?:number\s+(?:\d{{1,2}}(?![.,]\d)|{_NUMBER_WORDS})(?:[.):,](?!\d))?\s*|\d{{1,2}}[.):](?!\d)\s*"
    rf"|(?:{_NUMBER_WORDS})[.):,]\s*"
    rf"|#\d+\s+)(?=\S|$)",
    re.I,
)
_ENUMERATION_ONLY = re.compile(rf"^(?:number\s+)?(?:\d{{1,2}}|{_NUMBER_WORDS})[.):,]?$", re.I)
_MACRO = re.compile(r"\b(?:insert|macro)\s+(?P<name>[a-z][a-z0-9 \-]{1,60}?)(?=[.,;:!?]|\n|$)", re.I)


# ---- sentences ----------------------------------------------------------------------------------


_TITLE_AT_END = re.compile(r"\b(?:Dr|Mr|Mrs|Ms|Drs|Prof|(?i:e\.g|i\.e|vs))\.$")


def split_sentences(text: str) -> list[str]:
    """Sentences of one line of report text; "2.3 x 1.1 cm." and "L4-L5." do not split."""
    parts = re.split(r"(?<=[.?!])\s+(?=[A-Z0-9\[(\"'])", text.strip())
    out: list[str] = []
    for part in parts:
        part = part.strip()
        if not part:
            continue
        # "1." alone is an enumeration dictated before an impression item: keep it with the item;
        # "Dr." ends no sentence.
        if out and (_ENUMERATION_ONLY.match(out[-1]) or _TITLE_AT_END.search(out[-1])):
            out[-1] = f"{out[-1]} {part}"
        else:
            out.append(part)
    return out


def _clean(sentence: str) -> str:
    sentence = sentence.strip().strip(",;").strip()
    if not sentence:
        return ""
    if sentence[0].isalpha():
        sentence = sentence[0].upper() + sentence[1:]
    if sentence[-1] not in ".?!:":
        sentence += "."
    return sentence


_FIRST_ITEM = re.compile(r"^(?:number\s+(?:1|one)\b|1[.):]\s|one[.):,]\s)", re.I)
# "segment number 2", "rib number 2 and rib number 3": a thing's number, no impression item.
_NUMBERED_THINGS = frozenset(
    (
        "segment",
        "segments",
        "rib",
        "ribs",
        "level",
        "image",
        "images",
        "series",
        "slice",
        "lesion",
        "nodule",
        "see",
    )
)
_NUMBERED = re.compile(r"[,;]?\s+number\s+(\d{1,2})\b[.):,]?\s*", re.I)


def enumerated_items(sentence: str) -> list[str]:
    """An impression dictated as one run of numbered items with no full stop between them
    ("Number 1 acute appendicitis number 2 no abscess.") as its items; a sentence not so numbered
    as itself. Only "number N" in sequence after a first item splits: "two small nodules" is a count."""
    if not _FIRST_ITEM.match(sentence):
        return [sentence]
    items: list[str] = []
    start, expected = 0, 2
    for match in _NUMBERED.finditer(sentence):
        before = sentence[: match.start()].split()
        if int(match.group(1)) != expected or match.start() == 0 or before[-1].lower() in _NUMBERED_THINGS:
            continue
        items.append(sentence[start : match.start()])
        start, expected = match.end(), expected + 1
    return [*items, sentence[start:]]


def strip_enumeration(sentence: str) -> str:
    """ "1. Small effusion." → "Small effusion." (impression items are numbered when rendered)."""
    stripped = _ENUMERATION.sub("", sentence, count=1)
    return _clean(stripped) if stripped != sentence else sentence


def expand_macros(text: str, macros: Mapping[str, str] | None = None) -> str:
    """ "insert normal chest" → the macro's text. Unknown names are left as dictated."""
    table = {k.lower(): v for k, v in BUILTIN_MACROS.items()}
    table.update({k.strip().lower(): v for k, v in (macros or {}).items()})

    def replace(match: re.Match[str]) -> str:
        name = re.sub(r"\s+", " ", match.group("name").strip().lower())
        if name in table:
            return table[name]
        # The command is explicit, the name may be misheard ("insert normal cast"): closest name wins.
        close = difflib.get_close_matches(name, list(table), n=1, cutoff=0.8)
        return table[close[0]] if close else match.group()

    expanded = _MACRO.sub(replace, text)
    return re.sub(r"\.\.", ".", expanded)


# ---- template → empty draft ----------------------------------------------------------------------


_OPPOSITE = {"right": "left", "left": "right"}


def draft_from_template(template: Template, context: StudyContext | None = None) -> Draft:
    """The template as a draft: normal defaults in place, placeholders where nothing is known yet."""
    context = context or StudyContext()
    side = study_side(context.procedure)
    scope = exam_scope(template, context.procedure)
    draft = Draft(template_id=template.id, template_name=template.name, sections=[])
    for st in template.sections:
        section = Section(key=st.key, title=st.title, required=st.required)
        default = st.default
        source: str = "default"
        if st.key == CLINICAL_INDICATION and context.clinical_indication.strip():
            default, source = _clean(context.clinical_indication), "context"
        elif st.key == COMPARISON and context.comparison.strip():
            default, source = _clean(context.comparison), "context"
        elif st.key == TECHNIQUE and default == PLACEHOLDER:
            default = technique_from_description(context.procedure, context.modality) or default
        elif st.key == TECHNIQUE and default:
            default = technique_for_study((scope and scope.technique) or default, context.procedure)
            if side is not None:
                default = technique_for_side(default, side)
        for text in (
            split_sentences(default) if default and default != PLACEHOLDER else ([default] if default else [])
        ):
            section.sentences.append(Sentence(draft.new_sentence_id(), text, source))  # type: ignore[arg-type]
        for organ in st.organs:
            if side is not None and organ.title.lower().startswith(_OPPOSITE[side]):
                continue  # a left-only study has no "Right breast" to report
            sub = Section(key=organ.key, title=organ.title)
            normal = organ.normal_for(context.sex)
            if scope is not None:
                # Outside the study's scope an organ is there for what is dictated about it only.
                looked_at = scope.organs is None or organ.key in scope.organs
                normal = (scope.normal_of(organ.key) or normal) if looked_at else ""
            for text in split_sentences(normal):
                if claims_contrast_not_given(text, context.procedure):
                    continue  # "The kidneys enhance symmetrically." of a CT without contrast
                sub.sentences.append(Sentence(draft.new_sentence_id(), text, "default"))
            section.subsections.append(sub)
        draft.sections.append(section)
    return draft


# ---- placing sentences ---------------------------------------------------------------------------


def _keyword_re(keyword: str) -> re.Pattern[str]:
    body = re.escape(keyword.lower()).replace(r"\ ", r"[\s-]+").replace(r"\-", r"[\s-]?")
    return re.compile(rf"(?<![a-z0-9]){body}(?![a-z0-9])")


_KW_CACHE: dict[str, re.Pattern[str]] = {}


def _kw(keyword: str) -> re.Pattern[str]:
    pattern = _KW_CACHE.get(keyword)
    if pattern is None:
        pattern = _KW_CACHE[keyword] = _keyword_re(keyword)
    return pattern


# What follows these is what goes with the subject, not the subject: "The anterior cruciate
# ligament is torn, with a bone bruise of the lateral femoral condyle" is about the ligament.
_SECONDARY = re.compile(r"\b(?:with|causing|resulting in|associated with|and associated)\b")


def classify_organ(sentence: str, organs: Iterable[OrganTemplate]) -> str | None:
    """The organ a sentence is about: keyword hits (longer phrases count more, a quarter as much after
    "with"), first mention wins ties."""
    low = sentence.lower()
    secondary = _SECONDARY.search(low)
    aside = secondary.start() if secondary else len(low)
    best: tuple[float, int, str] | None = None
    for order, organ in enumerate(organs):
        score = 0.0
        first = len(low)
        counted: list[tuple[int, int]] = []
        # Longer keywords first; a word inside a phrase already counted ("midline" of "midline
        # shift") does not count again, and a keyword said twice counts once ("temporal lobe ...
        # temporal bone").
        for keyword in sorted((*organ.keywords, organ.title), key=len, reverse=True):
            hits = [
                match.start()
                for match in _kw(keyword).finditer(low)
                if not any(a <= match.start() and match.end() <= b for a, b in counted)
            ]
            counted.extend((start, start + len(keyword)) for start in hits)
            if hits:
                score += len(keyword.split()) * (0.25 if hits[0] > aside else 1.0)
                first = min(first, hits[0])
        if score == 0:
            continue
        # The subject usually comes first: an earlier mention breaks near-ties.
        score -= first / (len(low) + 1) * 0.9
        if best is None or score > best[0] or (score == best[0] and order < best[1]):
            best = (score, order, organ.key)
    return best[2] if best else None


def _heading(sentence: str, template: Template) -> tuple[str, str | None, str] | None:
    """ "Impression: ..." → (section, organ, rest). Organ headings name a Findings subsection."""
    match = re.match(r"^([A-Za-z][A-Za-z ,/&-]{1,40}?)\s*:\s*(.*)$", sentence, re.S)
    if not match:
        return None
    name = re.sub(r"\s+", " ", match.group(1).strip().lower())
    rest = match.group(2).strip()
    if name in SECTION_OF:
        if name in LABEL_SECTION_NAMES and rest:
            rest = f"{match.group(1).strip()}: {rest}"  # "Fluoroscopy time: 2.1 minutes." keeps its label
        return SECTION_OF[name], None, rest
    for organ in template.organs():
        if (
            name == organ.title.lower()
            or name == organ.key.lower()
            or name in (k.lower() for k in organ.keywords)
        ):
            # A label that says more than the subsection's title stays: "Common bile duct: 4 mm."
            # under Bile ducts; "Biceps:" under Biceps tendon says nothing more.
            kept = not _says_no_more_than(name, organ.title) and rest
            return FINDINGS, organ.key, f"{match.group(1).strip()}: {rest}" if kept else rest
    return None


def _says_no_more_than(label: str, title: str) -> bool:
    """Whether every word of a label is a word of the title, in either number ("bursa", "Joint and
    bursae"; "kidney", "Kidneys and ureters")."""
    words = {_singular(w) for w in re.findall(r"[a-z]+", title.lower())}
    return all(_singular(w) in words for w in re.findall(r"[a-z]+", label.lower()))


def _singular(word: str) -> str:
    if word.endswith("ae"):
        return word[:-1]  # bursae
    if word.endswith("ies"):
        return word[:-3] + "y"
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


@dataclass
class _Cursor:
    section: str | None = None  # set by headings and "next section"
    organ: str | None = None
    last_section: str | None = None
    # Sentences placed since the heading: indication/technique/comparison headings hold one
    # short statement, then dictation usually runs on into findings without a heading.
    since_heading: int = 0
    # The organ of a finding being described (the sentence reporting it and those after it about
    # the same organ): a sentence naming no organ goes on about it ("Evolving left MCA infarct. No
    # hemorrhagic transformation." / "It measures 2 cm."). After a normal statement it may be
    # about anything ("The breasts are dense. The skin and nipples are unremarkable.").
    last_organ: str | None = None


def _auto_section(sentence: str) -> str | None:
    if _VIEWS_START.search(sentence) and analyze(sentence).positive:
        return None  # "Two views demonstrate a displaced fracture": a finding
    if _INDICATION_START.search(sentence):
        return CLINICAL_INDICATION
    if _COMPARISON_START.search(sentence) and not _CLAUSE_AFTER_COMMA.search(sentence):
        return COMPARISON
    if _TECHNIQUE_START.search(sentence) or (
        _TECHNIQUE_ANY.search(sentence) and _IMAGING_WORDS.search(_PRIOR_STUDY.sub("", sentence))
    ):
        return TECHNIQUE
    return None


def _place(draft: Draft, path: str, text: str, source: str = "dictated") -> Sentence:
    section = draft.section(path)
    if section is None:
        section = draft.section(FINDINGS)
        assert section is not None
    # The first dictated sentence replaces the normal default (and any placeholder).
    if section.sentences and all(s.source in ("default", "context") for s in section.sentences):
        section.sentences.clear()
    sentence = Sentence(draft.new_sentence_id(), text, source)  # type: ignore[arg-type]
    section.sentences.append(sentence)
    return sentence


# Sentences about the study or the patient as a whole, not the finding before them: "Motion
# artifact limits evaluation.", "Status post craniotomy.", "No other acute findings."
_ABOUT_THE_STUDY = re.compile(
    r"\b(?:artifact|motion|limit\w*|status post|s/p|post-?operative|sternotomy|craniotomy|other|otherwise|"
    r"remainder|rest of|elsewhere|additional)\b",
    re.I,
)
# What only a reading of the images says ("Stable appearance of the chest."): no history.
_ABOUT_THE_IMAGES = re.compile(
    r"\b(?:stable|unchanged|appearance|normal|unremarkable|clear|intact|seen|demonstrat\w*|identified|"
    r"visualized|no acute|no evidence)\b",
    re.I,
)


def _first_section_said_unheaded(
    draft: Draft, template: Template, organs: tuple[OrganTemplate, ...], unheaded: list[str]
) -> bool:
    """Whether what came before the first "next section" was the template's first section: the
    radiologist walks the sections from the top without naming them ("Cough and fever. Next
    section. PA and lateral views. Next section ..."). Only when it went to Findings for want of a
    better place and is not about the images ("the lungs are clear, next section" is the impression);
    a finding only asked about ("rule out pneumonia") is still a history."""
    if not unheaded or template.sections[0].key == FINDINGS:
        return False
    located = [draft.locate(sentence_id) for sentence_id in unheaded]
    return all(
        found is not None
        and found[0] == FINDINGS
        and not _about_findings(found[2].text, organs, asked=True)
        and not _ABOUT_THE_IMAGES.search(found[2].text)
        for found in located
    )


def _next_section(template: Template, current: str | None) -> str:
    keys = [s.key for s in template.sections]
    if current is None or current not in keys:
        return keys[0]
    idx = keys.index(current)
    return keys[min(idx + 1, len(keys) - 1)]


def build_draft(
    transcript_text: str,
    template: Template,
    study_context: StudyContext | None = None,
    *,
    macros: Mapping[str, str] | None = None,
    normalized: bool = False,
) -> Draft:
    """Place every dictated sentence; the impression is left as dictated (empty when it was not)."""
    context = study_context or StudyContext()
    text = transcript_text if normalized else normalize(transcript_text)
    text = expand_macros(text, macros)
    draft = draft_from_template(template, context)
    organs = template.organs()
    cursor = _Cursor()
    unheaded: list[str] = []  # the sentences dictated before any heading or "next section"
    for line in text.split("\n"):
        line = line.strip()
        if not line:
            continue
        if line == NEXT_SECTION_MARK:
            current = cursor.section or cursor.last_section
            if cursor.section is None and _first_section_said_unheaded(draft, template, organs, unheaded):
                current = template.sections[0].key
                for sentence_id in unheaded:
                    move_sentence(draft, sentence_id, current)
            cursor.section = _next_section(template, current)
            cursor.organ = None
            continue
        explicit_organ: str | None = None
        head = _heading(line, template)
        if head is not None and head[0] == FINDINGS and head[1] is None:
            # "Findings: Liver: ...": an organ heading right after the section's own.
            head = _heading(head[2], template) or head
        if head is not None:
            cursor.section, cursor.organ, line = head
            cursor.since_heading = 0
            explicit_organ = cursor.organ
            if not line:
                continue
        for index, raw in enumerate(split_sentences(line)):
            sentence = _clean(raw)
            explicit = explicit_organ if index == 0 else None
            label = _heading(sentence, template) if index > 0 and cursor.section in (None, FINDINGS) else None
            if label is not None and label[1] is not None:
                # "... is dislocated medially. Acromioclavicular: Mild arthrosis.": an organ's label
                # said mid-line heads what follows it as a heading on its own line does.
                cursor.section, explicit, sentence = label
                cursor.organ = explicit
                cursor.since_heading = 0
            if not sentence or (cursor.section == IMPRESSION and _ENUMERATION_ONLY.match(sentence)):
                continue
            path = _route(sentence, template, organs, cursor, explicit)
            cursor.since_heading += 1
            if path == IMPRESSION:
                draft.impression_source = "dictated"
                *items, sentence = [strip_enumeration(_clean(item)) for item in enumerated_items(sentence)]
                for item in items:
                    _place(draft, path, item)
            elif path.split(".")[0] == FINDINGS:
                sentence = strip_enumeration(sentence)  # "Number 1, the liver is enlarged."
            placed = _place(draft, path, sentence)
            if cursor.section is None:
                unheaded.append(placed.id)
            cursor.last_section = path.split(".")[0]
            organ = path.split(".")[1] if path.count(".") == 1 else None
            going_on = organ is not None and (organ == cursor.last_organ or analyze(sentence).positive)
            cursor.last_organ = organ if going_on else None
    _drop_contradicted_defaults(draft)
    _drop_defaults_a_finding_contradicts(draft, organs)
    _drop_defaults_a_listed_normal_covers(draft, organs)
    _drop_defaults_of_organs_taken_out(draft, context)
    _drop_defaults_a_dictated_finding_restates(draft)
    _claim_doppler_only_as_used(draft, context)
    return draft


# Words that name nothing a default and a dictated sentence could both be about.
_GLUE_WORDS = frozenset((
    "the", "a", "an", "of", "to", "is", "are", "was", "were", "in", "on", "at", "and", "or", "no", "not",
    "without", "with", "there", "this", "that", "its", "their", "normal", "unremarkable", "size",
    "caliber", "contour", "appearance", "within", "limits", "seen", "identified", "evidence", "visualized",
    "measures", "measuring", "less", "than", "more", "right", "left", "bilateral",
))  # fmt: skip


def _word_pairs(text: str) -> set[tuple[str, str]]:
    """Adjacent content words: "The RV to LV ratio is 1.3" → (rv, lv), (lv, ratio)."""
    words = [w for w in re.findall(r"[a-z]+", text.lower()) if w not in _GLUE_WORDS and len(w) >= 2]
    return set(itertools.pairwise(words))


def _drop_defaults_a_dictated_finding_restates(draft: Draft) -> None:
    """A finding or a measurement dictated anywhere in the findings replaces the default sentence
    about that one thing, wherever the template keeps it: "The RV to LV ratio is 1.3." leaves no
    "The RV to LV ratio is less than 1.", "The common bile duct measures 9 mm." no "The common bile
    duct is not dilated." A dictated normal sentence replaces none ("No pleural effusion." keeps
    "No pleural effusion or pneumothorax.", whose pneumothorax it does not speak of)."""
    findings = draft.section(FINDINGS)
    if findings is None:
        return
    subs = [findings, *findings.subsections]
    said: set[tuple[str, str]] = set()
    for sub in subs:
        for sentence in sub.sentences:
            if sentence.source == "default":
                continue
            analysis = analyze(sentence.text)
            if analysis.positive or re.search(r"\d", sentence.text) or unlisted_finding(analysis):
                said |= _word_pairs(sentence.text)
    # A dictated sentence that says a default's words, near all of them, says what it says: "No
    # suspicious masses, calcifications, or architectural distortion." for both breasts' defaults.
    restated = [_content_words(s.text) for sub in subs for s in sub.sentences if s.source != "default"]
    for sub in subs:
        sub.sentences[:] = [
            s
            for s in sub.sentences
            if s.source != "default"
            or not (
                (_word_pairs(s.text) & said and not _LISTS_SEVERAL.search(s.text))
                or any(_covers_most(words, _content_words(s.text)) for words in restated)
            )
        ]


# A default about several things ("No free air or free fluid."): a finding of one leaves the rest.
_LISTS_SEVERAL = re.compile(r"\b(?:or|and|nor)\b|,")


def _content_words(text: str) -> set[str]:
    """A sentence's content words, plurals as their singular ("masses" → mass)."""
    words = (w for w in re.findall(r"[a-z]+", text.lower()) if w not in _GLUE_WORDS and len(w) >= 2)
    return {re.sub(r"(?:es|s)$", "", w) if len(w) > 4 else w for w in words}


def _covers_most(said: set[str], default: set[str]) -> bool:
    """Whether a dictated sentence says at least four fifths of a default's content words (four
    words or more). "No pleural effusion." does not say "No pleural effusion or pneumothorax."
    """
    return len(default) >= 4 and len(said & default) * 5 >= len(default) * 4


# data/surgeries.tsv: an operation's word → the words of the organ it takes out.
_SURGERIES = {
    operation: tuple(w.strip() for w in words.split(","))
    for operation, words in data_rows("surgeries.tsv", 2)
}
_OPERATION = re.compile(
    rf"\b(?:({'|'.join(SIDES)})\s+(?:\w+\s+)?)?({'|'.join(map(re.escape, _SURGERIES))})\b", re.I
)
# Not done, or not yet: "no prior cholecystectomy", "consult for possible cholecystectomy", "prior
# to craniotomy"; a partial one leaves the organ ("left partial nephrectomy").
_NOT_OPERATED = re.compile(
    r"(?:\b(?:no|not|without|never)\b[^.;]*|\b(?:possible|planned|planning|scheduled|considering|"
    r"consideration|candidate|for|before|prior to|pre-?operative|preop|partial)\s+(?:\w+\s+){0,2})$",
    re.I,
)


def _drop_defaults_of_organs_taken_out(draft: Draft, context: StudyContext) -> None:
    """ "Status post cholecystectomy." leaves no "The gallbladder is unremarkable.", and a right
    mastectomy no right breast's normal sentence (the left one's stays)."""
    said = [s.text for _, s in draft.iter_sentences() if s.source != "default"] + [
        context.clinical_indication
    ]
    removed: list[tuple[str | None, tuple[str, ...]]] = []
    for text in said:
        for m in _OPERATION.finditer(text):
            if not _NOT_OPERATED.search(text[: m.start()]) and "partial" not in m.group().lower():
                side = (m.group(1) or "").lower()
                removed.append((side if side in ("right", "left") else None, _SURGERIES[m.group(2).lower()]))
    if not removed:
        return
    findings = draft.section(FINDINGS)
    if findings is None:
        return

    def about_removed(sentence: Sentence, organ_title: str) -> bool:
        low = f"{organ_title} | {sentence.text}".lower()
        for side, words in removed:
            # The organ named in the sentence, or the organ's whole title ("Right breast", "Spleen";
            # not "Gallbladder and bile ducts": the ducts are still there).
            title_is_it = set(re.findall(r"[a-z]+", organ_title.lower())) - SIDES <= set(
                " ".join(words).split()
            )
            if not (title_is_it and organ_title) and not any(
                _kw(w).search(sentence.text.lower()) for w in words
            ):
                continue
            other = {"right": "left", "left": "right"}.get(side or "")
            if other is None or not re.search(rf"\b{other}\b", low) or re.search(rf"\b{side}\b", low):
                return True
        return False

    for sub in [findings, *findings.subsections]:
        title = sub.title if sub is not findings else ""
        sub.sentences[:] = [s for s in sub.sentences if s.source != "default" or not about_removed(s, title)]


def _claim_doppler_only_as_used(draft: Draft, context: StudyContext) -> None:
    technique = draft.section(TECHNIQUE)
    if technique is None:
        return
    dictated = " ".join(s.text for _, s in draft.iter_sentences() if s.source == "dictated")
    for sentence in technique.sentences:
        if sentence.source == "default":
            sentence.text = doppler_as_used(sentence.text, context.procedure, dictated)


def organs_said_normal(sentence: str, organs: Iterable[OrganTemplate]) -> list[str]:
    """The organs, in the order named, of a sentence that calls two or more of them normal in one
    list ("The liver, spleen, pancreas, adrenal glands and kidneys are unremarkable."): it stands
    for each one's normal sentence. Empty for anything else, such as a denial ("The lungs are clear
    without pleural effusion." says nothing of a pneumothorax)."""
    analysis = analyze(sentence)
    if not says_normal(analysis) or analysis.mentions:
        return []
    low = sentence.lower()
    organs = tuple(organs)
    words = {organ.key: _name_words(organ.title) for organ in organs}
    named: list[tuple[int, str]] = []
    for organ in organs:
        # By the organ's name, not its keywords: "normal in echotexture" names no liver. A word of
        # its own names it ("kidneys" of "Kidneys and ureters"); a name whose words other organs
        # share ("Right breast", "Left breast") only as a whole.
        own = [
            w
            for w in words[organ.key]
            if w not in SIDES and not any(w in other for key, other in words.items() if key != organ.key)
        ]
        starts = [m.start() for k in own for m in _kw(k).finditer(low)]
        if not own and words[organ.key] and all(_kw(w).search(low) for w in words[organ.key]):
            starts = [m.start() for w in words[organ.key] for m in _kw(w).finditer(low)]
        if starts:
            named.append((min(starts), organ.key))
    return [key for _, key in sorted(named)] if len(named) >= 2 else []


def _name_words(title: str) -> list[str]:
    return [w for w in re.findall(r"[a-z]+", title.lower()) if len(w) > 3 and w != "and"]


def _drop_defaults_a_listed_normal_covers(draft: Draft, organs: tuple[OrganTemplate, ...]) -> None:
    """ "The liver, spleen, pancreas ... are unremarkable." is filed under the liver; the spleen's
    and pancreas's own normal sentences would say it twice."""
    findings = draft.section(FINDINGS)
    if findings is None:
        return
    covered = {
        key
        for sub in findings.subsections
        for sentence in sub.sentences
        if sentence.source == "dictated"
        for key in organs_said_normal(sentence.text, organs)
    }
    for sub in findings.subsections:
        if sub.key in covered:
            sub.sentences[:] = [s for s in sub.sentences if s.source != "default"]


def _drop_contradicted_defaults(draft: Draft) -> None:
    """A template's normal sentence that denies what the radiologist dictated under another organ
    ("No acute intracranial hemorrhage ..." in the brain, a subdural hematoma dictated under the
    extra-axial spaces) is taken out: the report must not say both."""
    dictated = [
        (sentence.text, mention)
        for section in draft.sections
        if section.key in (FINDINGS, IMPRESSION)
        for sentence in section.all_sentences()
        if sentence.source not in ("default", "context")
        for mention in analyze(sentence.text).positive
    ]
    if not dictated:
        return

    def contradicted(default: str) -> bool:
        denials = [m for m in analyze(default).mentions if m.negated]
        return any(contradicts_anywhere(d, m, text) for d in denials for text, m in dictated)

    for section in draft.sections:
        if section.key == FINDINGS:
            for sub in (section, *section.subsections):
                _drop_or_trim_defaults(sub, contradicted)


# A default that denies a list: "No free air or free fluid.", "No mass, mass effect, or abnormal
# signal."
_DENIED_LIST = re.compile(r"^No ([^.;:]+)\.$")


def _denied_items(default: str) -> list[str] | None:
    """The items of a denied list, each a finding of its own ("free air", "free fluid"); none for a
    list of places sharing one finding ("No mediastinal, hilar, or axillary lymphadenopathy.")."""
    match = _DENIED_LIST.match(default)
    if match is None:
        return None
    items = [i.strip() for i in re.split(r",\s*(?:or\s+)?|\s+or\s+", match.group(1)) if i.strip()]
    if len(items) < 2 or not all(analyze(f"No {item}.").mentions for item in items):
        return None
    return items


def _drop_or_trim_defaults(sub: Section, contradicted: Callable[[str], bool]) -> None:
    """Take out each default sentence that a dictated finding contradicts; of a denied list, only
    the items it contradicts: a hemoperitoneum leaves "No free air." of "No free air or free fluid."."""
    kept: list[Sentence] = []
    for sentence in sub.sentences:
        if sentence.source != "default" or not contradicted(sentence.text):
            kept.append(sentence)
            continue
        items = _denied_items(sentence.text)
        left = [item for item in items or () if not contradicted(f"No {item}.")]
        if items and left and len(left) < len(items):
            listed = (
                left[0]
                if len(left) == 1
                else ", ".join(left[:-1]) + ("," if len(left) > 2 else "") + f" or {left[-1]}"
            )
            kept.append(replace(sentence, text=f"No {listed}."))
    sub.sentences[:] = kept


# A finding below this weight (data/findings_lexicon.tsv: small vessel change, atherosclerosis,
# degenerative change) sits beside an organ's "normal" statement in reports, whether the
# impression or a findings sentence filed under another organ reports it.
_WEIGHT_AGAINST_NORMAL = 15


def _drop_defaults_a_finding_contradicts(draft: Draft, organs: tuple[OrganTemplate, ...]) -> None:
    """A finding dictated only in the impression ("Acute appendicitis.") must not stand beside the
    template's "The appendix is normal." in the findings. An organ still holding only its defaults
    loses its statements that it is normal when an impression item reports a finding of that organ,
    or a findings sentence filed elsewhere names one (then only a one-sentence default), and any
    default that denies the finding an impression item reports ("without gallstones" beside
    "Cholelithiasis") goes wherever it is.
    "No acute ..." stays beside a finding said to be old."""
    impression = draft.section(IMPRESSION)
    reported = [
        (sentence.text, analysis)
        for sentence in (impression.all_sentences() if impression is not None else ())
        if sentence.source == "dictated"
        and (analysis := analyze(sentence.text)).positive
        and analysis.weight >= _WEIGHT_AGAINST_NORMAL
    ]
    findings = draft.section(FINDINGS)
    if findings is None:
        return
    defaults_only = {
        sub.key
        for sub in findings.subsections
        if sub.sentences and all(s.source == "default" for s in sub.sentences)
    }
    normal_in: set[str] = set()  # organs whose "normal" statements the impression contradicts
    old: set[str] = set()  # ... by a finding said to be old
    for text, _ in reported:
        organ = classify_organ(text, organs)
        if organ in defaults_only:
            normal_in.add(organ)
            if said_to_be_old(text):
                old.add(organ)
    # A finding of another organ named in a findings sentence: "... extra-axial hematoma with an
    # overlying temporal bone fracture" leaves no "The calvarium is intact." Only an organ whose
    # default is one sentence: "The heart is normal in size" stays beside mediastinal nodes.
    single = {sub.key for sub in findings.subsections if sub.key in defaults_only and len(sub.sentences) == 1}
    for sub in findings.subsections:
        for sentence in sub.sentences:
            if sentence.source != "dictated":
                continue
            for finding in analyze(sentence.text).positive:
                # The finding with the words around it: "tear of the anteroinferior labrum" is the
                # labrum's tear, "temporal bone fracture" the calvarium's.
                near = sentence.text[max(0, finding.start - 25) :]
                organ = classify_organ(near, organs)
                if finding.weight >= _WEIGHT_AGAINST_NORMAL and organ in single - {sub.key}:
                    normal_in.add(organ)
                    if said_to_be_old(sentence.text):
                        old.add(organ)

    def contradicted(organ: str, default: str) -> bool:
        said = analyze(default)  # once per default sentence
        if organ in normal_in and says_normal(said):
            return not (organ in old and re.search(r"\bno acute\b", default, re.I))
        return any(
            denial_contradicted(denied, default, finding, text)
            for denied in said.mentions
            if denied.negated
            for text, analysis in reported
            for finding in analysis.positive
        )

    for sub in findings.subsections:
        sub.sentences[:] = [
            s for s in sub.sentences if s.source != "default" or not contradicted(sub.key, s.text)
        ]


# A BI-RADS assessment category as the report writes it ("BI-RADS 2: Benign", "BI-RADS category 4A").
_ASSESSMENT = re.compile(r"\bBI-RADS(?:\s+category)?\s*:?\s*[0-6][ABC]?\b")


def _route(
    sentence: str,
    template: Template,
    organs: tuple[OrganTemplate, ...],
    cursor: _Cursor,
    explicit_organ: str | None,
) -> str:
    if explicit_organ is not None:
        return f"{FINDINGS}.{explicit_organ}"
    section = cursor.section
    if (
        section in (CLINICAL_INDICATION, TECHNIQUE, COMPARISON)
        and cursor.since_heading > 0
        and _auto_section(sentence) != section
        and _about_findings(sentence, organs, asked=section == CLINICAL_INDICATION)
    ):
        cursor.section = section = FINDINGS
    if section in (IMPRESSION, CLINICAL_INDICATION, TECHNIQUE, COMPARISON):
        return section
    if section is None and cursor.last_section in (None, CLINICAL_INDICATION, TECHNIQUE, COMPARISON):
        auto = _auto_section(sentence)
        if (
            auto is None
            and cursor.last_section is None
            and _INDICATION_FIRST.search(sentence)
            and not analyze(sentence).positive  # "Consolidation, rule out mass." is a finding
        ):
            auto = CLINICAL_INDICATION  # "Shortness of breath, rule out pneumonia." said first
        if auto is not None:
            return auto
    elif section is None:
        auto = _auto_section(sentence)
        if auto in (COMPARISON, TECHNIQUE) and template.section(auto) is not None:
            return auto
    if (
        section in (None, FINDINGS)
        and _ASSESSMENT.search(sentence)
        and template.section(IMPRESSION) is not None
    ):
        # "BI-RADS 1: Negative." is the breast imaging report's assessment: its impression, and what
        # follows it (the recommendation) goes with it.
        cursor.section = IMPRESSION
        return IMPRESSION
    if section is None and template.section(FINDINGS) is None:
        return template.sections[0].key
    if not organs:
        return FINDINGS
    listed = organs_said_normal(sentence, organs)
    organ = (listed[0] if listed else None) or classify_organ(sentence, organs) or cursor.organ
    if organ is None and not COMMUNICATION.search(sentence) and not _ABOUT_THE_STUDY.search(sentence):
        organ = cursor.last_organ  # goes on about the finding before it
    return f"{FINDINGS}.{organ}" if organ else FINDINGS


def _about_findings(sentence: str, organs: tuple[OrganTemplate, ...], *, asked: bool = False) -> bool:
    """Whether a sentence dictated after the indication, technique or comparison is about what the
    images show. After the indication (`asked`), a finding only asked about or denied ("elevated
    D-dimer, evaluate for pulmonary embolism") is still the history."""
    if asked and _INDICATION_ASKS.search(sentence):
        return False
    analysis = analyze(sentence)
    return classify_organ(sentence, organs) is not None or bool(
        analysis.positive if asked else analysis.mentions
    )


# ---- editing -------------------------------------------------------------------------------------


def move_sentence(draft: Draft, sentence_id: str, target_section: str, *, index: int | None = None) -> Draft:
    """Move a sentence to another section (`impression`) or organ (`findings.liver` or `liver`).

    Like dictation, a sentence moved into an organ that still shows its normal default replaces it.
    Changes `draft` in place and returns it.
    """
    found = draft.locate(sentence_id)
    if found is None:
        raise NotFound(f"No sentence {sentence_id} in this draft", param="sentenceId")
    target = draft.section(target_section)
    if target is None:
        raise InvalidRequest(f"No section {target_section} in this draft", param="targetSection")
    _, source, sentence = found
    if source is target:
        source.sentences.remove(sentence)
    else:
        source.sentences.remove(sentence)
        if target.sentences and all(s.source in ("default", "context") for s in target.sentences):
            target.sentences.clear()
    if sentence.source in ("default", "context"):
        sentence.source = "dictated"  # placed by the radiologist: no longer a template default
    if target.key == IMPRESSION:
        sentence.text = strip_enumeration(sentence.text)
        draft.impression_source = "edited"
    if index is None:
        target.sentences.append(sentence)
    else:
        target.sentences.insert(max(0, min(index, len(target.sentences))), sentence)
    return draft


def set_impression(draft: Draft, items: Iterable[str], source: str) -> Draft:
    section = draft.section(IMPRESSION)
    if section is None:
        section = Section(IMPRESSION, "Impression", required=True)
        draft.sections.append(section)
    section.sentences = [
        Sentence(draft.new_sentence_id(), _clean(strip_enumeration(t)), "generated")
        for t in items
        if t.strip()
    ]
    draft.impression_source = source  # type: ignore[assignment]
    return draft
