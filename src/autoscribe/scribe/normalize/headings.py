"""Headings: a heading word followed by "colon", and a report section named on its own."""

from __future__ import annotations

from autoscribe.scribe.normalize.tokens import (
    OPEN_WORDS,
    SENTENCE_END,
    Tok,
    period_is_word,
    sentence_start,
    words_at,
)
from autoscribe.scribe.section_names import COLON_SECTION_NAMES, SPOKEN_SECTION_NAMES
from autoscribe.scribe.templates import BUILTIN_TEMPLATES
from autoscribe.scribe.wordlists import data_sections

# Report sections a radiologist names by saying them on their own ("Findings." "Impression, ..."):
# data/section_names.tsv, which the section mapper reads too.
SECTION_PHRASES = SPOKEN_SECTION_NAMES


# Words that, followed by "colon", make a heading: section names (not those only written) and organ
# titles (data).
def _organ_titles() -> frozenset[str]:
    """The built-in templates' organ titles ("Urinary bladder", "Extra-axial spaces"), as the model
    may write them: a radiologist dictates them as headings ("urinary bladder colon ...")."""
    titles = {organ.title.lower() for template in BUILTIN_TEMPLATES for organ in template.organs()}
    titles = {t.replace(",", "") for t in titles}
    return frozenset(t for title in titles for t in (title, title.replace("-", " ")))


HEADING_WORDS = (
    COLON_SECTION_NAMES | frozenset(data_sections("normalize_words.txt")["headings"]) | _organ_titles()
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

# "Findings" is also the subject of an impression's sentence: "Findings suspicious for malignancy",
# "Findings relayed to Dr. Lee", "Findings due to ..." (while "Impression suspicious ..." is rare).
_FINDINGS_CONTINUATION = _CONTINUATION | frozenset(
    {
        "suspicious", "highly", "typical", "characteristic", "diagnostic", "secondary", "due",
        "related", "attributable", "worrisome", "worrying", "favoring", "favouring", "reported",
        "relayed", "telephoned", "called", "conveyed", "reviewed", "confirmed", "reached",
    }
)  # fmt: skip


_HEADING_MARKS = frozenset({".", ":", ",", ";", "-", "\u2013", "\u2014"})


def at_sentence_start(out: list[Tok]) -> bool:
    if not out:
        return True
    prev = out[-1]
    return prev.kind in ("para", "line", "next") or prev.text in SENTENCE_END or prev.text == ":"


def _heading_mark(toks: list[Tok], j: int) -> int | None:
    """After a section name at j: the index past the mark that makes it a heading (a full stop,
    colon or comma, written or spoken; the end of a line or of the dictation), else None."""
    if j >= len(toks) or toks[j].kind in ("line", "para", "next"):
        return j
    tok = toks[j]
    if tok.kind == "punct":
        return j + 1 if tok.text in _HEADING_MARKS else None
    words = words_at(toks, j, 4)
    if words[:2] == ("full", "stop"):
        return j + 2
    if words[:1] in (("colon",), ("comma",), ("semicolon",)):
        return j + 1
    if words[:1] == ("period",) and not period_is_word(toks, j, after_the=True):
        return j + 1
    follows = _as_follows(words)
    if follows:
        after = _heading_mark(toks, j + follows)
        return j + follows if after is None else after
    return None


def _as_follows(words: tuple[str, ...]) -> int:
    """How many words of "are as follows" start `words` (0: none): "Findings are as follows." /
    "The impression is as follows:", also as the model hears it ("our as follows", "are follows",
    "as follows")."""
    if words[1:3] == ("as", "follows") and words[0] in ("are", "is", "our"):
        return 3
    if words[:2] in (("as", "follows"), ("are", "follows"), ("is", "follows")):
        return 2
    return 0


def spoken_heading(
    toks: list[Tok], i: int, out: list[Tok], unpunctuated: bool = False
) -> tuple[list[Tok], int] | None:
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
    if tok.low == "the" and words_at(toks, i + 1, 1) in (("findings",), ("impression",)):
        start = i + 1  # "The findings are as follows."
    for phrase in SECTION_PHRASES:
        if words_at(toks, start, len(phrase)) != phrase:
            continue
        j = start + len(phrase)
        words = toks[start:j]
        if start != i and not _as_follows(words_at(toks, j, 3)):
            return None
        mark = _heading_mark(toks, j)
        nxt = toks[j] if j < len(toks) else None
        continuation = _FINDINGS_CONTINUATION if phrase[0] in ("findings", "finding") else _CONTINUATION
        free_after = nxt is not None and nxt.kind in ("word", "num") and nxt.low not in continuation
        if at_sentence_start(out):
            if mark is not None:
                return words, mark
            return (words, j) if free_after else None
        prev = out[-1]
        if mark is not None and nxt is not None:  # a mark after it, not just the end
            # The comma may be the model's own, which a radiologist who dictates punctuation has
            # not kept in `out`: it still marks the pause.
            if (prev.kind == "punct" and prev.text == ",") or (i > 0 and toks[i - 1].text == ","):
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
    "is", "are", "was", "were", "be", "been", "acute", "chronic", "significant", "abnormal", "normal",
    "positive", "negative", "pertinent", "relevant", "remaining", "stable", "unchanged", "suspicious",
    "worrisome", "concerning", "critical", "urgent", "unexpected", "discussed",
}  # fmt: skip


def emit_heading(out: list[Tok], words: list[Tok]) -> None:
    """The heading as the mapper reads it: "Impression:" starting a line (closing an open sentence)."""
    if out and out[-1].kind == "punct" and out[-1].text == ",":
        out.pop()  # "..., impression, normal": the comma was the sentence end
    if not at_sentence_start(out):
        out.append(Tok(".", False, "punct"))
    for k, word in enumerate(words):
        out.append(Tok(word.text, word.space, "word", heading=k == 0))
    out.append(Tok(":", False, "punct", spoken=True))


def heading_before(out: list[Tok]) -> int | None:
    """If the words since the last sentence break form a heading, the index of its first word."""
    start = sentence_start(out, len(out))
    toks = [t for t in out[start:] if not (t.kind == "punct" and t.text == ",")]  # "Orbits, sinuses and ..."
    hyphen = [t.kind == "punct" and t.text == "-" for t in toks]
    words = [t for t, h in zip(toks, hyphen, strict=True) if not h]
    if not words or len(words) > 4 or any(t.kind != "word" for t in words) or hyphen[0] or hyphen[-1]:
        return None
    # "extra-axial spaces": a hyphen joins two words of the heading
    phrase = " ".join("-" if h else t.low for t, h in zip(toks, hyphen, strict=True)).replace(" - ", "-")
    return start if _a_heading(phrase) else None


def _a_heading(phrase: str) -> bool:
    """A heading word or phrase, also with a side before it or in its other number: "right kidney",
    "left ovary", "kidney" (kidneys)."""
    first, _, rest = phrase.partition(" ")
    if first in ("right", "left", "bilateral") and rest:
        phrase = rest
    return any(
        form in HEADING_WORDS
        for form in (phrase, phrase + "s", phrase[:-1] if phrase.endswith("s") else phrase)
    )


# One-word section names: before "colon" they start a heading even mid-sentence.
_SECTION_WORDS = frozenset(phrase[0] for phrase in SECTION_PHRASES if len(phrase) == 1)


_FILLERS = {"the", "there", "is", "a", "and", "period", "then"}


def section_heading_tail(out: list[Tok]) -> bool:
    """ "... absent impression colon": a report-section word before "colon" always starts a heading,
    even when the full stop before it was not heard."""
    return bool(out) and out[-1].kind == "word" and out[-1].low in _SECTION_WORDS


def break_before_section_heading(out: list[Tok]) -> None:
    heading = out.pop()
    if out and out[-1].kind == "word" and out[-1].low in ("clinical", "reason"):
        heading = Tok(f"{out.pop().text} {heading.text}", heading.space)
    # The model pads a heading with filler it did not hear ("the period impression colon").
    start = sentence_start(out, len(out))
    if start < len(out) and all(t.kind == "word" and t.low in _FILLERS for t in out[start:]):
        del out[start:]
    if out and not (
        out[-1].kind in ("para", "line", "next") or out[-1].text in SENTENCE_END or out[-1].text == ":"
    ):
        out.append(Tok(".", False, "punct"))
    out.append(heading)
