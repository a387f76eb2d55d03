"""Spoken dates: "January fifth twenty twenty four" → "January 5, 2024"."""

from __future__ import annotations

from autoscribe.scribe.normalize.numbers import SMALL, TENS, parse_number
from autoscribe.scribe.normalize.tokens import Tok, words_at

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


def is_month(word: str) -> bool:
    return word.lower() in _MONTHS


def date_at(toks: list[Tok], i: int) -> tuple[str, int] | None:
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
    elif j + 1 < len(toks) and toks[j].low in TENS and toks[j + 1].low in _ORDINALS:
        day = TENS[toks[j].low] + _ORDINALS[toks[j + 1].low]
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
    if year is None:
        # "March fifth twenty five": a year said by its last two digits.
        two = _small_number(toks, j)
        if two is not None and two[0] >= 10 and two[1] - j == 2:
            year, k = (2000 if two[0] <= 40 else 1900) + two[0], two[1]
    text = f"{_MONTH_NAMES[month]} {day}"
    if year is not None:
        return f"{text}, {year}", k
    return text, j if toks[j - 1].text != "," else j - 1


def _slash_at(toks: list[Tok], i: int) -> bool:
    return i < len(toks) and (toks[i].low == "slash" or toks[i].text == "/")


def _date_number(toks: list[Tok], i: int, largest: int) -> tuple[int, int] | None:
    """A month or day said or written ("twelve", "oh three", "15"), up to `largest`."""
    if i < len(toks) and toks[i].low in ("oh", "zero") and toks[i].kind == "word":
        number = _small_number(toks, i + 1)
        return number if number is not None and 1 <= number[0] <= 9 else None
    number = _small_number(toks, i)
    return number if number is not None and 1 <= number[0] <= largest else None


def slash_date_at(toks: list[Tok], i: int) -> tuple[str, int] | None:
    """ "three slash fifteen slash twenty five" → "3/15/25", "twelve slash one slash twenty twenty
    four" → "12/1/2024": month, day and year, with "slash" said between them."""
    month = _date_number(toks, i, 12)
    if month is None or not _slash_at(toks, month[1]):
        return None
    day = _date_number(toks, month[1] + 1, 31)
    if day is None or not _slash_at(toks, day[1]):
        return None
    j = day[1] + 1
    year, k = _year(toks, j)
    if year is None:
        # A year of two digits ("twenty five", "oh five"): "ribs three slash four slash five" is
        # no date.
        two = _date_number(toks, j, 9) if j < len(toks) and toks[j].low in ("oh", "zero") else None
        if two is None:
            two = _small_number(toks, j)
            two = two if two is not None and two[0] >= 10 else None
        if two is None:
            return None
        return f"{month[0]}/{day[0]}/{two[0]:02d}", two[1]
    return f"{month[0]}/{day[0]}/{year}", k


def _year(toks: list[Tok], j: int) -> tuple[int | None, int]:
    if j < len(toks) and toks[j].kind == "num" and len(toks[j].text) == 4:
        return int(toks[j].text), j + 1
    words = words_at(toks, j, 4)
    # "twenty twenty four", "nineteen ninety nine": two two-digit halves.
    if len(words) >= 2 and words[0] in ("twenty", "nineteen"):
        century = 20 if words[0] == "twenty" else 19
        # "twenty oh five" is 2005; "twenty five" is 25, no year in two halves.
        said_oh = j + 1 < len(toks) and toks[j + 1].low in ("oh", "zero")
        rest = parse_number(toks, j + 2 if said_oh else j + 1)
        if (
            rest is not None
            and "." not in rest[0]
            and (int(rest[0]) < 10 if said_oh else 10 <= int(rest[0]) < 100)
        ):
            return century * 100 + int(rest[0]), rest[1]
    # "two thousand twenty four"
    parsed = parse_number(toks, j)
    if parsed is not None and "." not in parsed[0] and 1900 <= int(parsed[0]) <= 2100:
        return int(parsed[0]), parsed[1]
    return None, j


# Words after which "twenty twenty three" is a year, not two numbers ("from twenty twenty three",
# "in nineteen ninety nine", "dated March twenty twenty four").
_YEAR_CONTEXT = frozenset(
    ("from", "in", "since", "dated", "of", "year", "until", "through", "during", "with", *_MONTHS)
)


def year_at(toks: list[Tok], i: int, previous: str) -> tuple[str, int] | None:
    """A spoken year in two halves ("twenty twenty three" → 2023) after a word that asks for one."""
    if previous not in _YEAR_CONTEXT or toks[i].kind != "word" or toks[i].low not in ("twenty", "nineteen"):
        return None
    year, k = _year(toks, i)
    if year is None or k - i < 2 or not 1900 <= year <= 2099 or year % 100 < 10:
        return None
    return str(year), k


# ---- times of day ------------------------------------------------------------------------------

# As written, and as "a m." / "p m." spelled out at a sentence's end.
_MERIDIEM = {
    "am": "AM",
    "a.m.": "AM",
    "a.m": "AM",
    "pm": "PM",
    "p.m.": "PM",
    "p.m": "PM",
    "am.": "AM",
    "pm.": "PM",
}


def _small_number(toks: list[Tok], i: int) -> tuple[int, int] | None:
    """A number under 60 said as words ("nine", "forty five") or written as digits: (value, next)."""
    if i >= len(toks):
        return None
    tok = toks[i]
    if tok.kind == "num" and tok.text.isdigit() and len(tok.text) <= 2:
        return int(tok.text), i + 1
    if tok.kind != "word":
        return None
    if tok.low in SMALL and tok.low != "oh":
        return SMALL[tok.low], i + 1
    if tok.low in TENS:
        nxt = toks[i + 1].low if i + 1 < len(toks) and toks[i + 1].kind == "word" else ""
        unit = SMALL.get(nxt, 0) if nxt != "oh" else 0
        return (TENS[tok.low] + unit, i + 2) if 0 < unit < 10 else (TENS[tok.low], i + 1)
    return None


def _minutes(toks: list[Tok], i: int) -> tuple[int, int] | None:
    """ "fifteen", "forty five", "oh five" (05), "30": the minutes of a time."""
    if i < len(toks) and toks[i].low in ("oh", "o") and toks[i].kind == "word":
        unit = _small_number(toks, i + 1)
        return unit if unit is not None and unit[0] < 10 else None
    minutes = _small_number(toks, i)
    return minutes if minutes is not None and 10 <= minutes[0] < 60 else None


def _meridiem_at(toks: list[Tok], i: int) -> tuple[str, int] | None:
    """AM/PM at i, as written ("pm", "p.m.") or spelled out by the speech model ("p m"): (the
    written form, the index after it)."""
    if i >= len(toks):
        return None
    said = toks[i].low
    if said in _MERIDIEM:
        return said, i + 1
    if said in ("a", "p") and i + 1 < len(toks) and toks[i + 1].low in ("m", "m."):
        return said + toks[i + 1].low, i + 2
    return None


def time_at(toks: list[Tok], i: int, prev: str) -> tuple[str, int] | None:
    """A time of day said in words, as critical-result communications give it: "nine fifteen AM"
    → "9:15 AM", "eight oh five p.m." → "8:05 PM", "at fourteen thirty" → "14:30". A 12-hour time
    needs its AM/PM; a 24-hour one "at" before it or "hours" after it ("two thirty" alone may be
    anything)."""
    if i >= len(toks) or toks[i].kind not in ("word", "num"):
        return None
    military = _early_military_time(toks, i, prev)
    if military is not None:
        return military
    hour = _small_number(toks, i)
    if hour is None or hour[0] > 23:
        return None
    minutes = _minutes(toks, hour[1])
    written = toks[i].kind == "num" and hour[1] < len(toks) and toks[hour[1]].text == ":"
    if minutes is None and written:
        minutes = _minutes(toks, hour[1] + 1)  # "2:15 p m": the model's time, its AM/PM spelled out
    if minutes is None:
        return None
    meridiem = _meridiem_at(toks, minutes[1])
    if written and (meridiem is None or meridiem[1] == minutes[1] + 1):
        return None  # "9:15 a.m." as the model writes it is already a time
    text = f"{hour[0]}:{minutes[0]:02d}"
    if meridiem is not None and 1 <= hour[0] <= 12:
        said, end = meridiem
        # "p.m." ends a sentence as well when a new one starts after it: the full stop stays.
        closes = said.endswith(".") and (end >= len(toks) or toks[end].text[:1].isupper())
        return f"{text} {_MERIDIEM[said]}{'.' if closes else ''}", end
    if toks[i].kind == "num":
        return None  # "10 50" is a time only with its AM/PM: "9:15" as the model writes it already is one
    after = toks[minutes[1]].low if minutes[1] < len(toks) else ""
    if after == "hours":
        return text, minutes[1] + 1
    if prev == "at" and hour[0] >= 13:
        return text, minutes[1]
    return None


def _early_military_time(toks: list[Tok], i: int, prev: str) -> tuple[str, int] | None:
    """A 24-hour time before ten, said with its leading "oh": "oh two hundred hours" → "0200
    hours", "at oh seven thirty" → "07:30"."""
    if toks[i].kind != "word" or toks[i].low not in ("oh", "zero"):
        return None
    hour = _small_number(toks, i + 1)
    if hour is None or hour[0] > 9 or toks[i + 1].kind != "word":
        return None
    j = hour[1]
    if j < len(toks) and toks[j].low == "hundred":
        if j + 1 < len(toks) and toks[j + 1].low == "hours":
            return f"0{hour[0]}00 hours", j + 2
        return (f"0{hour[0]}00", j + 1) if prev == "at" else None
    minutes = _minutes(toks, j)
    if minutes is None:
        return None
    text = f"0{hour[0]}:{minutes[0]:02d}"
    if minutes[1] < len(toks) and toks[minutes[1]].low == "hours":
        return text, minutes[1] + 1
    return (text, minutes[1]) if prev == "at" else None
