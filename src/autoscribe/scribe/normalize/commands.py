"""Pass 1: spoken commands ("new paragraph", "scratch that") and punctuation ("period", "comma")."""

from __future__ import annotations

from dataclasses import replace

from autoscribe.scribe.normalize.headings import (
    break_before_section_heading,
    emit_heading,
    heading_before,
    section_heading_tail,
    spoken_heading,
)
from autoscribe.scribe.normalize.numbers import NUMBER_WORDS
from autoscribe.scribe.normalize.quantities import unit_of
from autoscribe.scribe.normalize.spine import ends_with_spine_level
from autoscribe.scribe.normalize.tokens import (
    CLAUSE_PUNCT,
    NEXT_SECTION_MARK,
    OPEN_WORDS,
    SENTENCE_END,
    Tok,
    ends_sentence,
    period_is_word,
    said_with_a_vowel,
    sentence_start,
    words_at,
)
from autoscribe.scribe.sides import SIDES
from autoscribe.scribe.wordlists import hyphen_pairs


def _ends_sentence(tok: Tok) -> bool:
    """`ends_sentence`, before the spoken commands are read: "period", "stop", "new paragraph"."""
    return ends_sentence(tok) or (tok.kind == "word" and tok.low in ("period", "stop", "paragraph"))


def _same_word(a: Tok, b: Tok) -> bool:
    """One word, or its plural: "effusion" / "effusions", "mass" / "masses"; a unit said or
    written: "millimeters" / "mm"."""
    x, y = a.low, b.low
    if a.kind not in ("word", "num") or b.kind not in ("word", "num"):
        return False
    return x in (y, y + "s", y + "es") or y in (x + "s", x + "es") or (unit_of(x) or x) == (unit_of(y) or y)


def _is_number(tok: Tok) -> bool:
    return tok.kind == "num" or tok.low in NUMBER_WORDS


# The spoken commands that take back what was just said, and how the pass below finds them.
_SCRATCH_THAT = (("scratch", "that"), ("strike", "that"), ("delete", "that"))
# A denial in the sentence leaves open what a correction takes back: "no pneumothorax or pleural
# effusion scratch that small right pleural effusion" is not "no small right pleural effusion".
_DENIALS = frozenset(("no", "not", "without", "negative", "none", "nor", "neither"))
# A number after these counts images, not a size: "on image forty five scratch that six".
_COUNTED = frozenset(("image", "images", "series", "slice", "segment", "level", "number"))


def _alike(a: Tok, b: Tok) -> bool:
    """The same word, or one said instead of the other: a side for a side, a number for a number,
    a unit for a unit ("one centimeter scratch that eight millimeters")."""
    return (
        _same_word(a, b)
        or (a.low in SIDES and b.low in SIDES)
        or (_is_number(a) and _is_number(b))
        or (unit_of(a.low) is not None and unit_of(b.low) is not None)
    )


def _replaced(toks: list[Tok], said: list[int], correction: list[Tok]) -> tuple[int, int, int] | None:
    """The first and last token of what a correction said mid-sentence stands for, and how many of
    the correction's words take their place (the rest are said after the sentence's own), or None
    when that is not clear (then "scratch that" takes the sentence back, as after a full stop).

    The correction's first words are laid over the end of what was said, longest first: "in the
    left lobe scratch that right lobe which is new" replaces "left lobe"; "image eighty scratch that
    image eighty one" replaces "image eighty". A correction that goes on past the words it
    replaces replaces the rest of the sentence too ("three millimeters of right to left scratch
    that left to right midline shift")."""
    if not correction or any(t.low in _DENIALS for t in correction):
        return None
    if any(toks[k].low in _DENIALS for k in said):
        return None
    if all(_is_number(t) for t in correction):
        # A number said again replaces the last size said: "four millimeters scratch that six".
        runs = [k for k in said if _is_number(toks[k]) and (k - 1 not in said or not _is_number(toks[k - 1]))]
        runs = [k for k in runs if k - 1 not in said or toks[k - 1].low not in _COUNTED]
        if not runs:
            return None
        first = last = runs[-1]
        while last + 1 in said and _is_number(toks[last + 1]):
            last += 1
        return first, last, len(correction)
    for size in range(min(len(correction), len(said) - 1), 0, -1):
        head = correction[:size]
        for end in range(len(said) - 1, size - 2, -1):
            span = said[end + 1 - size : end + 1]
            pairs = list(zip((toks[k] for k in span), head, strict=True))
            if not _alike(*pairs[-1]) or sum(_alike(a, b) for a, b in pairs) * 2 < size:
                continue
            if size == len(correction):
                if [toks[k].low for k in span] == [t.low for t in correction]:
                    # "the distal radius and ulna scratch that distal radius": what follows goes.
                    return (span[0], said[-1], size) if end < len(said) - 1 else None
                return span[0], span[-1], size
            if all(_is_number(t) for t in head) and end < len(said) - 1:
                # "a six millimeter nodule scratch that eight in the right upper lobe": the number
                # is replaced, the unit and nodule kept, and the rest said after them.
                return span[0], span[-1], size
            return span[0], said[-1], len(correction)
    return None


def _scratch_in_place(toks: list[Tok]) -> list[Tok]:
    """ "… and one centimeter of shortening scratch that five millimeters of shortening" said
    without a full stop: the correction replaces the words it stands for ("one centimeter of
    shortening"), found by its last word ("shortening"; for a number alone, the last size said),
    instead of the whole sentence, which would silently lose the fracture said before it. When
    that is not clear (`_replaced`), "scratch that" takes back the sentence, as before."""
    i = 0
    while i < len(toks):
        if words_at(toks, i, 2) not in _SCRATCH_THAT:
            i += 1
            continue
        start = i
        while start and not _ends_sentence(toks[start - 1]):
            start -= 1
        end = i + 2
        while (
            end < len(toks) and not _ends_sentence(toks[end]) and words_at(toks, end, 2) not in _SCRATCH_THAT
        ):
            end += 1
        said = [k for k in range(start, i) if toks[k].kind in ("word", "num") and toks[k].low != "comma"]
        correction = [t for t in toks[i + 2 : end] if t.kind in ("word", "num") and t.low != "comma"]
        span = _replaced(toks, said, correction)
        if span is None:
            i += 2
            continue
        first, last, used = span
        words = [k for k in range(i + 2, end) if toks[k].kind in ("word", "num") and toks[k].low != "comma"]
        split = words[used - 1] + 1 if 0 < used < len(words) else end
        toks = toks[:first] + toks[i + 2 : split] + toks[last + 1 : i] + toks[split:end] + toks[end:]
        if first and toks[first - 1].low in ("a", "an") and first < len(toks):
            # "a six millimeter nodule scratch that eight": an 8 mm nodule.
            article = "an" if said_with_a_vowel(toks[first].text) else "a"
            toks[first - 1].text = article.capitalize() if toks[first - 1].text[0].isupper() else article
        i = first + (end - i - 2)
    return toks


def spoken_commands(toks: list[Tok]) -> list[Tok]:
    toks = _scratch_in_place(toks)
    out: list[Tok] = []
    # A radiologist who dictates punctuation says every comma they want: the commas the model adds
    # on its own ("a small right, pleural effusion") are then noise.
    dictates_punctuation = any(
        t.kind == "word" and (t.low == "comma" or (t.low == "period" and not period_is_word(toks, k)))
        for k, t in enumerate(toks)
    )
    # A transcript without a single sentence end: section words are its only structure.
    unpunctuated = not any(
        (t.kind == "punct" and t.text in SENTENCE_END) or (t.kind == "word" and t.low in ("period", "stop"))
        for t in toks
    )
    i = 0
    while i < len(toks):
        tok = toks[i]
        if dictates_punctuation and tok.kind == "punct" and tok.text == ",":
            i += 1
            continue
        two = words_at(toks, i, 2)
        if two in (("new", "paragraph"), ("next", "paragraph")):
            out.append(Tok("\n\n", kind="para"))
            i += 2
            continue
        if two in (("new", "line"), ("next", "line")) and not _is_text_line(out):
            out.append(Tok("\n", kind="line"))
            i += 2
            continue
        # "Newline." as the model sometimes writes the command, as one word.
        if tok.kind == "word" and tok.low == "newline" and not _is_text_line(out):
            out.append(Tok("\n", kind="line"))
            i += 1
            continue
        if two == ("next", "section"):
            out.append(Tok(NEXT_SECTION_MARK, kind="next"))
            i += 2
            continue
        scratch = _scratch_command(toks, i, out)
        if scratch:
            _scratch(out)
            i += scratch
            # The model often punctuates the command itself ("Scratch that.").
            while i < len(toks) and (
                (toks[i].kind == "punct" and toks[i].text in CLAUSE_PUNCT)
                or toks[i].low in ("period", "comma")
            ):
                i += 1
            continue
        if two == ("full", "stop"):
            out.append(Tok(".", False, "punct", spoken=True))
            i += 2
            continue
        if two == ("question", "mark"):
            out.append(Tok("?", False, "punct", spoken=True))
            i += 2
            continue
        if two in (("semi", "colon"),):
            out.append(Tok(";", False, "punct", spoken=True))
            i += 2
            continue
        if two in (("open", "parenthesis"), ("open", "paren")):
            out.append(Tok("(", True, "punct", spoken=True))
            i += 2
            continue
        if two in (("close", "parenthesis"), ("close", "paren")):
            out.append(Tok(")", False, "punct", spoken=True))
            i += 2
            continue
        heading = spoken_heading(toks, i, out, unpunctuated)
        if heading is not None:
            words, i = heading
            emit_heading(out, words)
            continue
        low = tok.low if tok.kind == "word" else ""
        if (
            low == "the"
            and i + 1 < len(toks)
            and toks[i + 1].low == "period"
            and not period_is_word(toks, i + 1, True)
        ):
            # "the period": a filler the model puts before a dictated full stop.
            out.append(Tok(".", False, "punct", spoken=True))
            i += 2
            continue
        nxt_low = toks[i + 1].low if i + 1 < len(toks) else ""
        if low == "the" and nxt_low == "period" and not period_is_word(toks, i + 1, after_the=True):
            i += 1  # "the period": a filler the model puts before a dictated full stop
            continue
        if low == "period" and not period_is_word(toks, i):
            out.append(Tok(".", False, "punct", spoken=True))
        elif low == "comma" or (dictates_punctuation and low == "common" and _misheard_comma(toks, i)):
            out.append(Tok(",", False, "punct", spoken=True))
        elif low == "semicolon":
            out.append(Tok(";", False, "punct", spoken=True))
        elif (low in _JOINING or (low == "dash" and _hyphenates(out, toks, i))) and _between_words(
            out, toks, i
        ):
            # "ground hyphen glass" → ground-glass, "and slash or" → and/or: no space either side.
            out.append(Tok(_JOINING.get(low, "-"), False, "punct", spoken=True))
            toks[i + 1] = replace(toks[i + 1], space=False)
        elif low == "dash" and _between_words(out, toks, i) and out[-1].low in _HYPHENATED_PREFIXES:
            out.append(Tok("-", False, "punct", spoken=True))  # "pre- and post-contrast"
        elif low == "dash" and _between_words(out, toks, i):
            out.append(Tok("-", True, "punct", spoken=True))  # "superior labrum - SLAP tear"
        elif low == "colon" and section_heading_tail(out):
            break_before_section_heading(out)
            start = heading_before(out)
            assert start is not None
            out[start].heading = True
            out.append(Tok(":", False, "punct", spoken=True))
        elif low == "colon" and heading_before(out) is not None:
            start = heading_before(out)
            assert start is not None
            out[start].heading = True
            out.append(Tok(":", False, "punct", spoken=True))
        elif low == "colon" and (ends_with_spine_level(out) or ends_with_category(out)):
            out.append(Tok(":", False, "punct", spoken=True))
        elif tok.kind == "punct" and tok.text == ":" and heading_before(out) is not None:
            start = heading_before(out)
            assert start is not None
            out[start].heading = True
            out.append(tok)
        else:
            out.append(tok)
        i += 1
    return dedupe_punct(out)


# Punctuation said as a word that joins the words either side of it.
_JOINING = {"hyphen": "-", "slash": "/"}


# Words a number or a code takes a hyphen before.
_AFTER_A_NUMBER = frozenset(
    (
        "year", "years", "old", "day", "days", "week", "weeks", "month", "months", "hour", "hours",
        "phase", "level", "vessel", "weighted", "mm", "cm", "millimeter", "millimeters", "centimeter",
        "centimeters", "french", "gauge", "point", "dimensional", "part", "view", "views", "slice",
    )
)  # fmt: skip
_SAID_HYPHENATED = frozenset(
    (("status", "post"), ("year", "old"), ("day", "old"), ("week", "old"), ("month", "old"))
)
# Second halves written with a hyphen when a dash is said before them: "right-sided", "follow-up".
_HYPHENATED_SUFFIXES = frozenset(
    ("sided", "up", "ray", "term", "based", "shaped", "like", "appearing", "weighted")
)
# Prefixes written with a hyphen when a dash is said after them.
_HYPHENATED_PREFIXES = frozenset(
    ("post", "pre", "non", "anti", "intra", "extra", "peri", "para", "sub", "semi")
)


def _hyphenates(out: list[Tok], toks: list[Tok], i: int) -> bool:
    """Whether a "dash" said between two words is a hyphen: after a number or a code ("T2 dash
    weighted", "3 dash mm"), or where the two words make a hyphenated word ("ground dash glass",
    "Salter dash Harris"). Otherwise it is a dash between phrases."""
    if not out or i + 1 >= len(toks):
        return False
    before, after = out[-1], toks[i + 1]
    if before.kind == "num" or any(c.isdigit() for c in before.text) or before.low in NUMBER_WORDS:
        # "T2-weighted", "2-mm", "50-year-old", "C5-C6"; not "one dash no acute abnormality".
        return (
            after.low in _AFTER_A_NUMBER
            or after.low in NUMBER_WORDS
            or after.kind == "num"
            or any(c.isdigit() for c in after.text)
        )
    if before.low in _HYPHENATED_PREFIXES and after.low in ("and", "or"):
        return False  # "pre- and post-contrast": the prefix's hyphen is written below
    if (
        before.low in _HYPHENATED_PREFIXES
        or (before.low, after.low) in _SAID_HYPHENATED
        or after.low in _HYPHENATED_SUFFIXES
    ):
        return True  # "post-surgical", "non-contrast", "status-post", "50-year-old", "right-sided"
    names = (
        before.text[:1].isupper() and after.text[:1].isupper() and after.text[1:].islower()
    )  # Salter-Harris
    return names or (before.low, after.low) in hyphen_pairs()


def _between_words(out: list[Tok], toks: list[Tok], i: int) -> bool:
    return (
        bool(out)
        and out[-1].kind in ("word", "num")
        and i + 1 < len(toks)
        and toks[i + 1].kind in ("word", "num")
    )


# "stage two colon cancer" is the organ: a stage names a disease, a category a conclusion.
_CATEGORY_WORDS = frozenset(("category", "categories"))


def ends_with_category(toks: list[Tok]) -> bool:
    """Whether the tokens end with a category ("BI-RADS four C", "TI-RADS category 3"): a "colon"
    after it is punctuation ("BI-RADS 4C: High suspicion"), never the organ."""
    end = len(toks)
    if end >= 2 and toks[-1].kind == "word" and len(toks[-1].text) == 1 and toks[-1].text.isalpha():
        end -= 1  # the subcategory letter
    number = toks[end - 1] if end >= 1 else None
    if number is None or not (number.kind == "num" or number.low in NUMBER_WORDS or number.low.isdigit()):
        return False
    return any(t.low in _CATEGORY_WORDS or t.low.endswith("rads") for t in toks[max(0, end - 3) : end - 1])


# A dictated "comma" is often heard as "common". It is one only for a radiologist who dictates
# punctuation, between a finished phrase and the start of a new clause ("wall thickening common
# concerning for cholecystitis"); "the common bile duct", "a common variant", "is common in" and
# "left common femoral" keep the word.
_CLAUSE_OPENERS = frozenset(
    (
        "concerning likely possibly probably suggestive suggesting compatible consistent which without "
        "measuring however although favoring favored may could unchanged stable new no not the a an there "
        "this these extending involving including particularly especially but"
    )
    .strip()
    .split(" ")
)
_BEFORE_THE_ADJECTIVE = frozenset(
    (
        "a an the is are was were be being been very most more less quite fairly relatively not in as "
        "and or of both right left bilateral distal proximal mid"
    )
    .strip()
    .split(" ")
)


# Words "common" names the first of: "common and internal carotid", "common with advancing age".
_COMMON_TO = frozenset(
    ("internal", "external", "iliac", "carotid", "femoral", "hepatic", "bile", "duct", "peroneal", "age")
)


def _misheard_comma(toks: list[Tok], i: int) -> bool:
    before = toks[i - 1] if i > 0 else None
    after = toks[i + 1] if i + 1 < len(toks) else None
    if any(t.low in _COMMON_TO for t in toks[i + 1 : i + 4]):
        return False
    return (
        before is not None
        and before.kind in ("word", "num", "unit")
        and before.low not in _BEFORE_THE_ADJECTIVE
        and after is not None
        and after.kind == "word"
        and after.low in _CLAUSE_OPENERS
    )


# What a speech model writes for "scratch that" and "delete last sentence" when it mishears them:
# "Crash that.", "Scratch heart.", "The lead last sentence." Taken as the command only when they are
# a whole sentence of their own: no report sentence is "Crash that." or ends in "last sentence".
_SCRATCH_LIKE = frozenset(("scratch", "scratched", "scratches", "crash", "stretch", "strike", "struck"))
_DELETE_LIKE = frozenset(("the", "lead", "elite", "delete", "deleted", "deletes", "delight", "relete"))
# What the model hears for "that" in "scratch that", and "scratch out", said as much.
_THAT_LIKE = frozenset(("that", "hat", "mat", "heart", "fat", "at", "bat", "pat", "cat", "sat", "dat", "out"))


def _scratch_command(toks: list[Tok], i: int, out: list[Tok]) -> int:
    """How many words "scratch that" / "delete (the) last sentence" takes at i (0: not a command)."""
    if words_at(toks, i, 2) in (("scratch", "that"), ("strike", "that"), ("delete", "that")):
        return 2
    words = words_at(toks, i, 4)
    if words[:1] and words[0] in ("delete", "scratch", "strike", "remove", "erase"):
        rest = words[2:] if words[1:2] == ("the",) else words[1:]
        if rest[:2] == ("last", "sentence") or rest[:2] == ("previous", "sentence"):
            return len(words) - len(rest) + 2
    if sentence_start(out, len(out)) != len(out):
        return 0  # a misheard command is a sentence of its own
    if (
        len(words) >= 2
        and words[0] in _SCRATCH_LIKE
        and words[1] in _THAT_LIKE
        and _sentence_ends(toks, i + 2)
    ):
        return 2
    for lead in (1, 2):
        if (
            all(w in _DELETE_LIKE for w in words[:lead])
            and words[lead : lead + 2] in (("last", "sentence"), ("previous", "sentence"))
            and _sentence_ends(toks, i + lead + 2)
        ):
            return lead + 2
    return 0


def _sentence_ends(toks: list[Tok], i: int) -> bool:
    if i >= len(toks):
        return True
    tok = toks[i]
    return tok.kind in ("para", "line") or tok.text in SENTENCE_END or tok.low in ("period", "stop")


def _is_text_line(out: list[Tok]) -> bool:
    """ "a new line", "no new line": the words describe a line (a catheter), not the command."""
    return bool(out) and out[-1].kind == "word" and out[-1].low in OPEN_WORDS | {"any", "is", "are"}


def _scratch(out: list[Tok]) -> None:
    """Delete the sentence being dictated; if none is open, the last finished sentence. Right after
    "new paragraph" / "new line" it undoes the break: the command was the last thing said."""
    end = len(out)
    while end and out[end - 1].kind == "punct" and out[end - 1].text in CLAUSE_PUNCT:
        end -= 1  # the model's full stop after the command ("New paragraph.")
    if end and out[end - 1].kind in ("para", "line"):
        del out[end - 1 :]
        return
    start = sentence_start(out, len(out))
    if start == len(out) and out:
        # Nothing open: remove the previous sentence, including its full stop (both of them, when
        # the model wrote one after a dictated "period").
        if out[-1].kind == "next":
            out.pop()  # "next section, scratch that": the move is undone
            return
        while out and out[-1].kind == "punct" and out[-1].text in CLAUSE_PUNCT:
            out.pop()
        start = sentence_start(out, len(out))
    del out[start:]


def dedupe_punct(toks: list[Tok]) -> list[Tok]:
    """ "lesion period." → one full stop: the dictated mark wins over the model's own."""
    out: list[Tok] = []
    for tok in toks:
        if tok.kind == "punct" and tok.text in CLAUSE_PUNCT and out:
            prev = out[-1]
            if prev.kind == "punct" and prev.text in CLAUSE_PUNCT:
                if tok.spoken and not prev.spoken:
                    out[-1] = tok
                continue
            if prev.kind in ("para", "line", "next") or (prev.kind == "punct" and prev.text == "("):
                continue  # punctuation at the start of a line means nothing
        out.append(tok)
    while out and out[0].kind == "punct" and out[0].text in CLAUSE_PUNCT:
        out.pop(0)
    return out
