"""Tokens of a dictation: splitting the text, reading words, and joining the tokens (the last pass)."""

from __future__ import annotations

import re
from dataclasses import dataclass

NEXT_SECTION_MARK = "[next section]"


# Words no sentence ends with: a "period" right after one is not the dictated full stop.
OPEN_WORDS = frozenset({"no", "not", "without", "a", "an", "the", "of", "with", "and", "or"})


# An abbreviation's full stops are part of it ("Dr. Lee", "3:40 p.m.", "e.g."): no sentence ends there.
ABBREVIATIONS = r"(?:Dr|Mr|Mrs|Ms|Drs|Prof)\.(?=\s)|(?i:e\.g|i\.e|a\.m|p\.m|vs)\.(?![A-Za-z])"
# A radiotracer's isotope is one word: "Tc-99m" is no 99 and a metre.
ISOTOPE = r"\b(?:Tc|In|Ga|Tl|Xe|Rb|Lu|Sm|Ra|Zr|Cu|I|F)-\d{1,3}m?\b"
_WORD = r"[A-Za-z]+(?:['\u2019][A-Za-z]+)*"
_TOKEN = re.compile(rf"{ISOTOPE}|\d+(?:\.\d+)?|{ABBREVIATIONS}|{_WORD}|\n|[^\sA-Za-z\d]")


SENTENCE_END = {".", "?", "!"}


CLAUSE_PUNCT = {".", ",", ":", ";", "?", "!"}


# Written with a vowel but said starting with "you" or "w": "a unilateral", "a ureteral", "a one".
_SAID_WITH_A_CONSONANT = (
    "one",
    "once",
    "eu",
    "uni",
    "us",  # "a US" (ultrasound), "a usual"
    "ure",
    "uri",
    "uro",
    "ura",
    "ute",
    "uti",
    "utr",
    "uv",
    "ubi",
)
# Written with an h but said starting with a vowel: "an hour".
_SILENT_H = ("hour", "honest", "honor", "heir")
# Letters whose name starts with a vowel sound: "an MCA", "an SVC", "an IVC".
_LETTERS_SAID_WITH_A_VOWEL = frozenset("AEFHILMNORSX")


def said_with_a_vowel(text: str, spelled: bool = False) -> bool:
    """Whether a word, a number or (`spelled`) an abbreviation said letter by letter starts with a
    vowel sound, and so takes "an": "an echogenic", "an ulcer", "an hour", "an 8", "an 11", "an
    MCA"; "a unilateral", "a one", "a 10", "a CT"."""
    if spelled:
        return text[:1].upper() in _LETTERS_SAID_WITH_A_VOWEL
    digits = text.replace(",", "").split(".")[0]
    if digits.isdigit():
        # "eight", "eighty", "eleven", "eighteen", "eleven thousand"; not "one hundred ten" (110).
        return digits.startswith("8") or (len(digits) in (2, 5) and digits[:2] in ("11", "18"))
    low = text.lower()
    if low.startswith(_SAID_WITH_A_CONSONANT):
        return False
    return low[:1] in ("a", "e", "i", "o", "u") or low.startswith((*_SILENT_H, "xr"))  # "an xray"


@dataclass
class Tok:
    text: str
    space: bool = True  # whitespace before this token in the output
    kind: str = "word"  # word | num | punct | para | line | next | unit
    spoken: bool = False  # punctuation that was dictated as a word
    heading: bool = False  # first word of a heading: starts a new line

    @property
    def low(self) -> str:
        return self.text.lower()


def tokenize(text: str) -> list[Tok]:
    out: list[Tok] = []
    pos = 0
    for match in _TOKEN.finditer(text):
        raw = match.group()
        space = (
            match.start() > pos and bool(text[pos : match.start()].strip(" \t") == "") and match.start() > 0
        )
        space = space or (match.start() > pos)
        pos = match.end()
        if raw == "\n":
            out.append(Tok("\n", kind="line"))
        elif raw[0].isdigit():
            out.append(Tok(raw, space, "num"))
        elif raw[0].isalpha():
            out.append(Tok(raw, space, "word"))
        else:
            out.append(Tok(raw, space, "punct"))
    if out:
        out[0].space = False
    return out


def words_at(toks: list[Tok], i: int, n: int) -> tuple[str, ...]:
    out = []
    for tok in toks[i : i + n]:
        if tok.kind != "word":
            break
        out.append(tok.low)
    return tuple(out)


def sentence_start(toks: list[Tok], i: int) -> int:
    """Index of the first token of the sentence that contains position i."""
    j = i
    while j > 0 and not ends_sentence(toks[j - 1]):
        j -= 1
    return j


def ends_sentence(tok: Tok) -> bool:
    """A token after which a new sentence starts: a full stop, a colon, a line or section break."""
    return tok.kind in ("para", "line", "next") or tok.text in SENTENCE_END or tok.text == ":"


# The words after "period" the noun ("a period of two weeks", "the period between scans").
_AFTER_THE_PERIOD = frozenset(("of", "since", "between", "after", "before", "during"))
# Words before "period" the noun: "this period", "the postoperative period", "a two week period".
_BEFORE_THE_PERIOD = frozenset((
    "this", "that", "postoperative", "perioperative", "postpartum", "time", "same",
    "short", "long", "brief", "prolonged", "neonatal", "refractory", "menstrual",
))  # fmt: skip
# ... and a span's word, when the period's "of"/"between" follows: "a two week period of rest"
# ("follow-up in one year period" ends the sentence).
# Nouns too ("an LR-3 observation period."): "the follow-up period of 6 months".
_SPAN_BEFORE_THE_PERIOD = frozenset((
    "day", "week", "month", "year", "hour", "minute", "follow-up", "followup", "observation", "waiting",
    "recovery", "interval",
))  # fmt: skip


def period_is_word(toks: list[Tok], i: int, after_the: bool = False) -> bool:
    """ "a period of two weeks", "the postoperative period": period the noun, not the full stop.

    With `after_the`, only what follows decides ("... absent the period impression colon")."""
    nxt = toks[i + 1].low if i + 1 < len(toks) and toks[i + 1].kind == "word" else ""
    if after_the:
        return nxt in _AFTER_THE_PERIOD
    if nxt == "period":
        return True  # "over a six month period period": the noun, then the full stop
    if i + 1 >= len(toks):
        return False  # the dictation's last word is its full stop
    prev = toks[i - 1].low if i > 0 and toks[i - 1].kind == "word" else ""
    if prev == "a" and i >= 2 and _names_a_letter(toks[i - 2]):
        return False  # "BI-RADS 4 A period", "type A period": a letter, then the full stop
    # "normal in contour period during voiding ...": after a word that does not name a span of
    # time, "period" ends the sentence, whatever follows it.
    if prev in _SPAN_BEFORE_THE_PERIOD:
        return nxt in _AFTER_THE_PERIOD
    return prev in OPEN_WORDS or prev in _BEFORE_THE_PERIOD


# Before "A" as a letter, not an article: a number ("Lung-RADS four A", "segment 4 A") or a word
# that names a class ("type A", "vitamin A").
_BEFORE_A_LETTER = frozenset((
    "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    "type", "types", "grade", "class", "zone", "vitamin", "hepatitis", "category", "segment", "stage",
    "level", "group",
))  # fmt: skip


def _names_a_letter(before: Tok) -> bool:
    return before.kind == "num" or before.text.isdigit() or before.low in _BEFORE_A_LETTER


def join(toks: list[Tok]) -> str:
    parts: list[str] = []
    capitalize = True
    for idx, tok in enumerate(toks):
        if tok.kind == "para":
            parts.append("\n\n")
            capitalize = True
            continue
        if tok.kind in ("line",):
            parts.append("\n")
            capitalize = True
            continue
        if tok.kind == "next":
            parts.append(f"\n{NEXT_SECTION_MARK}\n")
            capitalize = True
            continue
        text = tok.text
        # "at 3:40 p.m. period": the abbreviation's own stop ends the sentence.
        if tok.text == "." and parts and parts[-1].endswith(".") and idx > 0 and toks[idx - 1].kind == "word":
            capitalize = True
            continue
        if tok.heading:
            if parts and not parts[-1].endswith("\n"):
                parts.append("\n")
            capitalize = True
        if capitalize and text[:1].isalpha() and tok.kind != "num":  # "pT3 N0" keeps its small p
            text = text[0].upper() + text[1:]
            capitalize = False
        elif capitalize and tok.kind == "num":
            capitalize = False
        if tok.kind == "punct" and tok.text in CLAUSE_PUNCT | {")"}:
            parts.append(text)
        elif tok.kind == "punct" and tok.text in ("-", "/"):
            parts.append((" " if tok.space else "") + text)
        elif (
            (parts and parts[-1].endswith("("))
            or (
                tok.kind == "num"
                and not tok.space
                and idx > 1
                and toks[idx - 1].text == ":"
                and toks[idx - 2].kind == "num"
            )  # a time, "3:40"
            or (tok.kind == "num" and not tok.space and idx > 0 and toks[idx - 1].kind == "word")  # "M1"
            or (
                tok.low in ("st", "nd", "rd", "th")
                and not tok.space
                and idx > 0
                and toks[idx - 1].kind == "num"
            )  # "3rd"
            or (idx > 0 and toks[idx - 1].text in ("-", "/") and not tok.space)
            or not parts
            or parts[-1].endswith("\n")
        ):
            parts.append(text)
        else:
            glue = tok.kind == "unit" and text == "%"
            parts.append(
                (" " if not glue and (tok.space or tok.kind in ("num", "unit", "word")) else "") + text
            )
        if tok.kind == "punct" and tok.text in SENTENCE_END | {":"}:
            capitalize = True
    text = "".join(parts)
    text = re.sub(r"[ \t]+", " ", text)
    text = re.sub(r" *\n *", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()
