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
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

NEXT_SECTION_MARK = "[next section]"

# Words that, followed by "colon", make a heading (sections and common organ titles).
HEADING_WORDS = {
    "impression",
    "impressions",
    "findings",
    "finding",
    "technique",
    "comparison",
    "comparisons",
    "indication",
    "history",
    "clinical indication",
    "clinical history",
    "reason for exam",
    "conclusion",
    "recommendation",
    "recommendations",
    "note",
    "procedure",
    "exam",
    "examination",
    "lungs",
    "lung",
    "pleura",
    "heart",
    "mediastinum",
    "heart and mediastinum",
    "airways",
    "bones",
    "osseous structures",
    "soft tissues",
    "liver",
    "gallbladder",
    "biliary",
    "pancreas",
    "spleen",
    "adrenals",
    "adrenal glands",
    "kidneys",
    "bladder",
    "bowel",
    "vessels",
    "vasculature",
    "lymph nodes",
    "pelvis",
    "pelvic organs",
    "brain",
    "ventricles",
    "sinuses",
    "orbits",
    "menisci",
    "ligaments",
    "cartilage",
    "tendons",
    "rotator cuff",
    "labrum",
    "joint",
    "breasts",
    "breast",
    "aorta",
    "pulmonary arteries",
    "other",
    "lines and tubes",
    "upper abdomen",
    "extracranial",
    "calvarium",
    "parenchyma",
    "abdomen",
    "chest",
    "thyroid",
    "biliary tree",
    "effusion",
}

# Report sections a radiologist names by saying them on their own ("Findings." "Impression, ...").
# The section mapper knows each of these as a heading (mapper._SECTION_HEADINGS).
SECTION_PHRASES: tuple[tuple[str, ...], ...] = tuple(
    sorted(
        (
            ("findings",),
            ("finding",),
            ("impression",),
            ("impressions",),
            ("conclusion",),
            ("conclusions",),
            ("in", "conclusion"),
            ("technique",),
            ("comparison",),
            ("comparisons",),
            ("indication",),
            ("indications",),
            ("clinical", "indication"),
            ("history",),
            ("clinical", "history"),
            ("clinical", "information"),
            ("reason", "for", "exam"),
            ("reason", "for", "examination"),
            ("reason", "for", "study"),
        ),
        key=len,
        reverse=True,
    )
)
_PHRASE_STARTS = frozenset(phrase[0] for phrase in SECTION_PHRASES)
# A section word followed by one of these begins a sentence about it, not a heading:
# "Findings are consistent with ...", "History of ...", "Comparison with the prior ...".
_CONTINUATION = frozenset(
    {
        "are", "is", "was", "were", "be", "been", "being", "has", "have", "had", "do", "does", "did",
        "will", "would", "could", "should", "may", "might", "can", "cannot", "must", "not", "also",
        "of", "in", "on", "at", "to", "for", "from", "with", "by", "as", "than", "that", "which",
        "and", "or", "but", "nor", "so", "such", "alone", "only", "above", "below", "here",
        "suggest", "suggests", "suggestive", "suggesting", "consistent", "compatible", "concerning",
        "favor", "favors", "favour", "favours", "likely", "probably", "possibly", "most", "more",
        "represent", "represents", "reflect", "reflects", "indicate", "indicates", "indicative",
        "raise", "raises", "support", "supports", "include", "includes", "including", "remain",
        "remains", "persist", "persists", "appear", "appears", "seem", "seems", "show", "shows",
        "demonstrate", "demonstrates", "correlate", "correlates", "discussed", "communicated",
        "described", "detailed", "noted", "seen", "made", "performed", "obtained", "provided",
        "given", "listed", "outlined", "summarized", "follow", "follows", "again", "themselves",
        "itself", "we", "i", "you",
    }
)  # fmt: skip
_HEADING_MARKS = frozenset({".", ":", ",", ";", "-", "\u2013", "\u2014"})

_SMALL = {
    "zero": 0,
    "oh": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
_TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fourty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
_ORDINALS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
    "eleventh": 11,
    "twelfth": 12,
    "thirteenth": 13,
    "fourteenth": 14,
    "fifteenth": 15,
    "sixteenth": 16,
    "seventeenth": 17,
    "eighteenth": 18,
    "nineteenth": 19,
    "twentieth": 20,
    "thirtieth": 30,
}
_MONTHS = {
    m: i
    for i, m in enumerate(
        (
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ),
        1,
    )
}
_MONTH_NAMES = {v: k.capitalize() for k, v in _MONTHS.items()}

# Unit words → the abbreviation a report uses. Multi-word units first.
_UNITS: list[tuple[tuple[str, ...], str]] = [
    (("hounsfield", "units"), "HU"),
    (("hounsfield", "unit"), "HU"),
    (("cubic", "centimeters"), "mL"),
    (("centimeters",), "cm"),
    (("centimeter",), "cm"),
    (("centimetres",), "cm"),
    (("centimetre",), "cm"),
    (("cm",), "cm"),
    (("cms",), "cm"),
    (("millimeters",), "mm"),
    (("millimeter",), "mm"),
    (("millimetres",), "mm"),
    (("millimetre",), "mm"),
    (("mm",), "mm"),
    (("milliliters",), "mL"),
    (("milliliter",), "mL"),
    (("ml",), "mL"),
    (("cc",), "mL"),
    (("ccs",), "mL"),
    (("meters",), "m"),
    (("meter",), "m"),
    (("hu",), "HU"),
    (("percent",), "%"),
    (("milligrams",), "mg"),
    (("milligram",), "mg"),
    (("degrees",), "degrees"),
    (("degree",), "degrees"),
]
UNIT_ABBREVIATIONS = {"cm", "mm", "mL", "m", "HU", "%", "mg", "degrees"}

# A quantity follows these words even without a unit ("series 3 image 42", "BI-RADS category 2").
_NUMBER_CONTEXT = {
    "series",
    "image",
    "images",
    "level",
    "grade",
    "category",
    "measuring",
    "measures",
    "measured",
    "segment",
    "bi-rads",
    "birads",
    "ti-rads",
    "tirads",
    "bosniak",
    "lirads",
    "li-rads",
    "size",
    "age",
    "score",
    "type",
    "number",
    "slice",
    "rib",
    "ribs",
    "approximately",
    "about",
    "x",
}
_SPINE_MAX = {"c": 7, "t": 12, "l": 5, "s": 5}
_NUMBER_WORDS = set(_SMALL) | set(_TENS) | {"point", "hundred", "thousand"}
# Words no sentence ends with: a "period" right after one is not the dictated full stop.
OPEN_WORDS = frozenset({"no", "not", "without", "a", "an", "the", "of", "with", "and", "or"})

_TOKEN = re.compile(r"\d+(?:\.\d+)?|[A-Za-z]+(?:['\u2019][A-Za-z]+)*|\n|[^\sA-Za-z\d]")
_SENTENCE_END = {".", "?", "!"}
_CLAUSE_PUNCT = {".", ",", ":", ";", "?", "!"}


@dataclass
class _Tok:
    text: str
    space: bool = True  # whitespace before this token in the output
    kind: str = "word"  # word | num | punct | para | line | next | unit
    spoken: bool = False  # punctuation that was dictated as a word
    heading: bool = False  # first word of a heading: starts a new line

    @property
    def low(self) -> str:
        return self.text.lower()


@dataclass
class _State:
    toks: list[_Tok] = field(default_factory=list)


def _tokenize(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    for match in _TOKEN.finditer(text):
        raw = match.group()
        space = (
            match.start() > pos and bool(text[pos : match.start()].strip(" \t") == "") and match.start() > 0
        )
        space = space or (match.start() > pos)
        pos = match.end()
        if raw == "\n":
            out.append(_Tok("\n", kind="line"))
        elif raw[0].isdigit():
            out.append(_Tok(raw, space, "num"))
        elif raw[0].isalpha():
            out.append(_Tok(raw, space, "word"))
        else:
            out.append(_Tok(raw, space, "punct"))
    if out:
        out[0].space = False
    return out


def _words(toks: list[_Tok], i: int, n: int) -> tuple[str, ...]:
    out = []
    for tok in toks[i : i + n]:
        if tok.kind != "word":
            break
        out.append(tok.low)
    return tuple(out)


def _sentence_start(toks: list[_Tok], i: int) -> int:
    """Index of the first token of the sentence that contains position i."""
    j = i
    while j > 0:
        prev = toks[j - 1]
        if prev.kind in ("para", "line", "next") or prev.text in _SENTENCE_END or prev.text == ":":
            break
        j -= 1
    return j


# ---- pass 1: spoken commands and punctuation ----------------------------------------------------


def _commands(toks: list[_Tok]) -> list[_Tok]:
    out: list[_Tok] = []
    # A radiologist who dictates punctuation says every comma they want: the commas the model adds
    # on its own ("a small right, pleural effusion") are then noise.
    dictates_punctuation = any(t.kind == "word" and t.low in ("period", "comma") for t in toks)
    # A transcript without a single sentence end: section words are its only structure.
    unpunctuated = not any(
        (t.kind == "punct" and t.text in _SENTENCE_END) or (t.kind == "word" and t.low in ("period", "stop"))
        for t in toks
    )
    i = 0
    while i < len(toks):
        tok = toks[i]
        if dictates_punctuation and tok.kind == "punct" and tok.text == ",":
            i += 1
            continue
        two = _words(toks, i, 2)
        if two in (("new", "paragraph"), ("next", "paragraph")):
            out.append(_Tok("\n\n", kind="para"))
            i += 2
            continue
        if two in (("new", "line"), ("next", "line")) and not _is_text_line(out):
            out.append(_Tok("\n", kind="line"))
            i += 2
            continue
        if two == ("next", "section"):
            out.append(_Tok(NEXT_SECTION_MARK, kind="next"))
            i += 2
            continue
        scratch = _scratch_command(toks, i)
        if scratch:
            _scratch(out)
            i += scratch
            # The model often punctuates the command itself ("Scratch that.").
            while i < len(toks) and (
                (toks[i].kind == "punct" and toks[i].text in _CLAUSE_PUNCT)
                or toks[i].low in ("period", "comma")
            ):
                i += 1
            continue
        if two == ("full", "stop"):
            out.append(_Tok(".", False, "punct", spoken=True))
            i += 2
            continue
        if two == ("question", "mark"):
            out.append(_Tok("?", False, "punct", spoken=True))
            i += 2
            continue
        if two in (("semi", "colon"),):
            out.append(_Tok(";", False, "punct", spoken=True))
            i += 2
            continue
        if two in (("open", "parenthesis"), ("open", "paren")):
            out.append(_Tok("(", True, "punct", spoken=True))
            i += 2
            continue
        if two in (("close", "parenthesis"), ("close", "paren")):
            out.append(_Tok(")", False, "punct", spoken=True))
            i += 2
            continue
        heading = _spoken_heading(toks, i, out, unpunctuated)
        if heading is not None:
            words, i = heading
            _emit_heading(out, words)
            continue
        low = tok.low if tok.kind == "word" else ""
        if (
            low == "the"
            and i + 1 < len(toks)
            and toks[i + 1].low == "period"
            and not _period_is_word(toks, i + 1, True)
        ):
            # "the period": a filler the model puts before a dictated full stop.
            out.append(_Tok(".", False, "punct", spoken=True))
            i += 2
            continue
        nxt_low = toks[i + 1].low if i + 1 < len(toks) else ""
        if low == "the" and nxt_low == "period" and not _period_is_word(toks, i + 1, after_the=True):
            i += 1  # "the period": a filler the model puts before a dictated full stop
            continue
        if low == "period" and not _period_is_word(toks, i):
            out.append(_Tok(".", False, "punct", spoken=True))
        elif low == "comma":
            out.append(_Tok(",", False, "punct", spoken=True))
        elif low == "semicolon":
            out.append(_Tok(";", False, "punct", spoken=True))
        elif low == "colon" and _section_heading_tail(out):
            _break_before_section_heading(out)
            start = _heading_before(out)
            assert start is not None
            out[start].heading = True
            out.append(_Tok(":", False, "punct", spoken=True))
        elif low == "colon" and _heading_before(out) is not None:
            start = _heading_before(out)
            assert start is not None
            out[start].heading = True
            out.append(_Tok(":", False, "punct", spoken=True))
        elif tok.kind == "punct" and tok.text == ":" and _heading_before(out) is not None:
            start = _heading_before(out)
            assert start is not None
            out[start].heading = True
            out.append(tok)
        else:
            out.append(tok)
        i += 1
    return _dedupe_punct(out)


def _scratch_command(toks: list[_Tok], i: int) -> int:
    """How many words "scratch that" / "delete (the) last sentence" takes at i (0: not a command)."""
    if _words(toks, i, 2) in (("scratch", "that"), ("strike", "that"), ("delete", "that")):
        return 2
    words = _words(toks, i, 4)
    if words[:1] and words[0] in ("delete", "scratch", "strike", "remove", "erase"):
        rest = words[2:] if words[1:2] == ("the",) else words[1:]
        if rest[:2] == ("last", "sentence") or rest[:2] == ("previous", "sentence"):
            return len(words) - len(rest) + 2
    return 0


def _is_text_line(out: list[_Tok]) -> bool:
    """ "a new line", "no new line": the words describe a line (a catheter), not the command."""
    return bool(out) and out[-1].kind == "word" and out[-1].low in OPEN_WORDS | {"any", "is", "are"}


def _at_sentence_start(out: list[_Tok]) -> bool:
    if not out:
        return True
    prev = out[-1]
    return prev.kind in ("para", "line", "next") or prev.text in _SENTENCE_END or prev.text == ":"


def _heading_mark(toks: list[_Tok], j: int) -> int | None:
    """After a section name at j: the index past the mark that makes it a heading (a full stop,
    colon or comma, written or spoken; the end of a line or of the dictation), else None."""
    if j >= len(toks) or toks[j].kind in ("line", "para", "next"):
        return j
    tok = toks[j]
    if tok.kind == "punct":
        return j + 1 if tok.text in _HEADING_MARKS else None
    words = _words(toks, j, 4)
    if words[:2] == ("full", "stop"):
        return j + 2
    if words[:1] in (("colon",), ("comma",), ("semicolon",)):
        return j + 1
    if words[:1] == ("period",) and not _period_is_word(toks, j, after_the=True):
        return j + 1
    # "Findings are as follows." / "The impression is as follows:" ("our": how the model hears "are")
    if words[1:3] == ("as", "follows") and words[0] in ("are", "is", "our"):
        after = _heading_mark(toks, j + 3)
        return j + 3 if after is None else after
    return None


def _spoken_heading(
    toks: list[_Tok], i: int, out: list[_Tok], unpunctuated: bool = False
) -> tuple[list[_Tok], int] | None:
    """A report section named on its own at i: (its words, the index past it and its mark).

    At the start of a sentence the name must stand alone: followed by a mark (`_heading_mark`),
    or by a word that cannot continue a sentence about it ("Impression no acute abnormality", but
    not "Findings are consistent with ..."). Mid-sentence, where the model did not hear the
    sentence end, the name counts only with the marks of a pause around it: a comma before and a
    mark after ("..., impression, normal chest."), a capital and a full stop ("... no effusion
    Impression. Normal."), or, for "impression"/"conclusion", a mark after and no word before
    that would make it a noun of the sentence ("... no effusion impression, normal", not
    "... extrinsic impression, likely ..."). In a dictation the model left without any sentence
    end (`unpunctuated`), a section word between two words that cannot belong to it counts too.
    """
    tok = toks[i]
    if tok.kind != "word" or (tok.low not in _PHRASE_STARTS and tok.low != "the"):
        return None
    start = i
    if tok.low == "the" and _words(toks, i + 1, 1) in (("findings",), ("impression",)):
        start = i + 1  # "The findings are as follows."
    for phrase in SECTION_PHRASES:
        if _words(toks, start, len(phrase)) != phrase:
            continue
        j = start + len(phrase)
        words = toks[start:j]
        if start != i and _words(toks, j, 3)[1:3] != ("as", "follows"):
            return None
        mark = _heading_mark(toks, j)
        nxt = toks[j] if j < len(toks) else None
        free_after = nxt is not None and nxt.kind in ("word", "num") and nxt.low not in _CONTINUATION
        if _at_sentence_start(out):
            if mark is not None:
                return words, mark
            return (words, j) if free_after else None
        prev = out[-1]
        if mark is not None and nxt is not None:  # a mark after it, not just the end
            if prev.kind == "punct" and prev.text == ",":
                return words, mark
            if prev.kind not in ("word", "num", "unit") or prev.low in _MODIFIERS:
                return None
            closed = nxt.text in (".", ":") or nxt.low in ("period", "colon")
            if (closed and words[0].text[:1].isupper()) or phrase in _LONE_WORDS:
                return words, mark
            return None
        if prev.kind not in ("word", "num", "unit") or prev.low in _MODIFIERS:
            return None
        if unpunctuated and phrase in _LONE_WORDS | _UNPUNCTUATED_WORDS and (free_after or nxt is None):
            return words, j
        return None
    return None


# Section words that, mid-sentence and closed by a mark, are rarely anything but a heading.
_LONE_WORDS = frozenset({("impression",), ("impressions",), ("conclusion",)})
_UNPUNCTUATED_WORDS = frozenset(
    {("findings",), ("finding",), ("technique",), ("comparison",), ("indication",)}
)
# Words that make a following section word a noun of their sentence ("these findings",
# "extrinsic impression", "the comparison").
_MODIFIERS = OPEN_WORDS | {
    "an", "this", "that", "these", "those", "such", "other", "similar", "same", "my", "our", "your",
    "their", "its", "his", "her", "any", "some", "all", "both", "each", "new", "further", "clinical",
    "overall", "general", "initial", "first", "final", "main", "key", "imaging", "radiographic",
    "radiologic", "radiological", "sonographic", "ultrasound", "ct", "mr", "mri", "pet", "extrinsic",
    "mass", "mild", "slight", "smooth", "subtle", "incidental", "additional", "above", "prior",
    "previous", "nonspecific", "expected", "postoperative", "postsurgical", "interval", "direct",
    "family", "medical", "surgical", "past", "social", "in", "on", "for", "to", "by", "at", "from",
    "is", "are", "was", "were", "be", "been",
}  # fmt: skip


def _emit_heading(out: list[_Tok], words: list[_Tok]) -> None:
    """The heading as the mapper reads it: "Impression:" starting a line (closing an open sentence)."""
    if out and out[-1].kind == "punct" and out[-1].text == ",":
        out.pop()  # "..., impression, normal": the comma was the sentence end
    if not _at_sentence_start(out):
        out.append(_Tok(".", False, "punct"))
    for k, word in enumerate(words):
        out.append(_Tok(word.text, word.space, "word", heading=k == 0))
    out.append(_Tok(":", False, "punct", spoken=True))


def _period_is_word(toks: list[_Tok], i: int, after_the: bool = False) -> bool:
    """ "a period of two weeks", "the postoperative period": period the noun, not the full stop.

    With `after_the`, only what follows decides ("... absent the period impression colon")."""
    nxt = toks[i + 1].low if i + 1 < len(toks) and toks[i + 1].kind == "word" else ""
    if nxt in ("of", "since", "between", "after", "before", "during"):
        return True
    if after_the:
        return False
    prev = toks[i - 1].low if i > 0 and toks[i - 1].kind == "word" else ""
    return prev in OPEN_WORDS or prev in ("this", "that", "postoperative", "interval", "time")


def _heading_before(out: list[_Tok]) -> int | None:
    """If the words since the last sentence break form a heading, the index of its first word."""
    start = _sentence_start(out, len(out))
    words = out[start:]
    if not words or len(words) > 4 or any(t.kind != "word" for t in words):
        return None
    phrase = " ".join(t.low for t in words)
    return start if phrase in HEADING_WORDS else None


_SECTION_WORDS = {
    "impression",
    "impressions",
    "findings",
    "technique",
    "comparison",
    "indication",
    "history",
    "conclusion",
}
_FILLERS = {"the", "there", "is", "a", "and", "period", "then"}


def _section_heading_tail(out: list[_Tok]) -> bool:
    """ "... absent impression colon": a report-section word before "colon" always starts a heading,
    even when the full stop before it was not heard."""
    return bool(out) and out[-1].kind == "word" and out[-1].low in _SECTION_WORDS


def _break_before_section_heading(out: list[_Tok]) -> None:
    heading = out.pop()
    if out and out[-1].kind == "word" and out[-1].low in ("clinical", "reason"):
        heading = _Tok(f"{out.pop().text} {heading.text}", heading.space)
    # The model pads a heading with filler it did not hear ("the period impression colon").
    start = _sentence_start(out, len(out))
    if start < len(out) and all(t.kind == "word" and t.low in _FILLERS for t in out[start:]):
        del out[start:]
    if out and not (
        out[-1].kind in ("para", "line", "next") or out[-1].text in _SENTENCE_END or out[-1].text == ":"
    ):
        out.append(_Tok(".", False, "punct"))
    out.append(heading)


def _scratch(out: list[_Tok]) -> None:
    """Delete the sentence being dictated; if none is open, the last finished sentence."""
    while out and out[-1].kind in ("para", "line"):
        out.pop()
    start = _sentence_start(out, len(out))
    if start == len(out) and out:
        # Nothing open: remove the previous sentence, including its full stop.
        end_punct = out.pop()
        if end_punct.kind == "next":
            return
        start = _sentence_start(out, len(out))
    del out[start:]


def _dedupe_punct(toks: list[_Tok]) -> list[_Tok]:
    """ "lesion period." → one full stop: the dictated mark wins over the model's own."""
    out: list[_Tok] = []
    for tok in toks:
        if tok.kind == "punct" and tok.text in _CLAUSE_PUNCT and out:
            prev = out[-1]
            if prev.kind == "punct" and prev.text in _CLAUSE_PUNCT:
                if tok.spoken and not prev.spoken:
                    out[-1] = tok
                continue
            if prev.kind in ("para", "line", "next") or (prev.kind == "punct" and prev.text == "("):
                continue  # punctuation at the start of a line means nothing
        out.append(tok)
    while out and out[0].kind == "punct" and out[0].text in _CLAUSE_PUNCT:
        out.pop(0)
    return out


# ---- pass 2: numbers -----------------------------------------------------------------------------


def _parse_number(toks: list[_Tok], i: int) -> tuple[str, int, int] | None:
    """Number words (or digits) from i: (digits, index after, word count). Stops where a new number starts."""
    if i >= len(toks):
        return None
    tok = toks[i]
    if tok.kind == "num":
        return tok.text, i + 1, 1
    if tok.kind != "word":
        return None
    total = 0
    current = 0
    j = i
    last = ""  # "unit" | "teen" | "tens" | "hundred" | "thousand"
    count = 0
    while j < len(toks) and toks[j].kind == "word":
        w = toks[j].low
        if w in _SMALL and _SMALL[w] < 10 and w != "oh":
            if last in ("unit", "teen"):
                break
            current += _SMALL[w]
            last = "unit"
        elif w in _SMALL and w != "oh":
            if last in ("unit", "teen", "tens"):
                break
            current += _SMALL[w]
            last = "teen"
        elif w in _TENS:
            if last in ("unit", "teen", "tens"):
                break
            current += _TENS[w]
            last = "tens"
        elif w == "hundred" and last in ("unit", "teen"):
            current *= 100
            last = "hundred"
        elif w == "thousand" and last in ("unit", "teen", "tens", "hundred"):
            total += current * 1000
            current = 0
            last = "thousand"
        elif (
            w == "and"
            and last in ("hundred", "thousand")
            and j + 1 < len(toks)
            and (toks[j + 1].low in _SMALL or toks[j + 1].low in _TENS)
        ):
            j += 1
            count += 1
            continue
        else:
            break
        j += 1
        count += 1
    if count == 0:
        return None
    value = str(total + current)
    # Decimals: "point" then single digits ("two point three five" → 2.35; "point five" → 0.5).
    if j < len(toks) and toks[j].low == "point":
        digits = ""
        k = j + 1
        while k < len(toks) and toks[k].kind == "word" and toks[k].low in _SMALL and _SMALL[toks[k].low] < 10:
            digits += str(_SMALL[toks[k].low])
            k += 1
        if k < len(toks) and toks[k].kind == "num" and not digits and "." not in toks[k].text:
            digits = toks[k].text
            k += 1
        if digits:
            return f"{value}.{digits}", k, count + (k - j)
    return value, j, count


def _parse_point_number(toks: list[_Tok], i: int) -> tuple[str, int, int] | None:
    """ "point five" (no leading zero) → 0.5."""
    if i < len(toks) and toks[i].low == "point":
        digits = ""
        k = i + 1
        while k < len(toks) and toks[k].kind == "word" and toks[k].low in _SMALL and _SMALL[toks[k].low] < 10:
            digits += str(_SMALL[toks[k].low])
            k += 1
        if digits:
            return f"0.{digits}", k, k - i
    return None


def _unit_at(toks: list[_Tok], i: int) -> tuple[str, int] | None:
    j = i
    if j < len(toks) and toks[j].text == "-" and j + 1 < len(toks):
        j += 1  # "1.1-centimeter"
    for words, abbrev in _UNITS:
        got = _words(toks, j, len(words))
        if got == words:
            return abbrev, j + len(words)
    return None


def _is_by(toks: list[_Tok], i: int) -> int | None:
    """Index after "by"/"x"/"times" (with optional hyphens) if it sits at i, else None."""
    j = i
    if j < len(toks) and toks[j].text == "-":
        j += 1
    if j < len(toks) and toks[j].low in ("by", "x", "times", "\u00d7"):
        j += 1
        if j < len(toks) and toks[j].text == "-":
            j += 1
        return j
    return None


_FOUR_BEFORE = {"a", "an", "measuring", "measures", "measured", "measure", "approximately"}
_NOT_FOUR_AFTER = {"the", "a", "an", "this", "that", "these", "those", "evaluation", "comparison", "further"}


def _homophones(toks: list[_Tok]) -> None:
    """ "a for millimeter nodule", "measuring for centimeters": speech models write the number four as
    "for"; after an article or a measuring verb "for" cannot be the preposition."""
    for i in range(1, len(toks) - 1):
        tok = toks[i]
        if tok.kind == "word" and tok.low == "for" and toks[i - 1].low in _FOUR_BEFORE:
            nxt = toks[i + 1]
            if nxt.kind in ("word", "num") and nxt.low not in _NOT_FOUR_AFTER:
                tok.text = "four"


_UNIT_WORDS = {word for words, _ in _UNITS for word in words[:1]}


def _unit_split_off(toks: list[_Tok]) -> list[_Tok]:
    """ "measures 11. Centimeters": the model heard a pause between a number and its unit as a full
    stop. No sentence starts with a unit, so a full stop the radiologist did not dictate goes."""
    return [
        tok
        for i, tok in enumerate(toks)
        if not (
            tok.text == "."
            and not tok.spoken
            and 0 < i < len(toks) - 1
            and (toks[i - 1].kind == "num" or toks[i - 1].low in _SMALL or toks[i - 1].low in _TENS)
            and toks[i + 1].low in _UNIT_WORDS
        )
    ]


def _numbers(toks: list[_Tok]) -> list[_Tok]:
    toks = _unit_split_off(toks)
    _homophones(toks)
    out: list[_Tok] = []
    i = 0
    while i < len(toks):
        tok = toks[i]
        spine = _spine_level(toks, i)
        if spine is not None:
            text, i = spine
            out.append(_Tok(text, tok.space, "num", heading=tok.heading))
            continue
        date = _date(toks, i)
        if date is not None:
            text, i = date
            out.append(_Tok(text, tok.space, "word", heading=tok.heading))
            continue
        parsed = _parse_number(toks, i) or _parse_point_number(toks, i)
        if parsed is None:
            out.append(tok)
            i += 1
            continue
        value, j, nwords = parsed
        chain = [value]
        k = j
        # Measurement chains: "2.3 by 1.1 by 0.9".
        while True:
            after_by = _is_by(toks, k)
            if after_by is None:
                break
            nxt = _parse_number(toks, after_by) or _parse_point_number(toks, after_by)
            if nxt is None:
                break
            chain.append(nxt[0])
            k = nxt[1]
        unit = _unit_at(toks, k)
        prev = out[-1].low if out and out[-1].kind == "word" else ""
        is_words = tok.kind == "word"
        convert = (
            not is_words
            or len(chain) > 1
            or unit is not None
            or "." in value
            or nwords > 1
            or int(value) >= 10
            or prev in _NUMBER_CONTEXT
        )
        if not convert:
            out.append(tok)
            i += 1
            continue
        out.append(_Tok(" x ".join(chain), tok.space, "num", heading=tok.heading))
        if unit is not None:
            abbrev, k = unit
            out.append(_Tok(abbrev, abbrev != "%", "unit"))
        i = k
    return out


def _spine_digit(toks: list[_Tok], i: int) -> tuple[int, int] | None:
    if i >= len(toks):
        return None
    tok = toks[i]
    if tok.kind == "num" and tok.text.isdigit():
        return int(tok.text), i + 1
    parsed = _parse_number(toks, i)
    if parsed and "." not in parsed[0] and parsed[2] <= 2 and tok.kind == "word":
        return int(parsed[0]), parsed[1]
    return None


def _spine_level(toks: list[_Tok], i: int) -> tuple[str, int] | None:
    """ "L four five" → L4-L5, "L5 S1" → L5-S1, "C5-6" → C5-C6, "T twelve" → T12."""
    tok = toks[i]
    letter = tok.low
    if tok.kind != "word" or letter not in _SPINE_MAX:
        return None
    # Letters as words only count as a spine level when written capital or followed by a number.
    first = _spine_digit(toks, i + 1)
    if first is None:
        return None
    n1, j = first
    if toks[i + 1].kind == "num" and len(toks[i + 1].text) == 2 and n1 > _SPINE_MAX[letter]:
        # "L45" / "C56": two adjacent levels written together.
        a, b = divmod(n1, 10)
        if 1 <= a <= _SPINE_MAX[letter] and b == a + 1:
            return f"{letter.upper()}{a}-{letter.upper()}{b}", j
        return None
    if not 1 <= n1 <= _SPINE_MAX[letter]:
        return None
    if tok.text.islower() and toks[i + 1].kind == "word" and not _spine_context(toks, i):
        return None  # "a t one" is not a spine level; lowercase single letters need context
    k = j
    if k < len(toks) and (toks[k].text == "-" or toks[k].low == "dash"):  # "T12 to L1" is a range: kept
        k += 1
    # Second level: another letter ("L5 S1", "T12 L1") or just a number ("L4 5").
    if k < len(toks) and toks[k].kind == "word" and toks[k].low in _SPINE_MAX:
        second = _spine_digit(toks, k + 1)
        if second is not None and 1 <= second[0] <= _SPINE_MAX[toks[k].low]:
            return f"{letter.upper()}{n1}-{toks[k].low.upper()}{second[0]}", second[1]
    second = _spine_digit(toks, k)
    if second is not None and second[0] == n1 + 1 and second[0] <= _SPINE_MAX[letter]:
        return f"{letter.upper()}{n1}-{letter.upper()}{second[0]}", second[1]
    return f"{letter.upper()}{n1}", j


def _spine_context(toks: list[_Tok], i: int) -> bool:
    window = {t.low for t in toks[max(0, i - 4) : i]}
    return bool(window & {"at", "level", "levels", "from", "and", "vertebral", "vertebra", "disc"})


def _date(toks: list[_Tok], i: int) -> tuple[str, int] | None:
    """ "January fifth twenty twenty four" → "January 5, 2024"; the year is optional."""
    if (
        toks[i].kind != "word"
        or toks[i].low not in _MONTHS
        or (toks[i].low == "may" and not toks[i].text[0].isupper())
    ):
        return None
    month = _MONTHS[toks[i].low]
    j = i + 1
    if j < len(toks) and toks[j].low == "the":
        j += 1
    day: int | None = None
    if j < len(toks) and toks[j].kind == "word" and toks[j].low in _ORDINALS:
        day = _ORDINALS[toks[j].low]
        j += 1
    elif j + 1 < len(toks) and toks[j].low in _TENS and toks[j + 1].low in _ORDINALS:
        day = _TENS[toks[j].low] + _ORDINALS[toks[j + 1].low]
        j += 2
    elif j < len(toks) and toks[j].kind == "num" and toks[j].text.isdigit() and 1 <= int(toks[j].text) <= 31:
        day = int(toks[j].text)
        j += 1
        if j < len(toks) and toks[j].low in ("st", "nd", "rd", "th"):
            j += 1
    if day is None or not 1 <= day <= 31:
        return None
    if j < len(toks) and toks[j].text == ",":
        j += 1
    year, k = _year(toks, j)
    text = f"{_MONTH_NAMES[month]} {day}"
    if year is not None:
        return f"{text}, {year}", k
    return text, j if toks[j - 1].text != "," else j - 1


def _year(toks: list[_Tok], j: int) -> tuple[int | None, int]:
    if j < len(toks) and toks[j].kind == "num" and len(toks[j].text) == 4:
        return int(toks[j].text), j + 1
    words = _words(toks, j, 4)
    # "twenty twenty four", "nineteen ninety nine": two two-digit halves.
    if len(words) >= 2 and words[0] in ("twenty", "nineteen"):
        century = 20 if words[0] == "twenty" else 19
        rest = _parse_number(toks, j + 1)
        if rest is not None and "." not in rest[0] and int(rest[0]) < 100:
            return century * 100 + int(rest[0]), rest[1]
    # "two thousand twenty four"
    parsed = _parse_number(toks, j)
    if parsed is not None and "." not in parsed[0] and 1900 <= int(parsed[0]) <= 2100:
        return int(parsed[0]), parsed[1]
    return None, j


# ---- pass 3: joining -----------------------------------------------------------------------------


def _join(toks: list[_Tok]) -> str:
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
        if tok.heading:
            if parts and not parts[-1].endswith("\n"):
                parts.append("\n")
            capitalize = True
        if capitalize and text[:1].isalpha():
            text = text[0].upper() + text[1:]
            capitalize = False
        elif capitalize and tok.kind == "num":
            capitalize = False
        if tok.kind == "punct" and tok.text in _CLAUSE_PUNCT | {")"}:
            parts.append(text)
        elif tok.kind == "punct" and tok.text in ("-", "/"):
            parts.append((" " if tok.space else "") + text)
        elif (
            (parts and parts[-1].endswith("("))
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
        if tok.kind == "punct" and tok.text in _SENTENCE_END | {":"}:
            capitalize = True
    text = "".join(parts)
    text = re.sub(r"[ \t]+", " ", text)
    text = re.sub(r" *\n *", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def _collapse_repeats(toks: list[_Tok]) -> list[_Tok]:
    """ "the the liver", "lesion, lesion, lesion": a stutter, or a speech model stuck in a loop, says a
    word or phrase (up to four words, within a sentence) again right after itself; once is meant.
    Number words are kept ("point one one" is 0.11); the commas the model puts between repeats go."""
    out: list[_Tok] = []
    words: list[int] = []  # indices in `out` of the tokens compared: all but commas
    for tok in toks:
        out.append(tok)
        if tok.kind == "punct" and tok.text == ",":
            continue
        words.append(len(out) - 1)
        if tok.kind != "word":
            continue
        for n in range(1, 5):
            if len(words) < 2 * n or any(out[k].kind != "word" for k in words[-2 * n :]):
                continue
            tail = [out[k].low for k in words[-n:]]
            if tail == [out[k].low for k in words[-2 * n : -n]] and not set(tail) & _NUMBER_WORDS:
                cut = words[-n]
                del out[cut:]  # drop the repeat and the commas before it
                del words[-n:]
                break
    return out


def normalize(text: str) -> str:
    """Turn dictated text into report text (see the module docstring)."""
    toks = _tokenize(text.replace("\r\n", "\n"))
    toks = _collapse_repeats(_commands(toks))  # after the commands: "scratch that" twice means twice
    toks = _numbers(toks)
    toks = _dedupe_punct(toks)
    return _join(toks)
