"""Dictation text → report text: spoken punctuation and commands, numbers, units, spine levels, dates.

Works on raw speech-to-text output, which mixes spoken forms ("two point three by one point one
centimeters period") with what the model already formatted ("2.3-by-1.1 centimeter."). The rule
is never to change meaning: negations are never touched, a number word becomes digits only where
it is clearly a quantity (a measurement, a unit, a compound number, a spine level, a date), so
"no one" and "the left one" stay words, and "colon" stays the organ unless it ends a heading.

The output keeps one command as a line of its own: `NEXT_SECTION_MARK` ("next section"), for
the section mapper. Headings become "Impression:" at the start of a line: a heading word followed
by "colon" ("impression colon", "liver colon"), and a report section named on its own, as
radiologists say it and speech models write it ("Findings." "IMPRESSION" "Impression, no ...",
"Findings are as follows."), but not a sentence about them ("Findings are consistent with ...").

The passes, one module each: `tokens` (splitting and joining), `commands` (spoken commands and
punctuation) with `headings` (spoken section names), then `quantities` (numbers and units) with
`numbers` (number words), `spine` (spine levels) and `dates`.
"""

from __future__ import annotations

import re
from dataclasses import replace
from functools import lru_cache

from autoscribe.scribe.normalize.commands import dedupe_punct, spoken_commands
from autoscribe.scribe.normalize.numbers import NUMBER_WORDS, parse_number, unhyphenate_numbers
from autoscribe.scribe.normalize.quantities import numbers_and_units
from autoscribe.scribe.normalize.tokens import (
    NEXT_SECTION_MARK,
    OPEN_WORDS,
    Tok,
    join,
    said_with_a_vowel,
    tokenize,
)
from autoscribe.scribe.sides import SIDES
from autoscribe.scribe.wordlists import data_sections, findings_lexicon

__all__ = ["NEXT_SECTION_MARK", "OPEN_WORDS", "normalize"]


@lru_cache(maxsize=1)
def _phrase_openings() -> frozenset[tuple[str, ...]]:
    """The word runs that open a longer phrase of the findings lexicon: ("mass", "effect") of "mass
    effect"."""
    out: set[tuple[str, ...]] = set()
    for term in findings_lexicon():
        words = tuple(re.split(r"[\s-]+", term.phrase.lower()))
        out.update(words[:k] for k in range(2, len(words) + 1))
    return frozenset(out)


def _collapse_repeats(toks: list[Tok]) -> list[Tok]:
    """ "the the liver", "lesion, lesion, lesion": a stutter, or a speech model stuck in a loop, says a
    word or phrase (up to four words, within a sentence) again right after itself; once is meant.
    Number words are kept ("point one one" is 0.11); the commas the model puts between repeats go.
    A repeat that opens a finding's name is a list going on: "no mass, mass effect, or midline
    shift" (its comma may be gone: spoken punctuation keeps only the commas said)."""
    out: list[Tok] = []
    words: list[int] = []  # indices in `out` of the tokens compared: all but commas
    for index, tok in enumerate(toks):
        out.append(tok)
        if tok.kind == "punct" and tok.text == ",":
            continue
        words.append(len(out) - 1)
        if tok.kind != "word":
            continue
        following = toks[index + 1].low if index + 1 < len(toks) else ""
        for n in range(1, 5):
            if len(words) < 2 * n or any(out[k].kind != "word" for k in words[-2 * n :]):
                continue
            tail = [out[k].low for k in words[-n:]]
            # Single letters are spelled, not stuttered: "c c" is cc ("a a" is still a stutter).
            spelled = n == 1 and len(tail[0]) == 1 and tail[0] not in ("a", "i")
            if (
                tail == [out[k].low for k in words[-2 * n : -n]]
                and not set(tail) & NUMBER_WORDS
                and not spelled
                and (*tail, following) not in _phrase_openings()
                and not _another_list_item(out, words, n, toks[index + 1 : index + 6])
            ):
                cut = words[-n - 1] + 1
                del out[cut:]  # drop the repeat and the commas before it
                del words[-n:]
                break
    return out


# Words that make no name with the word after them: "a lesion, lesion" is a stutter.
_NO_MODIFIER = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "in",
        "on",
        "at",
        "to",
        "with",
        "and",
        "or",
        "no",
        "any",
        "is",
        "are",
        "was",
        "were",
        "there",
        "this",
        "that",
        "these",
        "its",
        "their",
    ]
)


def _another_list_item(out: list[Tok], words: list[int], n: int, after: list[Tok]) -> bool:
    """ "the common femoral, femoral, and popliteal veins", "the common femoral vein, femoral vein,
    and popliteal vein": words said again after a comma are the next item of a list when their
    first saying ended a longer name ("common femoral") and the list goes on after them (a comma,
    "and", "or"). The commas may be gone (a radiologist who dictates punctuation keeps only those
    said): then only a name of two words or more whose list ends in its last word ("... femoral
    vein and popliteal vein"); "no acute fracture fracture or dislocation" is a stutter."""
    following = after[0].low if after else ""
    first, repeat = words[-2 * n], words[-n]
    comma = any(out[k].text == "," for k in range(words[-n - 1] + 1, repeat))
    head = out[words[-1]].low
    listed = n >= 2 and following in ("and", "or") and head in (t.low for t in after[1:])
    if not comma and not listed:
        return False
    before = out[first - 1] if first > 0 else None
    # A side names nothing longer: "left lower lobe lower lobe and ..." is a stutter.
    named = before is not None and before.kind == "word" and before.low not in _NO_MODIFIER | SIDES
    return named and following in (",", "and", "or")


# "None" said alone after a heading ("Comparison. None.") comes out as a syllable the model spells
# as it likes.
_NONE_HEARD = frozenset(("non", "nun", "nan", "none"))


def _none_after_heading(toks: list[Tok]) -> list[Tok]:
    for i, tok in enumerate(toks):
        if (
            tok.kind == "word"
            and tok.low in _NONE_HEARD
            and i > 0
            and toks[i - 1].text == ":"
            and (
                i + 1 == len(toks) or toks[i + 1].text in (".", "\n") or toks[i + 1].kind in ("para", "line")
            )
        ):
            tok.text = "None"
    return toks


def _is_letter(toks: list[Tok], k: int, capital: bool = True) -> bool:
    """A letter said on its own (a capital, or a lower-case one), not the start of a level or
    sequence ("L" of "L4", "T" of "T2", "l four")."""
    tok = toks[k]
    nxt = toks[k + 1] if k + 1 < len(toks) else None
    before_number = nxt is not None and (nxt.kind == "num" or nxt.low in NUMBER_WORDS)
    cased = tok.text.isupper() if capital else tok.text.islower()
    return tok.kind == "word" and len(tok.text) == 1 and cased and not before_number


def _known_abbreviation(toks: list[Tok], i: int, j: int) -> tuple[int, int] | None:
    """The longest run of letters in toks[i:j] that spells an abbreviation of the written-case
    list, starting at i, or after an article ("a c l" is ACL, "a c t scan" a CT scan)."""
    article = toks[i].low in ("a", "i")
    for end in range(j, i + 1, -1):  # the longest first: "a c t" is a CT, not AC and a "t"
        for start in (i, i + 1) if article else (i,):
            # Two letters after "a" are an article and one letter: "a c collar", "a p a view".
            least = 3 if article and start == i else 2
            if end - start >= least and "".join(t.low for t in toks[start:end]).upper() in _ABBREVIATIONS:
                return start, end
    return None


def _spelled_letters(toks: list[Tok]) -> list[Tok]:
    """Capital letters said one by one are one abbreviation: "C T" → CT, "D V T" → DVT. Only
    capitals, two or more in a row, none the start of a level ("A L4-L5" stays); a run that starts
    with "A" or "I" is left alone, for the article may start it ("A C T scan", "I V contrast").
    Lower-case letters only when they spell a known abbreviation ("m c a" → MCA, "r v" → RV)."""
    out: list[Tok] = []
    i = 0
    while i < len(toks):
        j = i
        while j < len(toks) and _is_letter(toks, j):
            j += 1
        if j - i >= 2 and toks[i].text not in ("A", "I"):
            first = toks[i]
            out.append(Tok("".join(t.text for t in toks[i:j]), first.space, "word", heading=first.heading))
            i = j
            continue
        j = i
        while j < len(toks) and _is_letter(toks, j, capital=False):
            j += 1
        known = _known_abbreviation(toks, i, j) if j - i >= 2 else None
        if known is not None:
            start, end = known
            out.extend(toks[i:start])
            first = toks[start]
            text = "".join(t.low for t in toks[start:end]).upper()
            if out and out[-1].low == "a" and said_with_a_vowel(text, spelled=True):
                out[-1] = replace(out[-1], text=out[-1].text + "n")  # "a m c a infarct": an MCA infarct
            out.append(Tok(text, first.space, "word", heading=first.heading))
            i = end
        else:
            out.append(toks[i])
            i += 1
    return out


# Hesitations the model sometimes writes down ("Um, there is a uh small effusion").
_FILLERS = frozenset({"um", "umm", "uh", "uhh", "uhm", "erm", "hmm"})


def _drop_fillers(toks: list[Tok]) -> list[Tok]:
    """The tokens without hesitations and the commas around them ("effusion, um, and" → "effusion and")."""
    out: list[Tok] = []
    i = 0
    while i < len(toks):
        if toks[i].kind == "word" and toks[i].low in _FILLERS:
            if out and out[-1].text == ",":
                out.pop()
            i += 1
            if i < len(toks) and toks[i].text == ",":
                i += 1
            continue
        out.append(toks[i])
        i += 1
    return out


_WRITTEN_CASE = {word.lower(): word for word in data_sections("normalize_words.txt")["written case"]}
# The written-case list's abbreviations: what letters said one by one may spell ("m c a" → MCA).
_ABBREVIATIONS = frozenset(word for word in _WRITTEN_CASE.values() if word.isupper() and len(word) >= 2)


def is_abbreviation(word: str) -> bool:
    """Whether a word is an abbreviation of the written-case list, said letter by letter ("hcc")."""
    return word.upper() in _ABBREVIATIONS


def _isotope_table() -> dict[str, dict[str, str]]:
    """Element name or symbol (lower case) → {mass as said, "99" for Tc-99m: isotope as written}."""
    table: dict[str, dict[str, str]] = {}
    for line in data_sections("normalize_words.txt")["isotopes"]:
        written, _, element = (part.strip() for part in line.partition(":"))
        symbol, _, mass = written.partition("-")
        digits = mass.rstrip("m")
        table.setdefault(symbol.lower(), {})[digits] = written
        table.setdefault(element.lower(), {})[digits] = f"{element.lower()}-{mass}"
    return table


_ISOTOPES = _isotope_table()


def _isotopes(toks: list[Tok]) -> list[Tok]:
    """ "technetium ninety nine m" → technetium-99m, "I one two three" → I-123, "F eighteen" →
    F-18: an element and the mass of one of its tracers' isotopes, said as one number or digit by
    digit, is one word."""
    out: list[Tok] = []
    i = 0
    while i < len(toks):
        tok = toks[i]
        masses = _ISOTOPES.get(tok.low) if tok.kind == "word" else None
        found = None
        if masses:
            digits, j = "", i + 1
            while j < len(toks) and len(digits) < 3:
                parsed = parse_number(toks, j)
                if parsed is None or "." in parsed[0]:
                    break
                digits, j = digits + parsed[0], parsed[1]
                if digits in masses:
                    found = (masses[digits], j)
                    break
        if found is None:
            out.append(tok)
            i += 1
            continue
        written, j = found
        if written.endswith("m") and j < len(toks) and toks[j].low == "m":
            j += 1  # the metastable "m" said on its own
        if tok.text[:1].isupper() and not written[:1].isupper():
            written = written.capitalize()
        out.append(Tok(written, tok.space, "word", heading=tok.heading))
        i = j
    return out


# "Stanford type a" is type A: a classification's letter after its name (or before "dissection").
_CLASSIFIED_BY_LETTER = frozenset(("stanford", "debakey"))


def _since_sentence_start(toks: list[Tok]) -> list[Tok]:
    """The tokens of the sentence the last of `toks` is in."""
    start = max(
        (i + 1 for i, t in enumerate(toks) if t.text in (".", "?", "!") or t.kind in ("para", "line")),
        default=0,
    )
    return toks[start:]


def _scores(toks: list[Tok]) -> list[Tok]:
    """A bone density score as reports write it: "T score of negative 2.6" → "T-score of -2.6"."""
    out: list[Tok] = []
    for tok in toks:
        before = out[-1] if out else None
        if tok.low in ("score", "scores") and before is not None and before.text in ("T", "Z", "t", "z"):
            before.text = f"{before.text.upper()}-{tok.low}"
            continue
        if (
            tok.low in ("score", "scores")
            and before is not None
            and before.text == "-"
            and len(out) >= 2
            and out[-2].text in ("T", "Z", "t", "z")
        ):
            out.pop()  # "T-score" as the model writes it
            out[-1].text = f"{out[-1].text.upper()}-{tok.low}"
            continue
        sentence = _since_sentence_start(out[:-1])
        if (
            tok.kind == "num"
            and before is not None
            and before.low in ("negative", "minus")
            and any(t.low.endswith(("-score", "-scores")) for t in sentence)
        ):
            out[-1] = Tok(f"-{tok.text}", before.space, "num", heading=before.heading)
            continue
        out.append(tok)
    return out


_SEGMENT_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "1": 1, "2": 2, "3": 3, "4": 4}
_SEGMENT_WORDS = frozenset(("segment", "segments", "branch", "branches", "occlusion", "bifurcation"))
_SEGMENTED_ARTERIES = frozenset(("mca", "aca", "pca", "cerebral", "artery"))


def _vessel_segments(toks: list[Tok]) -> list[Tok]:
    """A cerebral artery's segment as reports write it: "M one segment" → M1 segment, "the left
    M two" → M2, "A one" and "P two" where a segment or the artery is named. A capital letter only
    ("a two segment fracture" is an article), and not after a number ("5 M" is a length)."""
    out: list[Tok] = []
    i = 0
    while i < len(toks):
        tok = toks[i]
        number = _SEGMENT_NUMBERS.get(toks[i + 1].low) if i + 1 < len(toks) else None
        after = toks[i + 2].low if i + 2 < len(toks) else ""
        before = {t.low for t in toks[max(0, i - 4) : i]}
        if (
            tok.text in ("M", "A", "P")
            and number is not None
            and not (out and out[-1].kind == "num")
            and (tok.text != "A" or (bool(out) and out[-1].kind == "word"))  # "A two ..." opens a sentence
            and (tok.text == "M" or after in _SEGMENT_WORDS or bool(before & _SEGMENTED_ARTERIES))
        ):
            out.append(Tok(f"{tok.low.upper()}{number}", tok.space, "word", heading=tok.heading))
            i += 2
            continue
        out.append(tok)
        i += 1
    return out


# "The referring doctor requests ...": a doctor, not a name.
_BEFORE_A_COMMON_DOCTOR = frozenset(
    (
        "the",
        "a",
        "an",
        "referring",
        "ordering",
        "treating",
        "attending",
        "primary",
        "your",
        "their",
        "his",
        "her",
    )
)
# Words after "doctor" that are no name: "the doctor on call", "the doctor was notified".
_NOT_A_NAME = _NO_MODIFIER | frozenset(
    (
        "who",
        "whom",
        "whose",
        "was",
        "has",
        "had",
        "will",
        "would",
        "on",
        "call",
        "office",
        "team",
        "notified",
        "aware",
        "said",
        "ordered",
        "requested",
        "regarding",
        "about",
        "by",
        "for",
        "from",
    )
)


def _a_name(tok: Tok) -> bool:
    return tok.kind == "word" and tok.low not in _NOT_A_NAME and tok.text[:1].isalpha()


# The reporting systems said as two words: "bi rads" → BI-RADS, "lung rads" → Lung-RADS.
_LR_CATEGORIES = frozenset("12345")
# Eponyms whose first name is an everyday word, known by the name that follows it.
_EPONYM_PAIRS = {
    "hill": "sachs",
    "mallory": "weiss",
    "osgood": "schlatter",
    "legg": "calve",
    "budd": "chiari",
    "salter": "harris",
}
_RADS = {
    name.split("-")[0].lower(): name
    for name in ("BI-RADS", "TI-RADS", "LI-RADS", "PI-RADS", "O-RADS", "Lung-RADS", "CAD-RADS")
}


def _written_case(toks: list[Tok]) -> list[Tok]:
    """Abbreviations and eponyms as reports write them: "acl" → ACL, "baker cyst" → Baker cyst,
    "Stanford type a" → Stanford type A, "bi rads" → BI-RADS."""
    merged: list[Tok] = []
    for tok in toks:
        before = merged[-1] if merged else None
        if tok.kind == "word" and tok.low == "rads" and before is not None and before.low in _RADS:
            before.text = _RADS[before.low]
        elif tok.kind == "word" and tok.low == "ct" and before is not None and before.low in ("pet", "spect"):
            before.text = f"{before.low.upper()}/CT"  # a hybrid study: "PET CT" is PET/CT
        elif tok.kind == "num" and tok.text in _LR_CATEGORIES and before is not None and before.low == "lr":
            before.text = f"LR-{tok.text}"  # a LI-RADS category as the lexicon writes it
        elif (tok.kind == "num" or tok.low == "score") and before is not None and before.low == "aspects":
            before.text = "ASPECTS"
            merged.append(tok)
        else:
            merged.append(tok)
    toks = _scores(merged)
    toks = _vessel_segments(toks)
    for i, tok in enumerate(toks):
        if (
            tok.low in ("doctor", "dr")
            and i + 1 < len(toks)
            and _a_name(toks[i + 1])
            and not (i > 0 and toks[i - 1].low in _BEFORE_A_COMMON_DOCTOR)
        ):
            tok.text = "Dr."  # "discussed with doctor smith" → "Dr. Smith"
            name = toks[i + 1]
            first, apostrophe, rest = name.text.partition("'")
            # "O'Brien", but "Smith's": a letter before the apostrophe is part of the name.
            name.text = (
                first[:1].upper()
                + first[1:]
                + apostrophe
                + (rest[:1].upper() + rest[1:] if len(first) == 1 else rest)
            )
            continue
        if tok.kind != "word":
            continue
        written = _WRITTEN_CASE.get(tok.low)
        if written is not None:
            tok.text = written
        elif tok.low in _EPONYM_PAIRS and any(
            t.low == _EPONYM_PAIRS[tok.low] for t in toks[i + 1 : i + 3] if t.kind == "word"
        ):
            tok.text = tok.low.capitalize()  # "hill sachs" → Hill-Sachs: an everyday word, here a name
        elif (
            tok.low in ("a", "b")
            and i >= 1
            and toks[i - 1].low == "type"
            and (
                (i >= 2 and toks[i - 2].low in _CLASSIFIED_BY_LETTER)
                or (i + 1 < len(toks) and toks[i + 1].low in ("dissection", "aortic"))
            )
        ):
            tok.text = tok.low.upper()
    return toks


def normalize(text: str) -> str:
    """Turn dictated text into report text (see the module docstring)."""
    toks = _spelled_letters(_drop_fillers(tokenize(unhyphenate_numbers(text.replace("\r\n", "\n")))))
    toks = _collapse_repeats(spoken_commands(toks))  # after the commands: "scratch that" twice means twice
    toks = _written_case(numbers_and_units(_isotopes(toks)))
    toks = dedupe_punct(_none_after_heading(toks))
    return join(toks)
