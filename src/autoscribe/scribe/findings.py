"""Findings in sentences: abnormality terms, NegEx-style negation, laterality, weight, criticality.

NegEx (Chapman et al., 2001) in its simple form: a negation trigger ("no", "without", "negative
for") negates the terms after it up to a scope terminator ("but", "however", ";"); post-triggers
("is not seen", "has resolved") negate the terms before them; pseudo-triggers ("no change in",
"not only") look like negations but are not. The impression generator and the pre-sign checks
both read sentences through `analyze`.
"""

from __future__ import annotations

import difflib
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

# (phrase, concept, weight, critical). Concepts group synonyms; weight orders the impression.
_LEXICON: list[tuple[str, str, int, bool]] = []


def _add(concept: str, weight: int, critical: bool, *phrases: str) -> None:
    for phrase in phrases:
        _LEXICON.append((phrase, concept, weight, critical))


# Critical findings: call the referrer, suggest isCritical.
_add("pneumothorax", 100, True, "pneumothorax", "pneumothoraces", "tension pneumothorax")
_add(
    "intracranial hemorrhage",
    100,
    True,
    "intracranial hemorrhage",
    "intraparenchymal hemorrhage",
    "intraventricular hemorrhage",
    "parenchymal hemorrhage",
    "hemorrhage",
    "hemorrhages",
    "bleed",
    "hemorrhagic transformation",
)
_add("subdural hematoma", 100, True, "subdural hematoma", "subdural hemorrhage", "subdural collection")
_add("epidural hematoma", 100, True, "epidural hematoma")
_add("subarachnoid hemorrhage", 100, True, "subarachnoid hemorrhage")
_add(
    "pulmonary embolism",
    100,
    True,
    "pulmonary embolism",
    "pulmonary emboli",
    "pulmonary embolus",
    "saddle embolus",
    "embolus",
    "emboli",
    "embolism",
    "filling defect",
    "filling defects",
)
_add("aortic dissection", 100, True, "aortic dissection", "dissection", "intimal flap", "intramural hematoma")
_add(
    "free air",
    100,
    True,
    "free air",
    "free intraperitoneal air",
    "pneumoperitoneum",
    "extraluminal air",
    "extraluminal gas",
)
_add("midline shift", 95, True, "midline shift")
_add(
    "herniation",
    95,
    True,
    "uncal herniation",
    "subfalcine herniation",
    "tonsillar herniation",
    "transtentorial herniation",
)
_add(
    "acute infarct",
    90,
    True,
    "acute infarct",
    "acute infarction",
    "acute stroke",
    "restricted diffusion",
    "large vessel occlusion",
)
_add("perforation", 95, True, "perforation", "perforated")
_add("torsion", 95, True, "torsion")
_add("cord compression", 95, True, "cord compression")
_add("active extravasation", 100, True, "active extravasation", "extravasation")
_add("ruptured aneurysm", 100, True, "ruptured aneurysm", "aneurysm rupture", "rupture")
_add("pneumatosis", 95, True, "pneumatosis", "portal venous gas")
_add("ectopic pregnancy", 100, True, "ectopic pregnancy")
# Further findings that ACR-style critical result lists name (communicate now).
_add("intussusception", 95, True, "intussusception")
_add("volvulus", 95, True, "volvulus")
_add("bowel ischemia", 95, True, "mesenteric ischemia", "bowel ischemia")
_add("hemoperitoneum", 95, True, "hemoperitoneum")
_add("epidural abscess", 95, True, "epidural abscess")
_add("venous sinus thrombosis", 95, True, "venous sinus thrombosis", "cerebral venous thrombosis")
# Significant findings.
_add(
    "mass",
    60,
    False,
    "mass",
    "masses",
    "neoplasm",
    "tumor",
    "malignancy",
    "metastasis",
    "metastases",
    "metastatic disease",
)
_add("fracture", 60, False, "fracture", "fractures", "fractured")
_add("obstruction", 60, False, "obstruction", "bowel obstruction", "small bowel obstruction")
_add("appendicitis", 60, False, "appendicitis")
_add("cholecystitis", 55, False, "cholecystitis")
_add("diverticulitis", 55, False, "diverticulitis")
_add("pancreatitis", 55, False, "pancreatitis")
_add("abscess", 55, False, "abscess", "abscesses")
_add(
    "pneumonia",
    50,
    False,
    "pneumonia",
    "consolidation",
    "consolidations",
    "airspace disease",
    "airspace opacity",
    "airspace opacities",
    "infiltrate",
)
_add("hydronephrosis", 50, False, "hydronephrosis", "hydroureter", "hydroureteronephrosis")
_add(
    "tear",
    50,
    False,
    "tear",
    "tears",
    "torn",
    "rupture of the",
    "slap tear",
    "bucket handle tear",
    # A torn tendon or ligament "ruptures" too; that is not a ruptured aneurysm.
    "acl rupture",
    "pcl rupture",
    "ligament rupture",
    "tendon rupture",
    "achilles rupture",
)
_add("aneurysm", 50, False, "aneurysm", "aneurysmal")
_add("infarct", 50, False, "infarct", "infarcts", "infarction")
_add("hematoma", 50, False, "hematoma", "hematomas")
_add("thrombus", 50, False, "thrombus", "thrombosis", "clot")
_add("edema", 40, False, "pulmonary edema", "edema", "vasogenic edema", "marrow edema", "bone marrow edema")
_add("mass effect", 60, False, "mass effect")
_add(
    "lymphadenopathy",
    40,
    False,
    "lymphadenopathy",
    "adenopathy",
    "enlarged lymph node",
    "enlarged lymph nodes",
)
_add("effusion", 40, False, "effusion", "effusions")
_add("pleural effusion", 40, False, "pleural effusion", "pleural effusions")
_add("pericardial effusion", 40, False, "pericardial effusion")
_add("joint effusion", 25, False, "joint effusion")
_add("ascites", 35, False, "ascites", "free fluid")
_add("cardiomegaly", 35, False, "cardiomegaly", "enlarged heart")
_add("hydrocephalus", 60, False, "hydrocephalus")
_add("stenosis", 40, False, "stenosis", "narrowing")
_add("dilatation", 35, False, "dilatation", "dilation", "dilated", "ductal dilatation", "biliary dilatation")
_add("contusion", 40, False, "contusion", "contusions", "bone bruise")
_add(
    "calcifications",
    30,
    False,
    "suspicious calcifications",
    "pleomorphic calcifications",
    "grouped calcifications",
)
_add("architectural distortion", 50, False, "architectural distortion")
_add("asymmetry", 30, False, "asymmetry", "focal asymmetry", "developing asymmetry")
_add("splenomegaly", 30, False, "splenomegaly")
_add("hepatomegaly", 30, False, "hepatomegaly")
_add("wall thickening", 35, False, "wall thickening", "bowel wall thickening", "gallbladder wall thickening")
_add("sludge", 20, False, "sludge")
_add(
    "opacity",
    35,
    False,
    "opacity",
    "opacities",
    "ground-glass opacity",
    "ground glass opacity",
    "ground-glass opacities",
    "ground glass opacities",
)
_add("white matter lesions", 25, False, "white matter lesions", "white matter hyperintensities")
_add("hyperintensity", 25, False, "hyperintensity", "hyperintensities")
_add("enhancement", 35, False, "enhancement", "enhancing")
_add("sinus disease", 10, False, "mucosal thickening", "sinusitis", "air-fluid level", "air fluid level")
# Lesions with a size.
_add("nodule", 30, False, "nodule", "nodules", "pulmonary nodule", "pulmonary nodules")
_add("lesion", 30, False, "lesion", "lesions", "hypodensity", "hypodensities", "hypodense lesion")
_add("cyst", 15, False, "cyst", "cysts", "cystic lesion", "baker cyst", "popliteal cyst")
_add(
    "stone",
    35,
    False,
    "stone",
    "stones",
    "calculus",
    "calculi",
    "nephrolithiasis",
    "urolithiasis",
    "ureterolithiasis",
)
_add("gallstones", 25, False, "gallstone", "gallstones", "cholelithiasis")
# Minor findings: reported, but last in the impression.
_add("atelectasis", 15, False, "atelectasis", "atelectatic")
_add("emphysema", 20, False, "emphysema")
_add(
    "degenerative change",
    10,
    False,
    "degenerative",
    "degenerative changes",
    "degenerative disc disease",
    "spondylosis",
    "osteoarthritis",
    "arthrosis",
    "osteophyte",
    "osteophytes",
    "disc bulge",
    "disc osteophyte complex",
)
_add("disc herniation", 35, False, "disc protrusion", "disc herniation", "disc extrusion")
_add(
    "chondromalacia",
    20,
    False,
    "chondromalacia",
    "chondrosis",
    "cartilage loss",
    "chondral defect",
    "chondral fissuring",
)
_add("tendinosis", 20, False, "tendinosis", "tendinopathy")
_add("bursitis", 15, False, "bursitis")
_add(
    "atherosclerosis",
    10,
    False,
    "atherosclerotic",
    "atherosclerosis",
    "atherosclerotic calcifications",
    "vascular calcifications",
)
_add("diverticulosis", 10, False, "diverticulosis", "diverticula")
_add("steatosis", 15, False, "steatosis", "fatty infiltration", "hepatic steatosis", "fatty liver")
_add("granuloma", 5, False, "granuloma", "granulomas", "calcified granuloma")
_add("scarring", 10, False, "scarring", "scar", "fibrosis", "fibrotic")
_add("microvascular disease", 15, False, "microvascular ischemic", "microvascular", "small vessel ischemic")
_add("volume loss", 10, False, "volume loss", "atrophy")
_add("bronchiectasis", 20, False, "bronchiectasis", "bronchial wall thickening")
_add("hernia", 15, False, "hernia", "hiatal hernia")
_add("fibroid", 15, False, "fibroid", "fibroids", "leiomyoma")
_add("adenoma", 20, False, "adenoma", "microadenoma", "macroadenoma")
_add("hemangioma", 10, False, "hemangioma")
_add("meniscal extrusion", 20, False, "extrusion")
_add("subluxation", 30, False, "subluxation", "dislocation", "dislocated")
_add("sprain", 30, False, "sprain")
_add(
    "postsurgical change",
    5,
    False,
    "postsurgical",
    "post-surgical",
    "cholecystectomy",
    "hysterectomy",
    "prostatectomy",
)
_add("line", 5, False, "endotracheal tube", "enteric tube", "picc", "central venous catheter", "pacemaker")

_PRE_TRIGGERS = (
    "no evidence of",
    "no evidence for",
    "no signs of",
    "no sign of",
    "no findings of",
    "no definite",
    "no suspicious",
    "no new",
    "no acute",
    "negative for",
    "free of",
    "absence of",
    "without evidence of",
    "without",
    "no",
    "not",
    "nor",
    "neither",
    "rules out",
    "ruled out",
    "resolution of",
    "resolved",
    "no longer",
    "there is no",
    "there are no",
    "without any",
    "lack of",
    "never",
)
_POST_TRIGGERS = (
    "is not seen",
    "are not seen",
    "is not identified",
    "are not identified",
    "not identified",
    "not seen",
    "is absent",
    "are absent",
    "has resolved",
    "have resolved",
    "is not present",
    "are not present",
    "was not seen",
    "were not seen",
    "is excluded",
    "are excluded",
    "ruled out",
    "not demonstrated",
    "is not demonstrated",
    "not visualized",
    "is not visualized",
    "unlikely",
    "has been excluded",
)
_PSEUDO = (
    "no change",
    "no significant change",
    "no interval change",
    "not only",
    "no increase",
    "without change",
    "not well",
    "no significant interval change",
    "no substantial change",
    "not changed",
    "unchanged",
    "no appreciable change",
    "not significantly changed",
    "not been",
    "without significant change",
    "no significant interval",
    "does not",
    "not extend",
    "without contrast",
)
_TERMINATORS = (
    "but",
    "however",
    "although",
    "though",
    "except",
    "apart from",
    "aside from",
    "which",
    "whereas",
    "with the exception",
    "yet",
    "still",
    "otherwise",
    "there is",
    "there are",
    "is seen",
    "are seen",
    "is noted",
    "are noted",
    "is present",
    "are present",
    "is again",
    "are again",
    "demonstrates",
    "shows",
    "with",
)
_NORMAL_WORDS = re.compile(
    r"\b(normal|unremarkable|clear|intact|patent|preserved|within normal limits|no acute|negative|"
    r"symmetric|maintained|well aerated|unchanged|stable)\b",
    re.I,
)
_QUALIFIERS = re.compile(
    r"\b(new|additional|other|further|suspicious|acute|significant|large|displaced|enlarged|aggressive|"
    r"worrisome|dominant|discrete|drainable|residual|recurrent)\b",
    re.I,
)
_SIDE = re.compile(r"\b(right|left|bilateral|bilaterally|both)\b", re.I)
_MEASURE = re.compile(r"\b\d+(?:\.\d+)?(?: x \d+(?:\.\d+)?)* ?(?:cm|mm)\b")
_SIZE_UP = re.compile(
    r"\b(large|moderate|severe|extensive|massive|marked|significant|new|acute|enlarging|"
    r"increased|increasing|worsening|complete|full[- ]thickness|displaced|tension)\b",
    re.I,
)
_SIZE_DOWN = re.compile(
    r"\b(small|mild|minimal|tiny|trace|subtle|minor|chronic|old|healed|stable|"
    r"unchanged|incidental|benign|punctate|probable|possible)\b",
    re.I,
)


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
    table = {phrase: (concept, weight, critical) for phrase, concept, weight, critical in _LEXICON}
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


_PRE_RE = _phrase_regex(_PRE_TRIGGERS)
_POST_RE = _phrase_regex(_POST_TRIGGERS)
_PSEUDO_RE = _phrase_regex(_PSEUDO)
_TERM_RE = _phrase_regex(_TERMINATORS)


def _clauses(text: str) -> list[tuple[int, int]]:
    """Spans between scope terminators (conjunctions and ";")."""
    cuts = [0]
    for match in re.finditer(r";|:|\.(?!\d)", text):
        cuts.append(match.end())
    for match in _TERM_RE.finditer(text):
        cuts.append(match.start())
    cuts.append(len(text))
    cuts = sorted(set(cuts))
    return [(a, b) for a, b in itertools.pairwise(cuts) if b > a]


def _lookup(term: str, table: dict[str, tuple[str, int, bool]]) -> tuple[str, int, bool]:
    key = re.sub(r"[\s-]+", " ", term.lower())
    key = re.sub(r"\bhaem", "hem", re.sub(r"\boedema", "edema", re.sub(r"\boesoph", "esoph", key)))
    if key in table:
        return table[key]
    for phrase, value in table.items():
        if re.sub(r"[\s-]+", " ", phrase) == key or phrase.replace("-", "") == key.replace(" ", ""):
            return value
    return key, 20, False


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


def analyze(sentence: str, *, variants: bool = False) -> Analysis:
    """Findings in one sentence. With `variants`, also close variants of critical terms that the
    lexicon does not list (see `critical_variants`), marked `variant=True`."""
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
    for match in pattern.finditer(text):
        start, end = match.span()
        concept, weight, critical = _lookup(match.group(), table)
        if critical:
            spans.append((start, end))
        mentions.append(mention(start, end, match.group().lower(), concept, weight, critical, False))
    if variants:
        for start, end, concept in critical_variants(text, taken=spans):
            _, weight, _ = next(v for v in table.values() if v[0] == concept)
            mentions.append(mention(start, end, text[start:end], concept, weight, True, True))
        mentions.sort(key=lambda m: m.start)
    affirmed = [m for m in mentions if not m.negated]
    normal = not affirmed and (bool(_NORMAL_WORDS.search(text)) or bool(mentions))
    return Analysis(text=text, mentions=tuple(mentions), normal=normal)


@lru_cache(maxsize=1)
def _critical_keys() -> list[tuple[str, str, str, tuple[str, ...]]]:
    """(phonetic key, letters, concept, words) of every critical phrase long enough to tell apart."""
    from autoscribe.scribe.lexicon import phonetic_key

    out = []
    for phrase, concept, _weight, critical in _LEXICON:
        letters = re.sub(r"[^a-z]", "", phrase.lower())
        if critical and len(letters) >= 8:
            out.append(
                (phonetic_key(letters), letters, concept, tuple(re.findall(r"[a-z]+", phrase.lower())))
            )
    return out


_SPAN_WORD = re.compile(r"[A-Za-z]+")
# Never part of a variant: negations and glue, and words that carry a different finding.
_NOT_IN_VARIANT = frozenset(
    (
        "no not without nor or with of the a is are was were in on at to for by as there that "
        "left right bilateral small large"
    )
    .strip()
    .split(" ")
)
_NOT_AT_EDGE = frozenset({"and", "an", "this"})  # "pulmonary and bolus", "aortic this section"


def critical_variants(text: str, *, taken: Sequence[tuple[int, int]] = ()) -> list[tuple[int, int, str]]:
    """(start, end, concept) of runs of one to four words that sound like a critical term but are
    not it: "new motor thorax" (pneumothorax), "pulmonary and bolus" (pulmonary embolus), "sub
    dural hematoma". A single real English word never counts ("portion" is not torsion): the
    speech model turns a term it does not know into several words, or into a non-word."""
    from autoscribe.scribe.lexicon import _distance, _english, phonetic_key

    words = list(_SPAN_WORD.finditer(text))
    english = _english()
    out: list[tuple[int, int, str]] = []
    i = 0
    while i < len(words):
        found: tuple[int, float, int, int, str] | None = None  # (distance, -similarity, start, end, concept)
        for size in (1, 2, 3, 4):
            if i + size > len(words):
                continue
            run = words[i : i + size]
            start, end = run[0].start(), run[-1].end()
            if any(a < end and start < b for a, b in taken):
                continue
            if not re.fullmatch(r"[A-Za-z \t-]+", text[start:end]):
                continue  # a sentence or clause boundary inside
            lows = [w.group().lower() for w in run]
            if any(w in _NOT_IN_VARIANT for w in lows) or lows[0] in _NOT_AT_EDGE or lows[-1] in _NOT_AT_EDGE:
                continue
            if size == 1 and lows[0] in english:
                continue
            joined = "".join(lows)
            key = phonetic_key(joined)
            if len(key) < 4:
                continue
            for ckey, letters, concept, phrase_words in _critical_keys():
                if abs(len(joined) - len(letters)) > 0.25 * len(letters):
                    continue
                limit = 1 if len(ckey) <= 5 else 2
                distance = _distance(key, ckey, limit)
                if distance > limit:
                    continue
                similarity = difflib.SequenceMatcher(None, joined, letters).ratio()
                if similarity < 0.6:
                    continue
                # Words heard right ("acute", "pulmonary") prove nothing: what differs must sound alike
                # by itself ("and bolus" / "embolus"), and is never one real word ("acute distal").
                rest = [w for w in lows if w not in phrase_words]
                if len(rest) < len(lows):
                    target = "".join(w for w in phrase_words if w not in lows)
                    if not rest or not target or (len(rest) == 1 and rest[0] in english):
                        continue
                    a, b = phonetic_key("".join(rest)), phonetic_key(target)
                    if _distance(a, b, 2) > (1 if len(b) <= 4 else 2):
                        continue
                    if difflib.SequenceMatcher(None, "".join(rest), target).ratio() < 0.6:
                        continue
                candidate = (distance, -similarity, start, end, concept)
                if found is None or candidate[:2] < found[:2]:
                    found = candidate
        if found:
            out.append(found[2:])
            i += len(_SPAN_WORD.findall(text[found[2] : found[3]]))
        else:
            i += 1
    return out


def measurement_only_positive(sentence: str) -> bool:
    """A measured structure with no abnormality word ("2 cm hypoechoic focus") is still a finding."""
    return bool(_MEASURE.search(sentence)) and not _NORMAL_WORDS.search(sentence)


def concepts_match(a: str, b: str) -> bool:
    """ "effusion" matches "pleural effusion"; "pleural effusion" does not match "pericardial effusion"."""
    if a == b:
        return True
    wa, wb = set(a.split()), set(b.split())
    return wa <= wb or wb <= wa


def sides_compatible(a: str | None, b: str | None) -> bool:
    return a is None or b is None or a == b or "bilateral" in (a, b)
