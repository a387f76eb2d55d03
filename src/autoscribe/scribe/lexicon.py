"""Radiology-aware correction of a transcript: words the speech model heard as other words.

A small speech model writes a rare radiology term as the everyday words that sound like it:
"module" for nodule, "lymphatic apathy" for lymphadenopathy, "hiller" for hilar, "lingual" for
lingula. The spelling correction (`vocabulary.correct_terms`) cannot fix these, because they are
real English words or because the letters differ more than the sounds do. This pass compares
sounds: every run of one to three heard words gets a phonetic key (a Metaphone-like code), and is
replaced by the radiology term whose key is within a small edit distance, when

- the heard words are not themselves radiology or report words (a correct "lobe" or "mass" is
  never touched), and no negation, side or number is among them;
- the term fits the context: for an ordinary English word, one of the term's cue words is within
  a few words ("module" next to "lobe"/"lung"/"thyroid"), or the term belongs to a body region of
  this study and a word of that region is near; for a heard non-word, the term's region fits the
  study or its context, or the sounds match closely;
- one candidate is clearly better than the next.

The terms, their regions, cue words and the words that select each region are data:
`data/radiology_lexicon.txt` (see its header). British spellings listed there ("haematoma") are
written the American way the templates use.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from autoscribe.scribe.phonetics import edit_distance, phonetic_key
from autoscribe.scribe.vocabulary import (
    a_name_at,
    domain_compounds,
    domain_vocabulary,
    is_compound,
    meaning_prefix,
    other_word,
    prefix_changed,
)
from autoscribe.scribe.wordlists import (
    Lexicon,
    Term,
    american_spelling,
    everyday_words,
    load_lexicon,
    medical_words,
    real_words,
)

# Never part of a heard span: meaning carriers (negation, side, change) and glue words.
_KEEP = frozenset(
    (
        "no not nor none without negative positive absent present left right bilateral both neither never "
        "new old normal abnormal minor major mild moderate severe small large acute chronic "
        "the a an of in on at to is are was were be been with and or for by as from this that there these "
        "those it its which who than then into onto over under per "
        "period comma colon paragraph section scratch "
        # Roman numerals of a grade or type: "Schatzker II lateral" is no collateral.
        "ii iii iv vi vii viii ix "
        # Units: "5 mm module" is a 5 mm nodule, never "5 nodule".
        "mm cm ml cc hu mmhg"
    )
    .strip()
    .split(" ")
)


_ADJECTIVE_ENDING = re.compile(r"(?:al|ar|ic|ous|ary)$")
_NOUN_ENDING = re.compile(r"(?:um|us|is|on|a|e|y)$")


def _adjective_of(heard: str, term_word: str) -> bool:
    """ "ileal" of ileum, "cecal" of cecum, "colonic" of colon: the heard word is the term word's
    adjective, its stem with an adjective's ending. "medical" is no form of medial."""
    stem = _ADJECTIVE_ENDING.sub("", heard)
    return stem != heard and len(stem) >= 3 and stem in (term_word, _NOUN_ENDING.sub("", term_word))


def _one_word_misheard(heard: Sequence[str], term: Sequence[str]) -> bool:
    differ = [(h, t) for h, t in zip(heard, term, strict=True) if h != t]
    if len(differ) != 1:
        return False
    h, t = differ[0]
    stem = next((k for k, (x, y) in enumerate(zip(h, t, strict=False)) if x != y), min(len(h), len(t)))
    if stem >= 5 or (stem >= len(t) - 1 and len(h) != len(t)):
        # Another form of the same word ("bruises", "arterial" for arteries): heard right. A short
        # word of the same length with another last letter is a mishearing ("mast effect").
        return False
    if _adjective_of(h, t) and h in real_words():
        return False  # the adjective of the term's word, heard right: "terminal ileal" (ileum)
    a, b = phonetic_key(h), phonetic_key(t)
    if h in real_words() and (a[1:] == b or b[1:] == a):
        # A real word a sound longer or shorter at its start is another word heard right: speech
        # models keep a word's onset. "depressed fracture" is no misheard burst fracture (TPRST,
        # PRST), "torus fracture" no stress fracture; "big systolic" is still peak systolic.
        return False
    return len(a) >= 2 and edit_distance(a, b, 1) <= 1 and h not in _KEEP


def _nearly_the_term(word: str, letters: str) -> bool:
    """A heard word that is another form of the whole term ("nodule" of "nodules")."""
    short, long = sorted((word, letters), key=len)
    return long.startswith(short) and len(short) >= 0.8 * len(long)


def _split_term(heard: Sequence[str], letters: str) -> bool:
    """Every heard word a real part of the term (4 letters or more), the term's ends heard as
    they are ("no hydrocephalus" is not hydrocephalus, "infarct in" is not infarction), and at
    most two letters different between."""
    joined = "".join(heard)
    return (
        len(letters) >= 10
        and all(len(w) >= 4 for w in heard)
        and joined[:3] == letters[:3]
        and joined[-4:] == letters[-4:]
        and edit_distance(joined, letters, 2) <= 2
    )


def _prefix_fits(heard: Sequence[str], term: str) -> bool:
    """The term keeps every meaning-carrying prefix heard: "unstructing" is nonobstructing, never
    obstructing, and "4 mm nonobstructing" is not "obstructing" either (whether something is present
    must not change); nor does "extra-" become "intra-", or "hypo-" "hyper-" (`prefix_changed`)."""
    return not prefix_changed("".join(heard), term) and not any(
        meaning_prefix(word) and prefix_changed(word, term) for word in heard
    )


_HYPHENATED = re.compile(r"[A-Za-z]+(?:-[A-Za-z]+)+")


def _hyphenated_words(text: str) -> list[tuple[int, int, bool]]:
    """Each hyphenated word of the text: where it is, and whether it is a radiology word
    ("cul-de-sac"), which stays whole. The model also hyphenates a mishearing ("canal-arrowing")."""
    known = domain_compounds()
    return [
        (m.start(), m.end(), m.group().lower().replace("-", "") in known) for m in _HYPHENATED.finditer(text)
    ]


def _inside_known_compound(hyphenated: list[tuple[int, int, bool]], start: int, end: int) -> bool:
    """Whether text[start:end] is part of a hyphenated radiology word ("cul-de" of "cul-de-sac")."""
    for first, last, known in hyphenated:
        if first <= start and end <= last and (first, last) != (start, end):
            return known
    return False


def _allowed(key_len: int) -> int:
    """Edits a phonetic key may differ by: none for very short keys, more for long ones."""
    if key_len <= 2:
        return 0
    if key_len <= 5:
        return 1
    if key_len <= 9:
        return 2
    return 3


@dataclass(frozen=True)
class Correction:
    heard: str
    term: str
    start: int
    end: int


_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")
_GLUE = re.compile(r"[ \t-]+")  # what may stand between the words of one heard span


@lru_cache(maxsize=1)
def _domain() -> frozenset[str]:
    return domain_vocabulary() | load_lexicon().words()


class _Matcher:
    def __init__(self, lexicon: Lexicon, regions: set[str], extra_known: Iterable[str]) -> None:
        self.lexicon = lexicon
        self.regions = regions
        self.terms = lexicon.terms
        self.by_len: dict[int, list[Term]] = {}
        for term in self.terms:
            self.by_len.setdefault(len(term.key), []).append(term)
        self.known = _domain() | {w.lower() for w in extra_known}
        self.joined = {t.letters for t in self.terms if " " not in t.text}
        self.real = real_words()
        self.medical = medical_words()
        self.context_words = {
            name: region.context for name, region in lexicon.regions.items() if region.context
        }

    def is_known(self, word: str) -> bool:
        """A radiology or report word, or a prefix and such a word ("suprapatellar")."""
        return word in self.known or is_compound(word, self.known, self.real)

    def candidates(self, key: str) -> list[tuple[int, Term]]:
        limit = _allowed(len(key))
        out = []
        for length in range(len(key) - limit, len(key) + limit + 1):
            for term in self.by_len.get(length, ()):
                d = edit_distance(key, term.key, min(limit, _allowed(len(term.key))))
                if d <= min(limit, _allowed(len(term.key))):
                    out.append((d, term))
        return out

    def fits(self, term: Term, window: set[str]) -> tuple[bool, bool, bool]:
        """(cue near, region of the study, region near): a cue word of the term is near; the term's
        region is one of the study's; a word of the term's region is near."""
        region_words = self.context_words.get(term.region, frozenset())
        return (
            bool(term.cues & window),
            term.region in self.regions,
            bool(region_words & window),
        )


def correct_radiology_terms(
    text: str,
    *,
    regions: Iterable[str] = ("general",),
    known: Iterable[str] = (),
    lexicon: Lexicon | None = None,
) -> tuple[str, list[Correction]]:
    """The text with misheard radiology terms restored, and what was changed (see the module doc)."""
    lex = lexicon or load_lexicon()
    matcher = _Matcher(lex, set(regions), known)
    words = list(_WORD.finditer(text))
    lows = [m.group().lower() for m in words]
    hyphenated = _hyphenated_words(text)
    out: list[Correction] = []
    i = 0
    while i < len(words):
        if a_name_at(text, words[i].start()):
            i += 1  # "Dr. O'Brien" is a name, never a misheard term
            continue
        american = american_spelling(words[i].group()) or lex.variants.get(lows[i])
        if american is not None:
            out.append(Correction(words[i].group(), american, words[i].start(), words[i].end()))
            i += 1
            continue
        best: tuple[float, int, Term] | None = None
        runner_up = 0.0
        for size in (3, 2, 1):
            if i + size > len(words):
                continue
            span = lows[i : i + size]
            kept = any(w in _KEEP for w in span)  # only a lexicon phrase with one word misheard then
            if kept and size == 1:
                continue
            if size > 1 and not all(
                _GLUE.fullmatch(text[words[k].end() : words[k + 1].start()]) for k in range(i, i + size - 1)
            ):
                continue
            if _inside_known_compound(hyphenated, words[i].start(), words[i + size - 1].end()):
                continue  # "cul-de-sac" is one word: "cul de" is not a misheard "loculated"
            unknown = [w for w in span if not matcher.is_known(w)]
            joined = "".join(span)
            # Radiology or report words as heard are kept, unless a term was split in two, a letter
            # or two off ("posterior lateral" for posterolateral).
            only_split = not unknown and not (size > 1 and joined in matcher.joined)
            if only_split and size == 1:
                continue
            as_word = joined in matcher.known or joined in matcher.real
            if len(joined) < 4 or (size > 1 and joined not in matcher.joined and as_word):
                continue  # "multi-level" is multilevel, a word as heard
            key = phonetic_key(joined)
            if len(key) < 2:
                continue
            # A word of the medical dictionary heard alone is a word too: "ascitic" asks for a close
            # match in context. Among the pieces of a split term ("paraben trick your" for
            # periventricular) it proves nothing.
            non_words = [
                w for w in unknown if w not in matcher.real and (size > 1 or w not in matcher.medical)
            ]
            rare = size == 1 and not non_words and lows[i] in matcher.medical and lows[i] not in matcher.real
            lo, hi = max(0, i - 6), min(len(words), i + size + 6)
            window = set(lows[lo:i]) | set(lows[i + size : hi])
            for d, term in matcher.candidates(key):
                if (size == 1 and term.letters == joined) or not _prefix_fits(span, term.letters):
                    continue
                if size == 1 and other_word(joined, term.letters):
                    continue  # "epididymitis" is not a misheard epididymis
                term_words = term.text.lower().split()
                # A long term heard as two or three words, a letter or two off ("posterior lateral"
                # for posterolateral, "hollow hemispheric" for holohemispheric).
                split = size > 1 and len(term_words) == 1 and not kept and _split_term(span, term.letters)
                if only_split and not split:
                    continue
                phrase = False  # the rest of the phrase was heard: that is context enough
                if size > 1:
                    if split:
                        phrase = True
                    elif len(term_words) == size and _one_word_misheard(span, term_words):
                        # A phrase of the lexicon with one word misheard ("fall thickness", "deep menus
                        # thrombosis"): only that word differs, and only in sound.
                        phrase = True
                    elif kept:
                        continue
                    elif term.letters == joined:
                        phrase = True  # the term split in two ("wave forms")
                    elif len(term_words) >= size or set(span) & set(term_words):
                        continue  # a phrase heard as a phrase, or a word of the term heard right
                    elif any(_nearly_the_term(w, term.letters) for w in span if matcher.is_known(w)):
                        continue  # "nodule now" is the nodule, now: not "nodules"
                letters = difflib.SequenceMatcher(None, joined, term.letters).ratio()
                cue, study, near = matcher.fits(term, window)
                cue = cue or phrase
                if non_words:
                    ok = letters >= 0.55 and (cue or study or near or (d == 0 and letters >= 0.7))
                elif rare and d == 0:
                    # A rare medical word with the very sound of a term of the study ("hepatic
                    # cytosis" for steatosis); one a sound off stays ("ascitic" is no "cystic").
                    ok = letters >= 0.6 and (cue or study or near)
                elif size == 1 and " " in term.text and lows[i] in everyday_words():
                    ok = False  # a common word heard alone is no two-word term: "fever" is no free air
                else:
                    # Only English words: a stricter sound match and a context that asks for the term.
                    ok = (
                        letters >= 0.6
                        and d <= max(1, _allowed(len(key)) - 1)
                        and (cue or (study and near and d == 0))
                    )
                if not ok:
                    continue
                score = (1 - d / max(len(key), len(term.key))) + 0.5 * letters + (0.1 if cue else 0.0)
                if best is None or score > best[0]:
                    if best is not None and best[2].text != term.text:
                        runner_up = max(runner_up, best[0])
                    best = (score, size, term)
                elif term.text != best[2].text:
                    runner_up = max(runner_up, score)
        if best is not None and best[0] - runner_up >= 0.08:
            _, size, term = best
            start, end = words[i].start(), words[i + size - 1].end()
            out.append(Correction(text[start:end], term.text, start, end))
            i += size
            continue
        i += 1
    if not out:
        return text, out
    pieces: list[str] = []
    pos = 0
    for c in out:
        pieces.append(text[pos : c.start])
        heard = text[c.start : c.end]
        pieces.append(c.term.capitalize() if heard[:1].isupper() and c.term.islower() else c.term)
        pos = c.end
    pieces.append(text[pos:])
    return "".join(pieces), out


def regions_for_study(procedure: str = "", modality: str = "", template_name: str = "") -> set[str]:
    return load_lexicon().regions_for(procedure, modality, template_name)


def hint_terms(regions: Sequence[str] | set[str], limit: int = 40) -> list[str]:
    return load_lexicon().prompt_terms(regions, limit)
