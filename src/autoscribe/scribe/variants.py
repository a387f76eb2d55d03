"""Critical terms as a speech model mishears them: "new motor thorax" for pneumothorax, "pulmonary
and bolus" for pulmonary embolus. The critical-finding check reads these (`analyze(...,
variants=True)`) so that a misheard critical result still asks the radiologist to confirm it."""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from functools import lru_cache

from autoscribe.scribe.phonetics import edit_distance, phonetic_key
from autoscribe.scribe.wordlists import everyday_words, findings_lexicon, real_words


@lru_cache(maxsize=1)
def _critical_keys() -> list[tuple[str, str, str, tuple[str, ...]]]:
    """(phonetic key, letters, concept, words) of every critical phrase long enough to tell apart."""
    out = []
    everyday = everyday_words()
    for term in findings_lexicon():
        letters = re.sub(r"[^a-z]", "", term.phrase.lower())
        words = tuple(re.findall(r"[a-z]+", term.phrase.lower()))
        # A phrase of everyday words only ("button battery") is heard as it is said: what merely
        # sounds like it ("dust pattern") is something else.
        if term.critical and len(letters) >= 8 and not set(words) <= everyday:
            out.append((phonetic_key(letters), letters, term.concept, words))
    return out


_SPAN_WORD = re.compile(r"[A-Za-z]+")
# Never part of a variant: negations and glue, and words that carry a different finding.
_NOT_IN_VARIANT = frozenset(
    (
        "no not without nor or with of the a is are was were in on at to for by as there that "
        "left right bilateral small large "
        # Verbs' helpers: "could be performed" is not a misheard "perforated".
        "be been being can could should would may might will must has have had"
    )
    .strip()
    .split(" ")
)
_NOT_AT_EDGE = frozenset({"and", "an", "this"})  # "pulmonary and bolus", "aortic this section"


def _modifies_next_word(text: str, words: list[re.Match[str]], after: int) -> bool:
    """A run that ends in a real word right before another content word names what that word is
    about ("new peritoneal nodularity", "lobe segmental atelectasis"): no misheard critical noun,
    unless it ends in the term's own noun ("sub dural hematoma over the convexity")."""
    if after >= len(words):
        return False
    between = text[words[after - 1].end() : words[after].start()]
    return between.strip() == "" and words[after].group().lower() not in _NOT_IN_VARIANT


def critical_variants(
    text: str, *, taken: Sequence[tuple[int, int]] = (), known: Sequence[tuple[int, int]] = ()
) -> list[tuple[int, int, str]]:
    """(start, end, concept) of runs of one to four words that sound like a critical term but are
    not it: "new motor thorax" (pneumothorax), "pulmonary and bolus" (pulmonary embolus), "sub
    dural hematoma". A single real English word never counts ("portion" is not torsion): the
    speech model turns a term it does not know into several words, or into a non-word. No run
    overlaps a `taken` span (critical terms as written), and none lies inside a `known` one (other
    findings as written: "volume loss" is not volvulus)."""
    words = list(_SPAN_WORD.finditer(text))
    real = real_words()
    out: list[tuple[int, int, str]] = []
    i = 0
    while i < len(words):
        found: tuple[int, float, int, int, str] | None = None  # (distance, -similarity, start, end, concept)
        for size in (1, 2, 3, 4):
            if i + size > len(words):
                continue
            run = words[i : i + size]
            start, end = run[0].start(), run[-1].end()
            if any(a < end and start < b for a, b in taken) or any(a <= start and end <= b for a, b in known):
                continue
            if not re.fullmatch(r"[A-Za-z \t-]+", text[start:end]):
                continue  # a sentence or clause boundary inside
            lows = [w.group().lower() for w in run]
            if any(w in _NOT_IN_VARIANT for w in lows) or lows[0] in _NOT_AT_EDGE or lows[-1] in _NOT_AT_EDGE:
                continue
            if size == 1 and lows[0] in real:
                continue
            modifier = lows[-1] in real and _modifies_next_word(text, words, i + size)
            joined = "".join(lows)
            key = phonetic_key(joined)
            if len(key) < 4:
                continue
            for ckey, letters, concept, phrase_words in _critical_keys():
                if abs(len(joined) - len(letters)) > 0.25 * len(letters):
                    continue
                if modifier and lows[-1] != phrase_words[-1]:
                    continue
                limit = 1 if len(ckey) <= 5 else 2
                distance = edit_distance(key, ckey, limit)
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
                    if not rest or not target or (len(rest) == 1 and rest[0] in real):
                        continue
                    a, b = phonetic_key("".join(rest)), phonetic_key(target)
                    if edit_distance(a, b, 2) > (1 if len(b) <= 4 else 2):
                        continue
                    if difflib.SequenceMatcher(None, "".join(rest), target).ratio() < 0.6:
                        continue
                last = lows[-1]
                if size > 1 and last in real and len(last) >= 4 and letters.endswith(last):
                    # "clock position", "good position" end in malposition's own word: what comes
                    # before it must sound like the rest of the term ("mal position").
                    lead = joined[: -len(last)]
                    if difflib.SequenceMatcher(None, lead, letters[: -len(last)]).ratio() < 0.4:
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
