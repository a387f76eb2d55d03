"""How words sound: a phonetic key and an edit distance, to match what a speech model heard against
the terms it should have heard (the radiology correction pass, the critical-term variants)."""

from __future__ import annotations

import re

_VOWELS = set("aeiou")
# Medical words take "ch" from Greek, where it sounds as K: cholelithiasis, chondral, choroid,
# chronic, chiasm, trachea, bronchus, brachial, echogenic, tachycardia. A speech model writes what
# it hears ("coalithiasis", "bronkus"), so their key must have K too. At the start of a word only
# these roots: "chest", "change" and "check" keep X; inside one, before a vowel that is not the
# "e" of "attached" or "branches", or the "i" of "reaching".
_GREEK_CH_START = re.compile(r"ch(?:[lr]|o[lnr]|ia|y|em)")
_GREEK_CH_INSIDE = re.compile(r"ch(?:[lr]|[aouy]|e[am]|i[ao]|iec|i$)")


def _greek_ch(word: str, i: int) -> bool:
    if i > 0 and word[i - 1] in "nx" and word[i + 2 : i + 3] == "a":
        return False  # "unchanged", "exchange"
    return bool((_GREEK_CH_START if i == 0 else _GREEK_CH_INSIDE).match(word, i))


def phonetic_key(text: str) -> str:
    """A Metaphone-like code: consonant sounds, vowels only at the start ("A"), doubles collapsed.
    "nodule" → NTL, "module" → MTL, "lymphadenopathy" → LMFTNP0, "lymphatic apathy" → LMFTKP0."""
    w = re.sub(r"[^a-z]", "", text.lower())
    if not w:
        return ""
    for head, repl in (
        ("kn", "n"),
        ("gn", "n"),
        ("pn", "n"),
        ("ps", "s"),
        ("wr", "r"),
        ("ae", "e"),
        ("wh", "w"),
        ("x", "s"),
        ("mn", "n"),
    ):
        if w.startswith(head):
            w = repl + w[len(head) :]
            break
    out: list[str] = []
    i = 0
    n = len(w)
    while i < n:
        c = w[i]
        nxt = w[i + 1] if i + 1 < n else ""
        nxt2 = w[i + 2] if i + 2 < n else ""
        code = ""
        if c in _VOWELS or (c == "y" and i == 0 and nxt in _VOWELS | {""}):
            code = "A" if i == 0 else ""
        elif c == "b":
            code = "" if i == n - 1 and i > 0 and w[i - 1] == "m" else "P"
        elif c == "c":
            if nxt == "h":
                code = "K" if (i > 0 and w[i - 1] == "s") or _greek_ch(w, i) else "X"
                i += 1
            elif nxt == "i" and nxt2 == "a":
                code = "X"
            elif nxt in ("i", "e", "y"):
                code = "S"
            elif nxt == "k":
                code = "K"
                i += 1
            else:
                code = "K"
        elif c == "d":
            code = "J" if nxt == "g" and nxt2 in ("e", "i", "y") else "T"
        elif c == "g":
            if nxt == "h" and (i + 2 >= n or nxt2 not in _VOWELS):
                code = ""
                i += 1
            elif nxt == "n" and i + 2 >= n:
                code = ""
            elif nxt in ("i", "e", "y"):
                code = "J"
            else:
                code = "K"
        elif c == "h":
            prev = w[i - 1] if i > 0 else ""
            code = "H" if nxt in _VOWELS and prev not in ("c", "s", "p", "t", "g") else ""
        elif c == "p":
            if nxt == "h":
                code = "F"
                i += 1
            else:
                code = "P"
        elif c == "q":
            code = "K"
        elif c == "s":
            if nxt == "h":
                code = "X"
                i += 1
            elif nxt == "i" and nxt2 in ("o", "a"):
                code = "X"
            else:
                code = "S"
        elif c == "t":
            if nxt == "i" and nxt2 in ("o", "a"):
                code = "X"
            elif nxt == "h":
                code = "0"
                i += 1
            elif nxt == "c" and nxt2 == "h":
                code = ""
            else:
                code = "T"
        elif c == "v":
            code = "F"
        elif c in ("w", "y"):
            code = c.upper() if nxt in _VOWELS else ""
        elif c == "x":
            code = "KS"
        elif c == "z":
            code = "S"
        else:
            code = c.upper()
        if code and not (out and out[-1] == code):
            out.append(code)
        i += 1
    return "".join(out)


def edit_distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance, or limit + 1 as soon as it must exceed `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        best = cur[0]
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            best = min(best, cur[j])
        if best > limit:
            return limit + 1
        prev = cur
    return prev[-1]
