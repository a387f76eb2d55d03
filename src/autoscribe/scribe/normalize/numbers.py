"""Number words to digits: "two point three five" → 2.35, "one hundred and twelve" → 112."""

from __future__ import annotations

import re

from autoscribe.scribe.normalize.tokens import Tok

SMALL = {
    "zero": 0,
    "oh": 0,
    "nought": 0,
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


TENS = {
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


NUMBER_WORDS = set(SMALL) | set(TENS) | {"point", "hundred", "thousand"}

# "twenty-five", as a speech model writes a compound number: one number, read as "twenty five".
_HYPHENATED_NUMBER = re.compile(
    rf"\b({'|'.join(TENS)})-({'|'.join(w for w, n in SMALL.items() if 0 < n < 10)})\b", re.I
)


# "one-and-a-half centimeter": a number and a half, read as "one and a half".
_HYPHENATED_HALF = re.compile(rf"\b({'|'.join(SMALL)}|\d+)-and-(a|one)-half\b", re.I)


def unhyphenate_numbers(text: str) -> str:
    return _HYPHENATED_HALF.sub(r"\1 and \2 half", _HYPHENATED_NUMBER.sub(r"\1 \2", text))


def parse_number(toks: list[Tok], i: int) -> tuple[str, int, int] | None:
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
        if w in SMALL and SMALL[w] < 10 and w != "oh":
            if last in ("unit", "teen"):
                break
            current += SMALL[w]
            last = "unit"
        elif w in SMALL and w != "oh":
            if last in ("unit", "teen", "tens"):
                break
            current += SMALL[w]
            last = "teen"
        elif w in TENS:
            if last in ("unit", "teen", "tens"):
                break
            current += TENS[w]
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
            and (toks[j + 1].low in SMALL or toks[j + 1].low in TENS)
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
        while k < len(toks) and toks[k].kind == "word" and toks[k].low in SMALL and SMALL[toks[k].low] < 10:
            digits += str(SMALL[toks[k].low])
            k += 1
        if k < len(toks) and toks[k].kind == "num" and not digits and "." not in toks[k].text:
            digits = toks[k].text
            k += 1
        if digits:
            return f"{value}.{digits}", k, count + (k - j)
    return value, j, count


def parse_point_number(toks: list[Tok], i: int) -> tuple[str, int, int] | None:
    """ "point five" (no leading zero) → 0.5; "oh point five", "zero point five" too."""
    if i + 1 < len(toks) and toks[i].low in ("oh", "zero") and toks[i + 1].low == "point":
        parsed = parse_point_number(toks, i + 1)
        return (parsed[0], parsed[1], parsed[2] + 1) if parsed is not None else None
    if i < len(toks) and toks[i].low == "point":
        digits = ""
        k = i + 1
        while k < len(toks) and toks[k].kind == "word" and toks[k].low in SMALL and SMALL[toks[k].low] < 10:
            digits += str(SMALL[toks[k].low])
            k += 1
        if digits:
            return f"0.{digits}", k, k - i
    return None
