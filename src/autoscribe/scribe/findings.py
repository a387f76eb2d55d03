"""Findings in sentences: abnormality terms, NegEx-style negation, laterality, weight, criticality.

NegEx (Chapman et al., 2001) in its simple form: a negation trigger ("no", "without", "negative
for") negates the terms after it up to a scope terminator ("but", "however", ";"); post-triggers
("is not seen", "has resolved") negate the terms before them; pseudo-triggers ("no change in",
"not only") look like negations but are not. The impression generator and the pre-sign checks
both read sentences through `analyze`.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, replace
from functools import lru_cache

from autoscribe.scribe.variants import critical_variants
from autoscribe.scribe.wordlists import Meaning, critical_anatomy, data_rows, data_sections, findings_lexicon


def _words_regex(words: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(r"\b(" + "|".join(re.escape(w) for w in words) + r")\b", re.I)


# The lexicon (data/findings_lexicon.tsv), the NegEx triggers (data/negex_triggers.txt) and the words
# that qualify a finding (data/findings_words.txt) are data a radiologist reviews.
_NEGEX = data_sections("negex_triggers.txt")
_WORDS = data_sections("findings_words.txt")
_NORMAL_WORDS = _words_regex(_WORDS["normal"])
_ABNORMAL_WORDS = _words_regex(_WORDS["abnormal"])
_QUALIFIERS = _words_regex(_WORDS["qualifiers"])
_SIDE = re.compile(r"\b(right|left|bilateral|bilaterally|both)\b", re.I)
_MEASURE = re.compile(r"\b\d+(?:\.\d+)?(?: x \d+(?:\.\d+)?)* ?(?:cm|mm)\b")
_NOT_ACUTE = _words_regex(_WORDS["not acute"])
_SIZE_UP = _words_regex(_WORDS["severe"])
_SIZE_DOWN = _words_regex(_WORDS["mild"])
_NEW_WORDS = _words_regex(_WORDS["new"])


@dataclass(frozen=True)
class Mention:
    term: str  # the phrase as matched, e.g. "pleural effusion"
    concept: str  # synonym group, e.g. "pleural effusion"
    negated: bool
    side: str | None  # right | left | bilateral | None
    weight: int
    critical: bool
    start: int  # character offset in the sentence
    # Negated with a qualifier ("no new nodule", "no acute fracture"): other such findings may exist.
    qualified: bool = False
    # Not a lexicon phrase but a close variant of a critical one, as a speech model mishears it
    # ("new motor thorax" for pneumothorax); only `analyze(..., variants=True)` reports these.
    variant: bool = False


@dataclass(frozen=True)
class Analysis:
    text: str
    mentions: tuple[Mention, ...]
    normal: bool  # says something is normal and affirms nothing abnormal

    @property
    def positive(self) -> tuple[Mention, ...]:
        return tuple(m for m in self.mentions if not m.negated)

    @property
    def is_positive(self) -> bool:
        return bool(self.positive)

    @property
    def weight(self) -> int:
        """How much this sentence matters for the impression (critical first)."""
        if not self.positive:
            return 0
        base = max(m.weight for m in self.positive)
        if _SIZE_UP.search(self.text):
            base += 8
        if _SIZE_DOWN.search(self.text):
            base -= 5
        return base

    @property
    def critical(self) -> bool:
        return any(m.critical for m in self.positive)


@lru_cache(maxsize=1)
def _lexicon_pattern() -> tuple[re.Pattern[str], dict[str, tuple[str, int, bool]]]:
    table = {t.phrase: (t.concept, t.weight, t.critical) for t in findings_lexicon()}
    phrases = sorted(table, key=len, reverse=True)
    body = "|".join(
        _british(re.escape(p).replace(r"\ ", r"[\s-]+").replace(r"\-", r"[\s-]?")) for p in phrases
    )
    return re.compile(rf"(?<![a-z0-9])(?:{body})(?![a-z0-9])", re.I), table


def _british(pattern: str) -> str:
    """British spellings match too: haematoma, haemorrhage, oedema, oesophagus."""
    return re.sub(
        r"(?<![a-z])(h)(em)|(e)(dema)|(e)(sophag)",
        lambda m: "".join(f"{g}a?" if g == "h" else f"o?{g}" if g == "e" else g for g in m.groups() if g),
        pattern,
    )


def _phrase_regex(phrases: tuple[str, ...]) -> re.Pattern[str]:
    body = "|".join(re.escape(p) for p in sorted(phrases, key=len, reverse=True))
    return re.compile(rf"(?<![a-z0-9])(?:{body})(?![a-z0-9])", re.I)


_PRE_RE = _phrase_regex(_NEGEX["before"])
_POST_RE = _phrase_regex(_NEGEX["after"])
_PSEUDO_RE = _phrase_regex(_NEGEX["pseudo"])
_TERM_RE = _phrase_regex(_NEGEX["terminators"])
_PURPOSE_RE = re.compile(
    rf"\s+(?:{'|'.join(re.escape(p) for p in _NEGEX['purpose after a terminator'])})(?![a-z0-9])", re.I
)
_COMMA_TERM_RE = re.compile(
    rf",\s*(?:{'|'.join(re.escape(p) for p in _NEGEX['terminators after a comma'])})(?![a-z0-9])", re.I
)

_SIZE_AFTER_COMMA = re.compile(
    r",\s*(?:an?\s+)?"
    rf"(?!(?:{'|'.join(re.escape(p) for p in _NEGEX['anatomy named by a size'])})(?![a-z0-9]))"
    rf"(?:{'|'.join(re.escape(p) for p in _NEGEX['sizes after a comma'])}"
    r"|\d+(?:\.\d+)?(?:-\d+(?:\.\d+)?)?\s?(?:mm|cm))(?![a-z0-9])",
    re.I,
)


def _clauses(text: str) -> list[tuple[int, int]]:
    """Spans between scope terminators (conjunctions and ";")."""
    cuts = [0]
    for match in re.finditer(r";|:|\.(?!\d)", text):
        cuts.append(match.end())
    for match in _TERM_RE.finditer(text):
        if not _PURPOSE_RE.match(text, match.end()):
            cuts.append(match.start())
    for match in itertools.chain(_COMMA_TERM_RE.finditer(text), _SIZE_AFTER_COMMA.finditer(text)):
        cuts.append(match.start())
    cuts.append(len(text))
    cuts = sorted(set(cuts))
    return [(a, b) for a, b in itertools.pairwise(cuts) if b > a]


def _key(term: str) -> str:
    """A matched phrase as the lexicon writes it: lower case, single spaces, American spelling."""
    key = re.sub(r"[\s-]+", " ", term.lower())
    return re.sub(r"\bhaem", "hem", re.sub(r"\boedema", "edema", re.sub(r"\boesoph", "esoph", key)))


def _lookup(term: str, table: dict[str, tuple[str, int, bool]]) -> tuple[str, int, bool]:
    key = _key(term)
    if key in table:
        return table[key]
    for phrase, value in table.items():
        if re.sub(r"[\s-]+", " ", phrase) == key or phrase.replace("-", "") == key.replace(" ", ""):
            return value
    return key, 20, False


@dataclass(frozen=True)
class _Placement:
    """A generic phrase's anatomy rules (data/critical_anatomy.txt), compiled."""

    regions: frozenset[str]
    anatomy: re.Pattern[str] | None
    elsewhere: tuple[tuple[Meaning, re.Pattern[str]], ...]
    otherwise: Meaning | None
    old: frozenset[str]
    # An old word said of the phrase after it: "... is unchanged in extent", ", stable".
    old_after: re.Pattern[str] | None
    new: tuple[Meaning, frozenset[str]] | None


# How far before a phrase an "old:" word still describes it ("chronic left ICA occlusion").
_OLD_REACH = 4
# A "new:" word reaches over a spelled-out territory: "acute left middle cerebral artery territory infarct".
_NEW_REACH = 6
_JOINING_WORDS = frozenset(("and", "or", "with", "without", "but", "plus", "versus", "vs"))
_JOINING = re.compile(rf"\b(?:{'|'.join(_JOINING_WORDS)})\b", re.I)


@lru_cache(maxsize=1)
def _generic_phrases() -> dict[str, _Placement]:
    concepts = {t.phrase: t.concept for t in findings_lexicon()}
    out: dict[str, _Placement] = {}
    for group in critical_anatomy():
        placement = _Placement(
            regions=group.regions,
            anatomy=_phrase_regex(group.anatomy) if group.anatomy else None,
            elsewhere=tuple((meaning, _phrase_regex(words)) for meaning, words in group.elsewhere),
            otherwise=group.otherwise,
            old=group.old,
            old_after=_predicated(group.old) if group.old else None,
            new=group.new,
        )
        for phrase in group.phrases:
            if concepts.get(phrase) != group.concept:
                raise ValueError(
                    f"critical_anatomy.txt: {phrase!r} is not a lexicon phrase of {group.concept!r}"
                )
            out[phrase] = placement
    return out


def _predicated(words: frozenset[str]) -> re.Pattern[str]:
    """One of `words` said of a finding after it: "... measuring 4 mm is unchanged", "..., stable in
    size", "... remains chronic"; not "... with chronic small vessel disease"."""
    body = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(
        r"(?:\b(?:is|are|was|were|remains?|remained|appears?|appeared|has been|have been|again)\b|,)"
        rf"(?:\s+[\w-]+){{0,2}}?\s+(?:{body})(?![\w-])",
        re.I,
    )


def said_new(text: str) -> bool:
    """A word of findings_words.txt [new] in `text` that no negation denies: "acute on chronic",
    "with a new acute component"; not "with no new hemorrhage", "without interval increase"."""
    return any(
        not re.search(r"\b(?:no|not|without|nor)\b(?:\s+[\w-]+){0,2}\s*$", text[: m.start()], re.I)
        for m in _NEW_WORDS.finditer(text)
    )


def _in_place(
    term: str,
    meaning: Meaning,
    sentence: str,
    where: str,
    regions: frozenset[str],
    clause_before: str = "",
    after: str = "",
) -> Meaning:
    """What a phrase means where it was said. A critical concept's generic phrase ("hemorrhage",
    "filling defect", "dissection") means it only where the anatomy fits: the sentence's anatomy
    first ("retroperitoneal hemorrhage", "filling defect in the renal pelvis", "neck dissection"),
    then the organ the sentence is filed under (`where`), then the study's body regions (`regions`:
    "hemorrhage" alone in a CT abdomen is not intracranial). A "new:" word among the last words of
    its noun phrase in its clause before it (`clause_before`) gives it the new meaning ("acute left
    MCA infarct").

    An "old:" word among the last words before it, or said of it after it (`after`: the words up to
    the next finding, "... is unchanged in extent"), keeps its own meaning ("chronic left ICA
    occlusion" is no large vessel occlusion) or, when that is critical, makes it a known finding, no
    new critical result ("stable chronic left subdural hematoma"); not when a word of
    findings_words.txt [new] is said of it too ("acute on chronic", "enlarging chronic")."""
    placement = _generic_phrases().get(_key(term))
    if placement is None:
        return meaning
    before = [w.lower() for w in re.findall(r"[\w-]+", clause_before)]
    # Within the phrase's own noun phrase: "acute sinusitis and a lacunar infarct" is no acute infarct.
    joined = [k for k, w in enumerate(before) if w in _JOINING_WORDS]
    own = before[joined[-1] + 1 :] if joined else before
    # Its own old word: "stable emphysema and aortic dissection" is a new dissection.
    old = placement.old & set(own[-_OLD_REACH:]) or (
        placement.old_after is not None and placement.old_after.search(after)
    )
    if old and not said_new(f"{' '.join(own)} {term} {after}"):
        if not meaning.critical:
            return meaning
        return replace(_by_anatomy(placement, meaning, sentence, where, regions, own), critical=False)
    return _by_anatomy(placement, meaning, sentence, where, regions, own)


def _own_after(text: str, end: int, later: list[re.Match[str]]) -> str:
    """The words after a finding that are still about it: up to the next finding, or to the word
    joining that one on ("chronic right subdural hematoma and acute left epidural hematoma")."""
    if not later:
        return text[end:]
    join = _JOINING.search(text[end : later[0].start()])
    return text[end : later[0].start()][: join.start() if join else None]


def _by_anatomy(
    placement: _Placement,
    meaning: Meaning,
    sentence: str,
    where: str,
    regions: frozenset[str],
    own: list[str],
) -> Meaning:
    if placement.new is not None and placement.new[1] & set(own[-_NEW_REACH:]):
        return placement.new[0]
    for text in (sentence, where):
        for other, words in placement.elsewhere:
            if words.search(text):
                return other
        if placement.anatomy is not None and placement.anatomy.search(text):
            return meaning
    studied = regions - {"general"}
    if placement.otherwise is not None and studied and not studied & placement.regions:
        return placement.otherwise
    return meaning


def _side_near(text: str, start: int, end: int, clause: tuple[int, int]) -> str | None:
    """Laterality of a finding: the side word closest before it in its clause, else just after it."""
    before = [m for m in _SIDE.finditer(text, clause[0], start)]
    if before:
        word = before[-1].group(1).lower()
    else:
        # "There is a small pleural effusion on the right."
        after = _SIDE.search(text, end, clause[1])
        if after is not None:
            word = after.group(1).lower()
        else:
            # "in the right MCA territory, consistent with acute infarct": the side named earlier.
            earlier = list(_SIDE.finditer(text, 0, start))
            if not earlier:
                return None
            word = earlier[-1].group(1).lower()
    return "bilateral" if word in ("bilateral", "bilaterally", "both") else word


def analyze(
    sentence: str, *, variants: bool = False, where: str = "", regions: frozenset[str] = frozenset()
) -> Analysis:
    """Findings in one sentence. With `variants`, also close variants of critical terms that the
    lexicon does not list (see `critical_variants`), marked `variant=True`. `where` (the organ the
    sentence is filed under) and `regions` (the study's body regions) place generic phrases of
    critical findings (`_in_place`)."""
    pattern, table = _lexicon_pattern()
    text = sentence
    pseudo = [(m.start(), m.end()) for m in _PSEUDO_RE.finditer(text)]

    def in_pseudo(pos: int) -> bool:
        return any(a <= pos < b for a, b in pseudo)

    clauses = _clauses(text)

    def mention(
        start: int, end: int, term: str, concept: str, weight: int, critical: bool, variant: bool
    ) -> Mention:
        clause = next((c for c in clauses if c[0] <= start < c[1]), (0, len(text)))
        negated = False
        qualified = False
        for trig in _PRE_RE.finditer(text, clause[0], start):
            if not in_pseudo(trig.start()):
                negated = True
                qualified = bool(_QUALIFIERS.search(text, trig.start(), start))
        for trig in _POST_RE.finditer(text, end, clause[1]):
            if not in_pseudo(trig.start()):
                negated = True
        return Mention(
            term=term,
            concept=concept,
            negated=negated,
            side=_side_near(text, start, end, clause),
            weight=weight,
            critical=critical,
            start=start,
            qualified=qualified,
            variant=variant,
        )

    mentions: list[Mention] = []
    spans: list[tuple[int, int]] = []  # critical terms as written: no variant overlaps them
    known: list[tuple[int, int]] = []  # every finding as written: no variant lies inside one
    matches = list(pattern.finditer(text))
    for index, match in enumerate(matches):
        start, end = match.span()
        listed = Meaning(*_lookup(match.group(), table))
        if listed.critical:  # placed elsewhere or not, no variant is read into it
            spans.append((start, end))
        known.append((start, end))
        clause_start = next((c[0] for c in clauses if c[0] <= start < c[1]), 0)
        meaning = _in_place(
            match.group(),
            listed,
            text,
            where,
            regions,
            text[clause_start:start],
            _own_after(text, end, matches[index + 1 :]),
        )
        concept, weight, critical = meaning.concept, meaning.weight, meaning.critical
        mentions.append(mention(start, end, match.group().lower(), concept, weight, critical, False))
    if variants:
        for start, end, concept in critical_variants(text, taken=spans, known=known):
            _, weight, _ = next(v for v in table.values() if v[0] == concept)
            mentions.append(mention(start, end, text[start:end], concept, weight, True, True))
        mentions.sort(key=lambda m: m.start)
    affirmed = [m for m in mentions if not m.negated]
    normal = not affirmed and (bool(_NORMAL_WORDS.search(text)) or bool(mentions))
    return Analysis(text=text, mentions=tuple(mentions), normal=normal)


# "The right kidney measures 10.5 cm.", "The common bile duct measures 4 mm.": a named structure's
# size, routine biometry (an abnormality would have a word of the lexicon: "the lesion measures").
# Dictated as a label and the figure too: "Right kidney: 11.2 cm.", "Common bile duct: 4 mm."
# A side and a structure's name of one or two words ("Right kidney measures 10.5 cm."), or a label
# and the size alone ("Right kidney: 11.2 cm without hydronephrosis."); "Left kidney: 2 cm
# echogenic focus." and "Right adnexal complex cystic structure measuring 4 cm." are findings.
_BIOMETRY = re.compile(
    r"^the\b[^.;]*?\bmeasur(?:es|ed|ing)\b|^(?:right|left)\s+\w+(?:\s+\w+)?\s+measur(?:es|ed)\b|"
    r"^[a-z][a-z ]{0,40}:\s*\d+(?:\.\d+)?(?:\s*x\s*\d+(?:\.\d+)?)*\s*(?:cm|mm)\b"
    r"(?=\s*(?:$|[.,;]|in\b|with\s+no\b|without\b|and\b))",
    re.I,
)


def measurement_only_positive(sentence: str) -> bool:
    """A measured structure with no abnormality word ("2 cm hypoechoic focus") is still a finding;
    the size of a named structure ("The spleen measures 11 cm.") is not."""
    return (
        bool(_MEASURE.search(sentence))
        and not _NORMAL_WORDS.search(sentence)
        and not _BIOMETRY.search(sentence)
    )


# A sentence of Findings that is about the study or the patient, not a finding: "Status post
# cholecystectomy.", "Comparison is made to ...", "Evaluation is limited by motion."
_NOT_A_FINDING = re.compile(
    r"^(?:status post|s/p|post|history|comparison|compared|technique|the study|this study|images?|"
    r"evaluation|assessment|limited|please|recommend\w*|suggest\w*|follow-up|followup|consider|"
    r"correlat\w*|clinical|note|addendum|the patient|patient|exam|examination)\b",
    re.I,
)


# ... or about how the images came out, or what the study itself did ("distended with oral contrast").
_ABOUT_THE_IMAGES = re.compile(
    r"\b(?:image quality|noise|artifacts?|habitus|motion|with (?:oral |rectal |intravenous )?contrast)\b",
    re.I,
)


def unlisted_finding(analysis: Analysis) -> bool:
    """A dictated sentence that names no finding the lexicon knows, yet says something is wrong
    ("Widened mediastinum.", "Hyperdense blood in the left sylvian fissure."): a word of
    findings_words.txt [abnormal], nothing normal, no denial, and about the images rather than the
    study or the patient. The impression keeps it: "No acute abnormality" would contradict it."""
    text = analysis.text.strip()
    if analysis.mentions or analysis.normal or _NORMAL_WORDS.search(text) or not _ABNORMAL_WORDS.search(text):
        return False
    if _PRE_RE.search(text) or _POST_RE.search(text) or COMMUNICATION.search(text):
        return False
    return not _NOT_A_FINDING.search(text) and not _ABOUT_THE_IMAGES.search(text)


def concepts_match(a: str, b: str) -> bool:
    """ "effusion" matches "pleural effusion"; "pleural effusion" does not match "pericardial effusion"."""
    if a == b:
        return True
    wa, wb = set(a.split()), set(b.split())
    return wa <= wb or wb <= wa


def sides_compatible(a: str | None, b: str | None) -> bool:
    return a is None or b is None or a == b or "bilateral" in (a, b)


# Denials that cover the whole report (data/findings_scope.tsv): the concepts that contradict each.
_REPORT_WIDE = {
    denied: frozenset(c.strip() for c in affirmed.split(","))
    for denied, affirmed in data_rows("findings_scope.tsv", 2)
}


def contradicts_anywhere(denied: Mention, affirmed: Mention, affirmed_in: str) -> bool:
    """Whether a finding affirmed anywhere in the findings (in the sentence `affirmed_in`)
    contradicts this denial, whatever organ each sentence is filed under: "no acute intracranial
    hemorrhage" (brain) against a subdural hematoma (extra-axial spaces), "no mass effect" against a
    midline shift. A qualified denial ("no acute ...") stands beside a finding said to be old, and
    a denial of one place ("no intraventricular hemorrhage") is no report-wide one."""
    return (
        not _located(denied)
        and affirmed.concept in _REPORT_WIDE.get(denied.concept, frozenset())
        and sides_compatible(denied.side, affirmed.side)
        and not old_beside_acute(denied, affirmed_in)
    )


def _located(mention: Mention) -> bool:
    """A phrase that names where its concept is ("intraventricular hemorrhage", "bowel wall
    thickening"), not the concept itself or one of its generic words ("hemorrhage")."""
    key = _key(mention.term)
    return key != mention.concept and key not in _generic_phrases() and key in _placed_phrases()


@lru_cache(maxsize=1)
def _placed_phrases() -> frozenset[str]:
    """Phrases that are another phrase of their concept with a place before it ("intraventricular
    hemorrhage", "bowel wall thickening"); a synonym of other words ("free fluid" of ascites) is not."""
    phrases: dict[str, set[str]] = {}
    for term in findings_lexicon():
        phrases.setdefault(term.concept, {term.concept}).add(_key(term.phrase))
    return frozenset(
        phrase
        for group in phrases.values()
        for phrase in group
        if any(phrase.endswith(" " + o) for o in group)
    )


def _elsewhere(denied: Mention, affirmed: Mention) -> bool:
    """Two places of one concept: "no intraventricular hemorrhage" says nothing of a parenchymal one,
    "no bowel wall thickening" nothing of the bladder's."""
    return _located(denied) and _located(affirmed) and _key(denied.term) != _key(affirmed.term)


def denial_contradicted(denied: Mention, denial_text: str, affirmed: Mention, affirmed_text: str) -> bool:
    """Whether a finding affirmed in one sentence contradicts a denial in another, wherever each is
    filed: the same finding or a narrower one, sides that can meet; a qualified denial ("no acute
    ...") only by a finding with its qualifier, and not by a finding said to be old."""
    return (
        (not denied.qualified or qualifier_shared(denial_text, affirmed_text))
        and not old_beside_acute(denied, affirmed_text)
        and _covers(denied.concept, affirmed, affirmed_text)
        and sides_compatible(denied.side, affirmed.side)
        and not _elsewhere(denied, affirmed)
    )


def _covers(denied: str, affirmed: Mention, affirmed_text: str) -> bool:
    """A denial covers the finding it names and narrower ones ("no effusion" a pleural effusion); a
    narrower denial covers a wider finding only where its narrower words are said of the finding
    ("no acute infarct" an "acute left MCA infarct", but "no evidence of rupture" no aneurysm)."""
    if not concepts_match(denied, affirmed.concept):
        return False
    extra = set(denied.split()) - set(affirmed.concept.split())
    said_of_it = affirmed_text[max(0, affirmed.start - 40) : affirmed.start + len(affirmed.term)]
    return all(re.search(rf"\b{re.escape(word[:5])}", said_of_it, re.I) for word in extra)


# Who was told what, and when ("Findings were discussed with Dr. Smith at 9:15 PM."): a sentence
# about the report, not about an organ.
COMMUNICATION = re.compile(
    r"\b(?:discussed with|communicated (?:to|with)|called to|notified|relayed to|conveyed to|read back|"
    r"spoke (?:with|to)|reported to)\b",
    re.I,
)


# ... not yet done: "Recommend this be discussed with the stroke team", "Please notify Dr. Lee".
_NOT_YET_TOLD = re.compile(
    r"\b(?:recommend\w*|suggest\w*|advis\w*|should|please|will|would|to be|needs? to|consider\w*|"
    r"request\w*|attempt\w*|unable|could not|not (?:yet|been)|pending)\b",
    re.I,
)


def communication_recorded(sentence: str) -> bool:
    """A sentence that records a result was told to someone ("Findings were discussed with Dr. Smith
    at 9:15 PM."), not one that asks for it to be ("Recommend this be discussed with the stroke
    team.") or says it could not be."""
    told = COMMUNICATION.search(sentence)
    if told is None:
        return False
    # Within its own clause: "Unable to reach Dr. X; discussed with Dr. Y." was told.
    clause = re.split(r"[,;:]", sentence[: told.start()])[-1]
    return not _NOT_YET_TOLD.search(clause)


def says_normal(analysis: Analysis) -> bool:
    """A statement that something is normal ("The liver is normal in size", "The calvarium is
    intact", "The appendix is normal"), not only a denial of named findings."""
    return bool(_NORMAL_WORDS.search(analysis.text)) and not analysis.positive


def said_to_be_old(sentence: str) -> bool:
    return bool(_NOT_ACUTE.search(sentence))


def qualifier_shared(denial_sentence: str, affirming_sentence: str) -> bool:
    """Whether a qualified denial ("no acute subdural hematoma") is contradicted all the same: the
    affirming sentence carries one of its qualifiers ("acute left subdural hematoma"). "No new
    nodule" and "a stable nodule" may both stand."""
    qualifiers = {m.group().lower() for m in _QUALIFIERS.finditer(denial_sentence)}
    return any(m.group().lower() in qualifiers for m in _QUALIFIERS.finditer(affirming_sentence))


def old_beside_acute(denied: Mention, affirming_sentence: str) -> bool:
    """ "No acute infarct" and "an old left MCA infarct" may both stand: the denial is of an acute
    finding (qualified, or "acute" in its term) and the finding is said to be old."""
    acute = denied.qualified or "acute" in denied.concept.split() or "acute" in denied.term.split()
    return acute and bool(_NOT_ACUTE.search(affirming_sentence))
