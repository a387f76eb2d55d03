"""Spelling correction of medical words against the domain vocabulary.

A small speech model writes rare radiology words as non-words ("tenosis", "poplidal",
"calmerium"). Each word of the transcript that is neither in the domain vocabulary (the templates'
words, the findings lexicon) nor a real word (pyspellchecker's English dictionary and
data/radiology_words.txt) and that is close in spelling to one vocabulary word is replaced by it.
Real words are never changed ("spinal canal" must not become "signal cranial"), nor are short
words, numbers, negations and
laterality: no correction may change whether something is present or on which side, so a
meaning-carrying prefix is kept ("unobstructing" becomes "nonobstructing", never "obstruction").
A word the model split in two is rejoined when the halves together spell a vocabulary word
("micro adenoma", "cardiomegaly distinal" for cardiomediastinal), but two real words never are.
A word made of a radiology prefix and a known root ("suprapatellar", "extrahepatic", "paraspinal")
is a real word the model heard right, though no list names it: it is never replaced by a listed
neighbour ("suprasellar", "intrahepatic").
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterable
from functools import lru_cache

from autoscribe.scribe.normalize import OPEN_WORDS
from autoscribe.scribe.phonetics import edit_distance, phonetic_key
from autoscribe.scribe.templates import BASE_VOCABULARY, BUILTIN_MACROS, BUILTIN_TEMPLATES
from autoscribe.scribe.wordlists import (
    american_spelling,
    data_sections,
    findings_lexicon,
    load_lexicon,
    medical_words,
    real_words,
)

# The word lists are data (data/vocabulary_words.txt): never-changed words, everyday report words,
# general radiology words.
_WORDS = data_sections("vocabulary_words.txt")
_PROTECTED = frozenset(_WORDS["protected"])
_COMMON = _WORDS["common"]
RADIOLOGY_WORDS = _WORDS["radiology"]
# Longest first, so that "postero" is tried before "post".
_COMPOUND_PREFIXES = tuple(sorted(_WORDS["prefixes"], key=len, reverse=True))
# Prefixes that carry meaning: a correction keeps them ("unobstructing" may become
# "nonobstructing", never "obstruction"; "hyperintense" never becomes "hypointense").
_MEANING_PREFIXES = (
    ("non", "un"),
    ("mal",),
    ("hypo",),
    ("hyper",),
    ("intra",),
    ("extra",),
    ("supra",),
    ("infra",),
    ("sub",),
    ("pre",),
    ("post",),
    ("anti",),
    ("peri",),
    # Blood, pus, water, air: "hemopericardium" is not the pericardium, "pyonephrosis" not
    # hydronephrosis.
    ("hemo", "hemato", "haemo", "haemato"),
    ("pyo",),
    ("hydro",),
    ("pneumo",),
)


def _words(texts: Iterable[str]) -> set[str]:
    out: set[str] = set()
    for text in texts:
        out.update(w for w in re.findall(r"[a-z]+", text.lower()) if len(w) >= 3)
    return out


def _compounds(texts: Iterable[str]) -> dict[str, str]:
    """Hyphenated words by their letters alone: "extraaxial" → "extra-axial"."""
    out: dict[str, str] = {}
    for text in texts:
        for word in re.findall(r"[a-z]+(?:-[a-z]+)+", text.lower()):
            out[word.replace("-", "")] = word
    return out


def _domain_texts() -> list[str]:
    texts: list[str] = [*BASE_VOCABULARY, *BUILTIN_MACROS.values(), *_COMMON]
    texts += RADIOLOGY_WORDS
    texts += [term.phrase for term in findings_lexicon()]
    # The sound pass's radiology terms are words too ("peroneal", "loculated").
    texts += [term.text for term in load_lexicon().terms]
    for template in BUILTIN_TEMPLATES:
        texts += [template.name, *template.terms, *template.match]
        for section in template.sections:
            texts += [section.title, section.default]
            for organ in section.organs:
                texts += [
                    organ.title,
                    organ.normal,
                    organ.normal_male or "",
                    organ.normal_female or "",
                    *organ.keywords,
                ]
    return texts


@lru_cache(maxsize=1)
def domain_vocabulary() -> frozenset[str]:
    """Every word of the built-in templates, the findings lexicon, the prompt and RADIOLOGY_WORDS."""
    return frozenset(_words(_domain_texts()))


@lru_cache(maxsize=1)
def domain_compounds() -> dict[str, str]:
    return _compounds(_domain_texts())


_NEGATING = ("non", "mal")


def meaning_prefix(word: str) -> str:
    """The meaning-carrying prefix group a word starts with ("" for none); "un" and "non" are one."""
    for group in _MEANING_PREFIXES:
        if any(word.startswith(p) and len(word) >= len(p) + 3 for p in group):
            return group[0]
    return ""


def _prefix_kept(word: str, target: str) -> bool:
    """A correction keeps the word's prefix; it may add one the model dropped, but never a negation."""
    have, get = meaning_prefix(word), meaning_prefix(target)
    return have == get or (have == "" and get != "non")


def prefix_changed(heard: str, target: str) -> bool:
    """Whether putting `target` for `heard` would change a meaning-carrying prefix: another one
    ("extrahepatic" → intrahepatic, "hypo-" → hyper-), or a negating one dropped or added
    ("malalignment" → alignment, "nonobstructing" → obstructing). A prefix that only sounds like
    the start of the term may go ("anti grade" is antegrade)."""
    have, get = meaning_prefix(heard), meaning_prefix(target)
    return have != get and ((have != "" and get != "") or have in _NEGATING or get in _NEGATING)


# Endings of the anatomical adjectives an English root of a compound may be ("paraspinal",
# "subdermal"): an everyday root ("hypo" + "dents") is a misheard "hypodense", not a compound.
_ADJECTIVE_ENDINGS = ("al", "ar", "ic", "ous", "ary")


def is_compound(word: str, roots: Collection[str], real: Collection[str] = ()) -> bool:
    """A prefix or combining form (data/vocabulary_words.txt [prefixes]) and a root: a vocabulary
    word (`roots`) of 4 letters or more ("suprapatellar", "extrahepatic", "interlobular"), or an
    English adjective of 5 letters or more ("paraspinal", "subdermal"). Such a word is a real one the
    model heard right, not a misspelling of a neighbour; "hypodents" (hypo + dents) is not one."""
    for prefix in _COMPOUND_PREFIXES:
        if word.startswith(prefix):
            rest = word[len(prefix) :]
            # An adverb of such a compound too: "superolaterally", "anteroposteriorly".
            for root in (rest, rest[:-2] if rest.endswith("ly") else ""):
                if len(root) >= 4 and root in roots:
                    return True
                if len(root) >= 5 and root.endswith(_ADJECTIVE_ENDINGS) and root in real:
                    return True
    return False


# Word endings (data/vocabulary_words.txt [endings]): "mammographic" and mammography, "epididymitis"
# and epididymis, "cholecystostomy" and cholecystectomy are words of one family, each heard right.
_ENDINGS = frozenset(("", *_WORDS["endings"]))
# The listed word may end in a Latin noun ending the heard one does not ("calcaneal" / calcaneus,
# "epididymal" / epididymis); a heard "biopsis" is a misspelled biopsy, not another word.
_TARGET_ENDINGS = _ENDINGS | {"is", "us", "um", "a", "e"}
_MIN_STEM = 5


def other_word(heard: str, target: str) -> bool:
    """Whether `heard` is another real word of `target`'s family, not a misspelling of it: the
    same stem of 5 letters or more with another ending ("epididymitis" / epididymis, "convexities" /
    convexity), or the same ending of 5 letters or more after another root ("sialolithiasis" /
    urolithiasis, "venography" / angiography, "myometrial" / endometrial). A misspelling differs a
    letter here and there: "periappendical" (periappendiceal), "sentrylobular" (centrilobular)."""
    stem = 0
    while stem < min(len(heard), len(target)) and heard[stem] == target[stem]:
        stem += 1
    if any(heard[k:] in _ENDINGS and target[k:] in _TARGET_ENDINGS for k in range(stem, _MIN_STEM - 1, -1)):
        return True
    tail = 0
    while tail < min(len(heard), len(target)) and heard[-1 - tail] == target[-1 - tail]:
        tail += 1
    # Another root only when the heard one is a radiology root ("veno", "sialo", "myo"): a sound-
    # alike start ("extroversation", "pheromentricular") is a mishearing of the term.
    root = heard[: len(heard) - tail]
    return (
        tail >= 5
        and any(
            heard.startswith(p) and len(p) >= len(root) and not target.startswith(p)
            for p in _COMPOUND_PREFIXES
        )
        and edit_distance(root, target[: len(target) - tail], 3) >= 3
    )


def _a_spelling_of(word: str, target: str) -> bool:
    """Whether a word of the medical dictionary is one way of spelling a vocabulary word, not
    another word: a letter off ("appendical"), two letters off after the same start
    ("heterogonous", "peritenoneum"), or up to three with the same sound ("protal", "cytosis" for
    steatosis). "pyelectasis" and atelectasis neither start nor sound alike: two words."""
    distance = edit_distance(word, target, 3)
    if distance <= 1:
        return True
    same_sound = phonetic_key(word) == phonetic_key(target)  # "cytosis" heard for steatosis
    return (distance == 2 and word[:3] == target[:3]) or (distance <= 3 and same_sound)


def _ratio(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b).ratio()


class _Corrector:
    def __init__(self, extra: Iterable[str]) -> None:
        extra = list(extra)
        self.vocabulary = set(domain_vocabulary()) | _words(extra)
        self.compounds = {**domain_compounds(), **_compounds(extra)}
        self.real = real_words()
        self.medical = medical_words()
        self.variants = load_lexicon().variants
        self.targets = sorted(
            {w for w in self.vocabulary if len(w) >= 5 and w not in _PROTECTED} | set(self.compounds)
        )
        self.cache: dict[str, str | None] = {}

    def known(self, low: str) -> bool:
        return (
            low in self.vocabulary
            or low in _PROTECTED
            or low in self.real
            or is_compound(low, self.vocabulary, self.real)
        )

    def form(self, target: str) -> str:
        return self.compounds.get(target, target)

    def closest(
        self, low: str, *, max_len_diff: int = 2, cutoff: float | None = None, heard_whole: bool = True
    ) -> str | None:
        """The one vocabulary word clearly closest in spelling to `low`, keeping its prefix, or None.
        `heard_whole`: `low` is one heard word, which may be another word of the target's family
        (`other_word`); two heard words joined are not."""
        cutoff = cutoff or (0.75 if len(low) >= 8 else 0.8)
        # Candidates a little under the cutoff too: they only make a winner less clear.
        near = [
            c
            for c in difflib.get_close_matches(low, self.targets, n=6, cutoff=cutoff - 0.05)
            if _prefix_kept(low, c)
        ]
        # Similar length only: "hypoenhancing" is not a misspelled "enhancing" (a prefix changes meaning).
        close = [
            c
            for c in near
            if _ratio(low, c) >= cutoff
            and abs(len(c) - len(low)) <= max_len_diff
            and not (low.endswith(c) or low.startswith(c))
            and not (heard_whole and other_word(low, c))
        ]
        if not close:
            return None
        # Only a clear winner: another word about as close, of any length, means we cannot tell
        # ("intreparital" is as near intraperitoneal as intracranial; the sound pass decides).
        best = _ratio(low, close[0])
        if any(c != close[0] and best - _ratio(low, c) < 0.05 for c in near):
            return None
        return close[0]

    def word(self, low: str) -> str | None:
        """Replacement for one heard word, or None to keep it."""
        american = american_spelling(low)
        if american is None and low not in self.real and low not in self.medical:
            american = self.variants.get(low)  # "perineus" is the lexicon's peroneus, not "peritoneum"
        if american is not None:
            return american  # "tumours" is "tumors", not the nearest vocabulary word "tumor"
        if low in self.compounds:
            return self.form(low)  # "extraaxial" → "extra-axial"
        if len(low) < 5 or self.known(low):
            return None
        if low not in self.cache:
            best = self.closest(low)
            if best and low in self.medical and not _a_spelling_of(low, best):
                # A word of the medical dictionary is heard right ("pyelectasis" is no atelectasis),
                # unless it is a rarer spelling of a vocabulary word ("appendical", appendiceal).
                best = None
            self.cache[low] = self.form(best) if best else None
        return self.cache[low]

    def pair(self, prev: str | None, first: str, second: str) -> str | None:
        """A word the model split in two ("micro adenoma", "cardiomegaly distinal"), rejoined, or None."""
        a, b = first.lower(), second.lower()
        if a in _PROTECTED or b in _PROTECTED or min(len(a), len(b)) < 3:
            return None
        if a == "period" and (prev or "").lower() not in OPEN_WORDS:
            # "period" is the dictated full stop, unless no sentence can end before it: then it may
            # be the start of a split "peri-" word ("no period aortic stranding").
            return None
        joined = a + b
        if (
            len(joined) >= 8
            and (joined in self.vocabulary or joined in self.compounds)
            and joined not in (a, b)
        ):
            return self.form(joined)
        if self.known(a) and self.known(b):
            return None  # two real words stay two words
        best = self.closest(joined, max_len_diff=3, cutoff=0.8, heard_whole=False)
        if best is None or len(joined) < 10:
            return None
        # Only when the two together fit better than either alone ("appendical fat" stays two words).
        fit = _ratio(joined, best)
        return self.form(best) if fit > max(_ratio(a, best), _ratio(b, best)) + 0.1 else None


_WORD = re.compile(r"[A-Za-z]+")
_TITLE_BEFORE = re.compile(r"\b(?:(?:dr|drs|mr|mrs|ms|prof)\.?|doctor)\s+(?:[a-z][a-z]?')?$", re.I)


def a_name_at(text: str, start: int) -> bool:
    """Whether the word at `start` is a person's name: after "Dr." or "doctor" ("Dr. O'Brien" is
    no "O'Brain"; the corrections see the dictation before "doctor" is written "Dr.")."""
    return bool(_TITLE_BEFORE.search(text, 0, start))


_JOINABLE = re.compile(r"[ \t,-]+")  # what the model puts inside a word it split


def _cased(word: str, like: str) -> str:
    return word.capitalize() if like[0].isupper() else word


def correct_terms(text: str, extra: Iterable[str] = ()) -> str:
    """Replace near-miss spellings of vocabulary words and rejoin split ones (see the module docstring)."""
    corrector = _Corrector(extra)
    words = list(_WORD.finditer(text))
    out: list[str] = []
    pos = 0
    i = 0
    while i < len(words):
        match = words[i]
        out.append(text[pos : match.start()])
        if i + 1 < len(words) and _JOINABLE.fullmatch(text[match.end() : words[i + 1].start()]):
            prev = words[i - 1].group() if i else None
            joined = corrector.pair(prev, match.group(), words[i + 1].group())
            if joined is not None:
                out.append(_cased(joined, match.group()))
                pos = words[i + 1].end()
                i += 2
                continue
        fixed = None if a_name_at(text, match.start()) else corrector.word(match.group().lower())
        out.append(match.group() if fixed is None else _cased(fixed, match.group()))
        pos = match.end()
        i += 1
    out.append(text[pos:])
    return "".join(out)
