"""The engine's word lists: the clinical data files under data/, read once, and an English dictionary.

Clinical content (templates, lexicons, NegEx triggers, word lists) lives in data files that
radiologists can review without reading Python; data/README.md says what each file is. This module
only reads them and imports nothing else of the engine but phonetics.py (the lexicon's sound keys), so
every engine module may use it.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

from spellchecker import SpellChecker

from autoscribe.scribe.phonetics import phonetic_key

log = logging.getLogger("autoscribe.scribe")

DATA = resources.files("autoscribe.scribe") / "data"
FINDINGS_LEXICON = "findings_lexicon.tsv"
RADIOLOGY_LEXICON = "radiology_lexicon.txt"


def data_text(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def data_lines(name: str) -> tuple[str, ...]:
    """A word list: one entry per line; blank lines and # comments are skipped."""
    return tuple(
        line.strip() for line in data_text(name).splitlines() if line.strip() and not line.startswith("#")
    )


def data_rows(name: str, columns: int) -> tuple[tuple[str, ...], ...]:
    """A table: one row per line, `columns` fields separated by a tab; blank lines and # comments skipped."""
    rows = tuple(tuple(field.strip() for field in line.split("\t")) for line in data_lines(name))
    for row in rows:
        if len(row) != columns or not all(row):
            raise ValueError(f"{name}: {row!r} is not {columns} non-empty tab-separated fields")
    return rows


def data_sections(name: str) -> dict[str, tuple[str, ...]]:
    """A word list in sections: "[name]" starts one, then one entry per line (# comments skipped)."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in data_lines(name):
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1].strip(), [])
        elif current is None:
            raise ValueError(f"{name}: {line!r} before the first [section]")
        else:
            current.append(line)
    return {key: tuple(entries) for key, entries in sections.items()}


@dataclass(frozen=True)
class FindingTerm:
    phrase: str  # as written in a sentence, e.g. "pleural effusions"
    concept: str  # the synonym group, e.g. "pleural effusion"
    weight: int  # rank in the impression
    critical: bool


def parse_findings_lexicon(text: str) -> tuple[FindingTerm, ...]:
    """data/findings_lexicon.tsv: concept, weight, critical (yes/no), phrases (", "-separated)."""
    terms: list[FindingTerm] = []
    for number, raw in enumerate(text.splitlines(), 1):
        if not raw.strip() or raw.startswith("#"):
            continue
        fields = raw.split("\t")
        if len(fields) != 4 or fields[2] not in ("yes", "no") or not fields[1].isdigit():
            raise ValueError(f"findings lexicon line {number}: expected concept, weight, yes/no, phrases")
        concept, weight, critical, phrases = fields
        for phrase in phrases.split(","):
            if not phrase.strip():
                raise ValueError(f"findings lexicon line {number}: an empty phrase")
            terms.append(FindingTerm(phrase.strip(), concept.strip(), int(weight), critical == "yes"))
    return tuple(terms)


@lru_cache(maxsize=1)
def findings_lexicon() -> tuple[FindingTerm, ...]:
    """Every phrase of the findings lexicon, in the file's order."""
    return parse_findings_lexicon(data_text(FINDINGS_LEXICON))


@lru_cache(maxsize=1)
def everyday_words() -> frozenset[str]:
    """English words common enough that a speech model hears them right ("button", "battery",
    "skull"): pyspellchecker's dictionary, 5,000 occurrences or more in its corpus."""
    frequency = _english().word_frequency
    return frozenset(word for word, count in frequency.items() if count >= 5000)


@lru_cache(maxsize=1)
def _english() -> SpellChecker:
    return SpellChecker(distance=1)


# Debian's hunspell-en-med (OpenMedSpel, GPL-3+: read where the system has it, never shipped with
# us) and the affix file of hunspell-en-us it is written against. AUTOSCRIBE_HUNSPELL_DIR moves them.
_MEDICAL_DIC = "en_med_glut.dic"
_ENGLISH_AFF = "en_US.aff"


def _suffix_rules(aff: str) -> dict[str, list[tuple[str, str, re.Pattern[str]]]]:
    """Hunspell's suffix rules by flag: (letters stripped, letters added, condition on the word)."""
    rules: dict[str, list[tuple[str, str, re.Pattern[str]]]] = {}
    for line in aff.splitlines():
        parts = line.split()
        if len(parts) >= 5 and parts[0] == "SFX":
            flag, strip, add, condition = parts[1:5]
            rule = (
                "" if strip == "0" else strip,
                "" if add == "0" else add.split("/")[0],
                re.compile(f"{condition}$"),
            )
            rules.setdefault(flag, []).append(rule)
    return rules


def expand_hunspell(dic: str, aff: str) -> frozenset[str]:
    """Every word of a Hunspell dictionary with the suffixes its flags allow, lowercased: the
    medical dictionary writes "posteromedial/Y" for posteromedial and posteromedially. Prefix rules
    are left out (a prefix makes a compound the correction already knows, `is_compound`)."""
    rules = _suffix_rules(aff)
    words: set[str] = set()
    for line in dic.splitlines()[1:]:
        word, _, flags = line.strip().partition("/")
        if not word.isalpha():
            continue  # the count, the header's prose, abbreviations with digits
        low = word.lower()
        words.add(low)
        for flag in flags:
            for strip, add, condition in rules.get(flag, ()):
                if low.endswith(strip) and condition.search(low):
                    words.add(low[: len(low) - len(strip)] + add)
    return frozenset(words)


@lru_cache(maxsize=1)
def medical_words() -> frozenset[str]:
    """The words of the system's medical dictionary (hunspell-en-med), or none when it is not
    installed: "pyelectasis", "ascitic" and "posteromedially" are then misspellings to correct."""
    where = Path(os.environ.get("AUTOSCRIBE_HUNSPELL_DIR", "/usr/share/hunspell"))
    try:
        dic = (where / _MEDICAL_DIC).read_text(encoding="utf-8", errors="replace")
        aff = (where / _ENGLISH_AFF).read_text(encoding="utf-8", errors="replace")
    except OSError:
        log.warning(
            "no medical dictionary at %s (Debian package hunspell-en-med): fewer words are known", where
        )
        return frozenset()
    return expand_hunspell(dic, aff)


@lru_cache(maxsize=1)
def hyphen_pairs() -> frozenset[tuple[str, str]]:
    """Two words a hyphen joins in a real word ("ground", "glass"; "tree", "in"; "in", "bud"): a
    "dash" said between them is that hyphen."""
    return frozenset(
        (a, b)
        for word in real_words()
        if "-" in word
        for a, b in zip(word.split("-"), word.split("-")[1:], strict=False)
    )


@lru_cache(maxsize=1)
def real_words() -> frozenset[str]:
    """Words that are real as heard: pyspellchecker's English dictionary (loading it takes about half
    a second: once, on first use) and data/radiology_words.txt, hyphenated words also without their
    hyphens ("cul-de-sac", "culdesac"), and the words of the spoken units (data/units.tsv: "four
    centimetre" was made "subcentimeter"). Not the medical dictionary's (`medical_words`): its
    drug names and rare spellings ("doral", "appendical") make no compound nor stop a correction
    one letter away."""
    radiology = data_lines("radiology_words.txt")
    units = {word for spoken, _ in data_rows("units.tsv", 2) for word in spoken.lower().split()}
    return frozenset(
        {*_english().word_frequency.dictionary.keys(), *radiology, *units}
        | {w.replace("-", "") for w in radiology}
    )


@lru_cache(maxsize=1)
def american_spellings() -> dict[str, str]:
    """data/british_spellings.tsv: "tumour" → "tumor". (The lexicon's own variants, such as
    "pneumothoraces", are the sound pass's: a plural is no British spelling.)"""
    return {british.lower(): american for british, american in data_rows("british_spellings.tsv", 2)}


def american_spelling(word: str) -> str | None:
    """The American spelling of a British-spelled word, its plural kept ("Tumours" → "Tumors"),
    or None when the word is not a British spelling. Capitalised as the word was."""
    table = american_spellings()
    low = word.lower()
    american = table.get(low)
    if american is None:
        stems = (low[: -len(end)] for end in ("s", "es") if low.endswith(end))
        stem = next((stem for stem in stems if stem in table), None)
        if stem is None:
            return None
        american = table[stem] + low[len(stem) :]
    if word.isupper() and len(word) > 1:
        return american.upper()
    return american[0].upper() + american[1:] if word[:1].isupper() else american


@dataclass(frozen=True)
class Meaning:
    """What a finding phrase means in one place: a concept, its rank, whether it is critical."""

    concept: str
    weight: int
    critical: bool


@dataclass(frozen=True)
class GenericPhrases:
    """A critical concept's phrases that name no organ, and the anatomy that decides what they mean
    (data/critical_anatomy.txt)."""

    concept: str
    phrases: tuple[str, ...]
    regions: frozenset[str]  # empty: the concept in every study
    anatomy: tuple[str, ...]
    elsewhere: tuple[tuple[Meaning, tuple[str, ...]], ...]
    otherwise: Meaning | None
    # Words that, among the few just before a phrase or said of it after it, keep its own meaning
    # ("chronic left ICA occlusion" is no acute large vessel occlusion), a critical one then known
    # ("stable chronic left subdural hematoma" is no new critical result).
    old: frozenset[str] = frozenset()
    # What the phrase means when one of these words is among the few just before it ("acute left
    # MCA infarct" is an acute infarct), the "old:" words first.
    new: tuple[Meaning, frozenset[str]] | None = None


def _meaning(text: str, where: str) -> Meaning:
    fields = [f.strip() for f in text.split(",")]
    if len(fields) != 3 or not fields[1].isdigit() or fields[2] not in ("yes", "no"):
        raise ValueError(f"{where}: expected CONCEPT, WEIGHT, yes|no, got {text!r}")
    return Meaning(fields[0], int(fields[1]), fields[2] == "yes")


def _word_list(text: str) -> tuple[str, ...]:
    return tuple(w.strip() for w in text.split(",") if w.strip())


def parse_critical_anatomy(sections: dict[str, tuple[str, ...]]) -> tuple[GenericPhrases, ...]:
    groups: list[GenericPhrases] = []
    for name, lines in sections.items():
        where = f"critical_anatomy.txt [{name}]"
        fields: dict[str, str] = {}
        elsewhere: list[tuple[Meaning, tuple[str, ...]]] = []
        new: tuple[Meaning, frozenset[str]] | None = None
        for line in lines:
            key, _, value = line.partition(":")
            key, value = key.strip(), value.strip()
            if key == "elsewhere":
                meaning, _, words = value.partition(":")
                elsewhere.append((_meaning(meaning, where), _word_list(words)))
            elif key == "new" and new is None:
                meaning, _, words = value.partition(":")
                new = (_meaning(meaning, where), frozenset(w.lower() for w in _word_list(words)))
            elif key in ("of", "phrases", "regions", "anatomy", "otherwise", "old") and key not in fields:
                fields[key] = value
            else:
                raise ValueError(f"{where}: unexpected line {line!r}")
        if not fields.get("of") or not fields.get("phrases"):
            raise ValueError(f"{where}: needs 'of' and 'phrases'")
        if bool(fields.get("regions")) != bool(fields.get("otherwise")):
            raise ValueError(f"{where}: 'regions' and 'otherwise' go together")
        groups.append(
            GenericPhrases(
                concept=fields["of"],
                phrases=_word_list(fields["phrases"]),
                regions=frozenset(fields.get("regions", "").split()),
                anatomy=_word_list(fields.get("anatomy", "")),
                elsewhere=tuple(elsewhere),
                otherwise=_meaning(fields["otherwise"], where) if fields.get("otherwise") else None,
                old=frozenset(w.lower() for w in _word_list(fields.get("old", ""))),
                new=new,
            )
        )
    return tuple(groups)


@lru_cache(maxsize=1)
def critical_anatomy() -> tuple[GenericPhrases, ...]:
    return parse_critical_anatomy(data_sections("critical_anatomy.txt"))


# ---- the sound pass's radiology lexicon (data/radiology_lexicon.txt; its header says the format) ----


@dataclass(frozen=True)
class Term:
    text: str
    region: str
    cues: frozenset[str]
    key: str
    letters: str


@dataclass
class Region:
    name: str
    procedure: frozenset[str] = frozenset()
    context: frozenset[str] = frozenset()
    terms: list[Term] = field(default_factory=list)


@dataclass
class Lexicon:
    regions: dict[str, Region]
    variants: dict[str, str]  # "haematoma" → "hematoma"

    @property
    def terms(self) -> list[Term]:
        return [t for r in self.regions.values() for t in r.terms]

    def words(self) -> frozenset[str]:
        """Every word of every term (the words this pass itself never replaces)."""
        return frozenset(w for t in self.terms for w in re.findall(r"[a-z]+", t.text.lower()))

    def regions_for(self, procedure: str = "", modality: str = "", extra: str = "") -> set[str]:
        """The regions a study's description (and template name) selects; "general" always."""
        words = set(re.findall(r"[A-Z]+", f"{procedure} {modality} {extra}".upper()))
        chosen = {"general"}
        for region in self.regions.values():
            if region.procedure & words:
                chosen.add(region.name)
        return chosen

    def prompt_terms(self, regions: Iterable[str], limit: int = 40) -> list[str]:
        """Hint words for the speech model: the selected regions' terms, those with the longest
        (rarest) word first."""
        out: list[str] = []
        for name in sorted(set(regions), key=lambda r: (r == "general", r)):
            region = self.regions.get(name)
            if region is None:
                continue
            out.extend(
                t.text for t in sorted(region.terms, key=lambda t: -max(len(w) for w in t.text.split()))
            )
        return list(dict.fromkeys(out))[:limit]


def parse_lexicon(text: str) -> Lexicon:
    regions: dict[str, Region] = {}
    variants: dict[str, str] = {}
    current = Region("general")
    regions[current.name] = current
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            name = line[1:-1].strip().lower()
            current = regions.setdefault(name, Region(name))
            continue
        if line.startswith("@procedure"):
            current.procedure = frozenset(line.split()[1:])
            continue
        if line.startswith("@context"):
            current.context = frozenset(w.lower() for w in line.split()[1:])
            continue
        cues: frozenset[str] = frozenset()
        if "=" in line:
            line, _, alts = line.partition("=")
            for alt in alts.split(","):
                if alt.strip():
                    variants[alt.strip().lower()] = line.strip()
        if ":" in line:
            line, _, cue_text = line.partition(":")
            cues = frozenset(w.lower() for w in cue_text.split())
        term = line.strip()
        letters = re.sub(r"[^a-z]", "", term.lower())
        if len(letters) < 4:
            continue
        current.terms.append(Term(term, current.name, cues, phonetic_key(letters), letters))
    return Lexicon(regions, variants)


@lru_cache(maxsize=1)
def load_lexicon() -> Lexicon:
    return parse_lexicon(data_text(RADIOLOGY_LEXICON))
