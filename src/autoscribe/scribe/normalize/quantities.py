"""Pass 2: quantities. Number words become digits where they are clearly a quantity (a
measurement chain, a unit, a compound number, a number after "series" or "grade"), with the unit's
abbreviation; spine levels and dates are written the way a report writes them."""

from __future__ import annotations

from autoscribe.scribe.normalize.dates import date_at, is_month, slash_date_at, time_at, year_at
from autoscribe.scribe.normalize.numbers import SMALL, TENS, parse_number, parse_point_number
from autoscribe.scribe.normalize.spine import spine_level
from autoscribe.scribe.normalize.staging import tnm_stage
from autoscribe.scribe.normalize.tokens import Tok, words_at
from autoscribe.scribe.wordlists import data_rows, data_sections

# Unit words → the abbreviation a report uses (data/units.tsv). Multi-word units first.
_UNITS: list[tuple[tuple[str, ...], str]] = [
    (tuple(spoken.split()), abbreviation) for spoken, abbreviation in data_rows("units.tsv", 2)
]

_ONE_WORD_UNITS = {spoken[0]: abbreviation for spoken, abbreviation in _UNITS if len(spoken) == 1}


def unit_of(word: str) -> str | None:
    """The abbreviation of a one-word unit, said or written: "millimeters" → "mm", "mm" → "mm"."""
    low = word.lower()
    if low in _ONE_WORD_UNITS:
        return _ONE_WORD_UNITS[low]
    return low if low in _ONE_WORD_UNITS.values() else None


# A quantity follows these words even without a unit ("series 3 image 42", "BI-RADS category 2").
_NUMBER_CONTEXT = frozenset(data_sections("normalize_words.txt")["number context"])
# What is said to "be" a number: "the ASPECTS score is 8", "the Gleason grade was 4" (not "the
# level is one of concern").
_SCORES = frozenset(("score", "grade", "category", "stage", "class", "rads", "aspects"))
# A letter after the number makes a subcategory here ("BI-RADS 4A", "stage 3A").
_SUBCATEGORY_CONTEXT = frozenset(data_sections("normalize_words.txt")["subcategory context"])
_SUBCATEGORY_LETTERS = frozenset("ABCXF")  # F: Bosniak IIF, "class two F"


def _subcategory_letter(toks: list[Tok], k: int, prev: str) -> str | None:
    """The letter of "4 A" after "BI-RADS"/"category"/"stage", written as one letter by the speech
    model ("A", "B") or said as a letter before a full stop; "a" as an article stays a word."""
    if prev not in _SUBCATEGORY_CONTEXT or k >= len(toks) or toks[k].kind != "word":
        return None
    letter = toks[k].text
    if len(letter) != 1 or letter.upper() not in _SUBCATEGORY_LETTERS:
        return None
    after = toks[k + 1] if k + 1 < len(toks) else None
    ends = after is None or after.kind in ("punct", "para", "line", "next") or after.low == "period"
    return letter.upper() if letter.isupper() or ends else None


def _out_of(out: list[Tok]) -> bool:
    """ "2 out of four": the second number of a score."""
    return len(out) >= 3 and out[-1].low == "of" and out[-2].low == "out" and out[-3].kind == "num"


def _unit_at(toks: list[Tok], i: int) -> tuple[str, int] | None:
    j = i
    if j < len(toks) and toks[j].text == "-" and j + 1 < len(toks):
        j += 1  # "1.1-centimeter"
    for words, abbrev in _UNITS:
        got = words_at(toks, j, len(words))
        if got == words:
            return abbrev, j + len(words)
    return None


def _is_by(toks: list[Tok], i: int) -> int | None:
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


# Number words a speech model writes as other words; right before a unit they can only be the
# number: "a free centimeter lesion", "a tree millimeter stone", "ate millimeters".
_NUMBER_SOUNDALIKES = {"free": "three", "tree": "three", "ate": "eight", "won": "one"}


def _homophones(toks: list[Tok]) -> None:
    """ "a for millimeter nodule", "measuring for centimeters": speech models write the number four as
    "for"; after an article or a measuring verb "for" cannot be the preposition. The sound-alikes
    above are numbers right before a unit."""
    for i in range(1, len(toks) - 1):
        tok = toks[i]
        if tok.kind == "word" and tok.low == "for" and toks[i - 1].low in _FOUR_BEFORE:
            nxt = toks[i + 1]
            if nxt.kind in ("word", "num") and nxt.low not in _NOT_FOUR_AFTER:
                tok.text = "four"
    for i, tok in enumerate(toks[:-1]):
        if tok.kind == "word" and tok.low in _NUMBER_SOUNDALIKES and toks[i + 1].low in _UNIT_WORDS:
            tok.text = _NUMBER_SOUNDALIKES[tok.low]


_UNIT_WORDS = {word for words, _ in _UNITS for word in words[:1]}


def _unit_split_off(toks: list[Tok]) -> list[Tok]:
    """ "measures 11. Centimeters": the model heard a pause between a number and its unit as a full
    stop. No sentence starts with a unit, so a full stop the radiologist did not dictate goes."""
    return [
        tok
        for i, tok in enumerate(toks)
        if not (
            tok.text == "."
            and not tok.spoken
            and 0 < i < len(toks) - 1
            and (toks[i - 1].kind == "num" or toks[i - 1].low in SMALL or toks[i - 1].low in TENS)
            and toks[i + 1].low in _UNIT_WORDS
        )
    ]


def _half_at(toks: list[Tok], i: int) -> tuple[str, int, int] | None:
    """ "half a centimeter", "a half centimeter": 0.5 before a unit ("the upper half" stays)."""
    if i >= len(toks) or toks[i].low != "half":
        return None
    j = i + 2 if words_at(toks, i + 1, 1) == ("a",) else i + 1
    return ("0.5", j, j - i) if _unit_at(toks, j) is not None else None


# Units a velocity, a density or a pressure is said in; hundreds said as "one twenty" come before
# these only ("two fifty percent stenoses" are two stenoses of 50%).
_HUNDREDS_UNITS = frozenset(("cm/s", "m/s", "HU", "mmHg"))
_CONTRAST_AGENTS = frozenset(
    ("omnipaque", "isovue", "visipaque", "optiray", "ultravist", "iohexol", "iopamidol")
)
_COUNTING = frozenset(("series", "image", "images", "slice", "segment", "level", "number", "rib", "ribs"))


def _colloquial_hundreds(
    toks: list[Tok], i: int, parsed: tuple[str, int, int], before: str
) -> tuple[str, int, int] | None:
    """ "one twenty centimeters per second" → 120 cm/s, "two fifty five HU" → 255 HU, "one ten
    over seventy" → 110 over 70: hundreds said as velocities, densities and pressures are, a digit
    and then tens or a teen, before their unit (or "over"); elsewhere, and after a word that counts
    ("series three forty five"), "one twenty" stays two numbers."""
    value, j, count = parsed
    if count != 1 or toks[i].kind != "word" or not 1 <= int(value) <= 9 or before in _COUNTING:
        return None
    if (
        j >= len(toks)
        or toks[j].kind != "word"
        or not (toks[j].low in TENS or SMALL.get(toks[j].low, 0) >= 10)
    ):
        return None
    rest = parse_number(toks, j)
    if rest is None or "." in rest[0] or not 10 <= int(rest[0]) <= 99:
        return None
    if before in _CONTRAST_AGENTS:  # "Omnipaque three fifty": the agent's iodine concentration
        return str(int(value) * 100 + int(rest[0])), rest[1], count + rest[2]
    unit = _unit_at(toks, rest[1])
    if (unit is None or unit[0] not in _HUNDREDS_UNITS) and words_at(toks, rest[1], 1) != ("over",):
        return None
    return str(int(value) * 100 + int(rest[0])), rest[1], count + rest[2]


def _number_at(toks: list[Tok], i: int, before: str = "") -> tuple[str, int, int] | None:
    """A number from i as (digits, index after, word count), halves included: "one and a half" →
    1.5, "two and one half" → 2.5, "one half centimeter" → 0.5 cm."""
    parsed = parse_number(toks, i) or parse_point_number(toks, i) or _half_at(toks, i)
    if parsed is None:
        return None
    value, j, count = parsed
    if "." in value:
        return parsed
    hundreds = _colloquial_hundreds(toks, i, parsed, before)
    if hundreds is not None:
        return hundreds
    if words_at(toks, j, 3) in (("and", "a", "half"), ("and", "one", "half")):
        return f"{value}.5", j + 3, count + 3
    if value == "1" and toks[i].kind == "word" and (half := _half_at(toks, j)) is not None:
        return half[0], half[1], count + half[2]
    return parsed


# A range of these is written in digits too ("follow-up in six to twelve months" → 6-12 months).
_SPANS = {(word,) for word in ("seconds", "minutes", "hours", "days", "weeks", "months", "years")}
_DURATIONS = _SPANS | {(word,) for word in ("second", "minute", "hour", "day", "week", "month", "year")}

# "from five to three millimeters" is a change, not a range: "from" this close before the first
# number keeps "to".
_FROM_WINDOW = 3


def _range_end(toks: list[Tok], k: int, low: str, before: list[Tok]) -> tuple[str, str, int] | None:
    """ "two to three millimeters" → 2-3 mm, "between two and three millimeters" → between 2 and 3
    mm: the joiner, the range's upper number and the index after it, when a unit or a span of time
    follows it."""
    if k >= len(toks):
        return None
    recent = [t.low for t in before[-_FROM_WINDOW:]]
    between = bool(recent) and recent[-1] == "between"
    if not (toks[k].low in ("to", "-") or (between and toks[k].low == "and")):
        return None
    upper = _number_at(toks, k + 1)
    if upper is None or (_unit_at(toks, upper[1]) is None and words_at(toks, upper[1], 1)[:1] not in _SPANS):
        return None
    high, end, _ = upper
    if between:
        return " and ", high, end
    if "from" in recent or float(high) <= float(low):
        return " to ", high, end
    return "-", high, end


def _before_a_year(out: list[Tok]) -> str:
    """The word before a spoken year; "and"/"or"/"to" after a year count as the year's own word:
    "from twenty twenty three and twenty twenty four" is 2023 and 2024."""
    prev = out[-1].low if out and out[-1].kind == "word" else ""
    if prev in ("and", "or", "to") and len(out) > 1 and out[-2].kind == "num" and len(out[-2].text) == 4:
        return "from"
    return prev


def numbers_and_units(toks: list[Tok]) -> list[Tok]:
    toks = _unit_split_off(toks)
    _homophones(toks)
    out: list[Tok] = []
    i = 0
    while i < len(toks):
        tok = toks[i]
        after_slash = len(out) >= 2 and out[-1].text == "/" and out[-2].kind == "num"
        if after_slash and (number := parse_number(toks, i)) is not None:
            # "grade two slash four" → 2/4: the number after a slash is as much a number as before it.
            out.append(Tok(number[0], False, "num"))
            i = number[1]
            continue
        stage = tnm_stage(toks, i)
        if stage is not None:
            text, i = stage  # a "num", which a sentence's capital leaves as it is: "pT3"
            out.append(Tok(text, tok.space, "num", heading=tok.heading))
            continue
        spine = spine_level(toks, i)
        if spine is not None:
            text, i = spine
            out.append(Tok(text, tok.space, "num", heading=tok.heading))
            continue
        time = time_at(toks, i, out[-1].low if out and out[-1].kind == "word" else "")
        if time is not None:
            text, i = time
            out.append(Tok(text, tok.space, "word", heading=tok.heading))
            continue
        date = date_at(toks, i) or slash_date_at(toks, i)
        if date is not None:
            text, i = date
            out.append(Tok(text, tok.space, "word", heading=tok.heading))
            continue
        year = year_at(toks, i, _before_a_year(out))
        if year is not None:
            text, i = year
            out.append(Tok(text, tok.space, "num", heading=tok.heading))
            continue
        parsed = _number_at(toks, i, out[-1].low if out and out[-1].kind == "word" else "")
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
            nxt = _number_at(toks, after_by)
            if nxt is None:
                break
            chain.append(nxt[0])
            k = nxt[1]
        unit = _unit_at(toks, k)
        prev = out[-1].low if out and out[-1].kind == "word" else ""
        upper = _range_end(toks, k, value, out) if unit is None and len(chain) == 1 else None
        if upper is not None:
            k = upper[2]
            unit = _unit_at(toks, k)
        is_words = tok.kind == "word"
        convert = upper is not None or (
            not is_words
            or len(chain) > 1
            or unit is not None
            or "." in value
            or nwords > 1
            or int(value) >= 10
            or prev in _NUMBER_CONTEXT
            or (prev == "of" and len(out) > 1 and out[-2].low in _NUMBER_CONTEXT)  # "a score of 7"
            or (prev in ("is", "was") and len(out) > 1 and out[-2].low in _SCORES)  # "ASPECTS score is 8"
            or (prev == "through" and len(out) > 1 and out[-2].kind == "num")  # "ribs 4 through 7"
            or _out_of(out)
            or words_at(toks, k, 1) in _DURATIONS  # "8 weeks 6 days", "in 2 years"
            or words_at(toks, k, 1) in (("french",), ("gauge",))  # "a 5 French catheter"
        )
        if not convert:
            out.append(tok)
            i += 1
            continue
        letter = _subcategory_letter(toks, k, prev) if unit is None and len(chain) == 1 else None
        if letter is not None:
            chain, k = [chain[0] + letter], k + 1
        if upper is not None and upper[0] != "-":
            out.append(Tok(chain[0], tok.space, "num", heading=tok.heading))
            out.append(Tok(upper[0].strip()))
            out.append(Tok(upper[1], True, "num"))
        else:
            written = f"{chain[0]}-{upper[1]}" if upper is not None else " x ".join(chain)
            out.append(Tok(written, tok.space, "num", heading=tok.heading))
        if unit is not None:
            abbrev, k = unit
            out.append(Tok(abbrev, abbrev != "%", "unit"))
        i = k
    _month_names(out)
    return out


def _month_names(toks: list[Tok]) -> None:
    """A month before a year is a name: "from March 2023", "in May of 2021" ("we may see" stays)."""
    for k, tok in enumerate(toks[:-1]):
        if tok.kind != "word" or not is_month(tok.low):
            continue
        year = toks[k + 2] if toks[k + 1].low == "of" and k + 2 < len(toks) else toks[k + 1]
        if year.kind == "num" and len(year.text) == 4 and year.text[:2] in ("19", "20"):
            tok.text = tok.low.capitalize()
