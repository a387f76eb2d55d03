"""Short words the speech model hears as others that sound alike, put right by the words around them.

Whisper hears a quick "of" as "on" ("stenosis on the right internal carotid artery", "no evidence on
right heart strain"), and splits or bends a few report words ("by laterally", "a diffused disc
bulge"). The lexicon correction (`lexicon.py`) cannot help: these are everyday words, heard as
everyday words. Each rule here changes a word only where the words around it leave one reading:

- "on" after a noun that takes "of" in a report ("evidence", "amount", "suggestive") is "of";
- "on the [side] <part>" after a finding or an imaging word ("fracture on the left femoral neck",
  "imaging on the brain") is "of the"; "stenosis on the left." and "fracture on the lateral
  view" stay;
- "right lower low" is "right lower lobe";
- "by laterally" is "bilaterally", and "diffused" before the word it describes is "diffuse";
- "small muscle ischemic disease" and "continuous axial images" are their stock phrases;
- "light" before a part that has sides is "right";
- "within normal limit" is "within normal limits", and a plural written as a possessive ("lymph
  node's period") a plural;
- "a" and "an" agree with the word after them.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from autoscribe.scribe.normalize import is_abbreviation
from autoscribe.scribe.normalize.tokens import said_with_a_vowel
from autoscribe.scribe.sides import SIDES
from autoscribe.scribe.vocabulary import domain_vocabulary
from autoscribe.scribe.wordlists import data_sections, medical_words, real_words

# The clinical word lists are data (data/confusion_words.txt): nouns that take "of", findings whose
# "on the <part>" is "of the", parts that have a side, parts that may follow "on the [side]".
_WORDS = data_sections("confusion_words.txt")
_ALWAYS_OF = _WORDS["of before a finding"]
_OF_THE_PART = _WORDS["of the part"]
_SIDED = _WORDS["sided"]
_PARTS = _WORDS["parts"]

_SIDES = rf"(?:(?:{'|'.join(SIDES)})\s+)?"

# After "evidence on", "amount on": an exam, a side or an image, not a finding ("no evidence on
# this exam of ...", "a greater amount on the right").
_NOT_A_FINDING = (
    r"(?:the|this|that|these|those|prior|previous|current|recent|today|todays|my|our|either|both|"
    r"imaging|images?|exam|examination|study|ct|mri?|ultrasound)\b"
)

_RULES: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    (re.compile(rf"\b({'|'.join(_ALWAYS_OF)})\s+on\s+(?!{_NOT_A_FINDING})", re.I), r"\1 of "),
    (
        re.compile(
            rf"\b({'|'.join(_OF_THE_PART)})\s+on\s+(the\s+{_SIDES})(?=(?:{'|'.join(_PARTS)})\b)", re.I
        ),
        r"\1 of \2",
    ),
    # "Mister" is not a word of a report: before an imaging word it is a misheard "MR".
    (
        re.compile(
            r"\bmister\s+(?=(?:imaging|images|angiography|angiogram|examination|exam|scan|study)\b)", re.I
        ),
        "MR ",
    ),
    (re.compile(r"\bby\s+laterally\b", re.I), "bilaterally"),
    # "bi-" heard as "my" or "by": no report says "my lateral" ("My lateral effusions").
    (
        re.compile(r"\b([MmBb])y\s+lateral\b(?!\s+(?:view|views|projection|decubitus|radiograph))"),
        lambda m: "Bilateral" if m.group(1).isupper() else "bilateral",
    ),
    # A stock phrase: "clinical correlation" heard as "clinical combination".
    (re.compile(r"\b(clinical)\s+combination\b", re.I), r"\1 correlation"),
    # "lobe" heard as "low" after a side ("the right lower low", "a nodule in the left low
    # measuring ..."); "left low attenuation", "right low-lying" keep the adjective.
    (
        re.compile(
            r"\b((?:right|left)\s+(?:(?:upper|middle|lower)\s+)?)low(s?)\b(?!-|\s+(?:attenuation|density|"
            r"densities|signal|grade|lying|dose|volume|level|position|back|abdomen|quadrant|frequency)\b)",
            re.I,
        ),
        r"\1lobe\2",
    ),
    # "right" heard as "light" before a part that has sides ("a small light effusion").
    (
        re.compile(rf"\b([Ll])ight\s+(?=(?:{'|'.join(_SIDED)})\b)"),
        lambda m: "Right " if m.group(1) == "L" else "right ",
    ),
    # The stock phrases of a CT head and of a technique line.
    (re.compile(r"\b(small)\s+muscle\s+(?=(?:ischemic|ischemia|disease|changes?)\b)", re.I), r"\1 vessel "),
    (
        re.compile(r"\b(c)ontinuous\s+(?=(?:axial|coronal|sagittal|thin|images|sections|slices)\b)", re.I),
        r"\1ontiguous ",
    ),
    # Air in a space, "pneumo-", heard as "no" or "new" before the space: after a word that says how
    # much or where ("small no thorax", "extensive new mediastinum") or after a denial ("no no
    # mediastinum"). A bare "no mediastinum" may be a denial that lost its "pneumo", and stays.
    (
        re.compile(
            r"\b((?:no|a|an|small|large|moderate|tiny|trace|mild|extensive|persistent|residual|"
            r"increased|decreased|apical|basilar|left|right|bilateral)\s+)(?:no|new)\s+"
            r"(mediastinum|thorax|peritoneum|pericardium)\b",
            re.I,
        ),
        lambda m: f"{m.group(1)}pneumo{m.group(2).lower()}",
    ),
    # "Diverticulitis without diverticulitis": the first is the state (-osis) the second excludes.
    (
        re.compile(r"\b(diverticul)itis(\s+without\s+(?:evidence\s+of\s+)?(?:acute\s+)?\1itis)\b", re.I),
        r"\1osis\2",
    ),
    # Homophones a report never means: "discreet", "callous"; the peroneal tendons' "perineal".
    (re.compile(r"\b(d)iscreet(ly)?\b", re.I), r"\1iscrete\2"),
    (re.compile(r"\b(c)allous\b", re.I), r"\1allus"),
    # The peroneal tendons and the peroneus muscles; the perineal body, nerve and muscles stay.
    (re.compile(r"\b(p)erineal(?=\s+(?:longus|brevis|tertius)\b)", re.I), r"\1eroneus"),
    (
        re.compile(
            r"\b(p)erineal(?=\s+(?:tendons?|retinaculum|tendinopathy|tenosynovitis|groove|tubercle)\b)", re.I
        ),
        r"\1eroneal",
    ),
    (
        re.compile(
            r"\b(p)lural(?=\s+(?:effusions?|thickening|fluid|space|based|plaques?|surfaces?|nodules?|"
            r"calcifications?|reflections?|drainage|catheter)\b)",
            re.I,
        ),
        r"\1leural",
    ),
    # The pelvic bone has a side and fractures; the small bowel's ileum has neither.
    (
        re.compile(
            r"\b(fractures?\s+(?:of|through|involving)\s+the\s+(?:(?:right|left)\s+)?)(i)leum\b", re.I
        ),
        r"\1\2lium",
    ),
    (re.compile(r"\b(i)leal\s+(?=(?:wing|crest|bone)\b)", re.I), r"\1liac "),
    (
        re.compile(
            r"\b(d)iffused\s+(?!(?:into|in|through|throughout|across|out|over|from|to|within|along|"
            r"period|comma|and|or)\b)(?=[a-z])",
            re.I,
        ),
        r"\1iffuse ",
    ),
)


# "a"/"an" agreeing with the next word once a term is put right ("an undisclosed" heard for "a
# nondisplaced"): only before a lower-case word ("an MRI", "an x-ray" and "a 10" are left as they
# are), and not before a word that no noun phrase starts with: "a" is then a letter or misheard.
_ARTICLE = re.compile(r"\b([Aa])(n?)\s+(?=([a-z][a-z]+)\b)")
_NO_ARTICLE_BEFORE = frozenset(("and", "or", "of", "in", "is", "on", "at", "as", "if", "it", "into"))
# "type A aortic dissection", "hepatitis a infection": a letter that names something, not an article.
_LETTER_NAMES = re.compile(
    r"\b(?:types?|grades?|class(?:es)?|zones?|vitamins?|hepatitis|category|segments?|levels?|groups?)\s*$",
    re.I,
)


def _agreeing_article(match: re.Match[str]) -> str:
    article, an, word = match.groups()
    # A known abbreviation is said letter by letter: "an hcc" is an HCC, "a us" a US.
    vowel = said_with_a_vowel(word, spelled=is_abbreviation(word))
    if an:
        return match.group(0) if vowel else f"{article} "
    before = match.string[max(0, match.start() - 40) : match.start()]  # the words just before
    if (
        not vowel
        or word in _NO_ARTICLE_BEFORE
        or _LETTER_NAMES.search(before)
        or re.search(r"(?:^|\s)[a-zA-Z] $", before)  # a letter of a spelled abbreviation: "m c a infarct"
        or (article == "A" and before.strip()[-1:] not in ("", ".", "!", "?", ":"))
    ):
        return match.group(0)
    return f"{article}n "


# A plural written as a possessive ("lymph node's period", "3-millimeter's.", "the collecting
# system's remain"): a possessive is followed by what is owned, never by the end of a sentence or a
# plural verb. Eponyms ("Crohn's.") are capitalised and stay.
_POSSESSIVE_FOR_PLURAL = re.compile(
    r"(?<![A-Za-z'])([a-z][a-z]*(?:-[a-z]+)*)'s(?=\s*(?:[.,;:!?]|$)|\s+(?:period|comma|and|or|are|were|remain|"
    r"measure|appear|show|demonstrate|bilaterally)\b)"
)


def _plural(noun: str) -> str:
    if re.search(r"[^aeiou]y$", noun):
        return noun[:-1] + "ies"  # body -> bodies
    return noun + ("es" if re.search(r"(?:s|x|ch|sh)$", noun) else "s")


# "peribronchial" heard as "period bronchial": the speech model wrote the prefix as the dictated
# full stop. A sentence said to end there would have its stop ("period.") and a capital after it.
# Only after a word no sentence ends with: "no pleural effusion period vascular calcifications" is
# two sentences, "there is period bronchial thickening" one.
_PERIOD_FOR_PERI = re.compile(
    r"\b((?i:is|are|was|were|a|an|the|of|with|and|or|no|mild|moderate|severe|minimal|small|"
    r"bilateral|left|right|diffuse|scattered|subtle|new)\s+)period\s+([a-z]+)\b"
)


def _peri_word(match: re.Match[str]) -> str:
    before, rest = match.groups()
    word = "peri" + rest
    known = word in real_words() or word in medical_words() or word in domain_vocabulary()
    # Four letters or more: "period od" or "period l" name no word of a report.
    return before + word if known and len(rest) >= 4 else match.group(0)


def fix_confusions(text: str) -> str:
    """The text with the sound-alike function words above put right."""
    text = _PERIOD_FOR_PERI.sub(_peri_word, text)
    text = _POSSESSIVE_FOR_PLURAL.sub(lambda m: _plural(m.group(1)), text)
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    text = re.sub(r"\b(within normal) limit\b", r"\1 limits", text, flags=re.I)
    return _ARTICLE.sub(_agreeing_article, text)
