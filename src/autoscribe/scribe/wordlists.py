"""The engine's word lists: the clinical data files under data/, read once, and an English dictionary.

Clinical content (templates, lexicons, NegEx triggers, word lists) lives in data files that
radiologists can review without reading Python; data/README.md says what each file is. This module
only reads them and imports nothing else of the engine, so every engine module may use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from spellchecker import SpellChecker

DATA = resources.files("autoscribe.scribe") / "data"
FINDINGS_LEXICON = "findings_lexicon.tsv"


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
def real_words() -> frozenset[str]:
    """Words that are real as heard: pyspellchecker's English dictionary (loading it takes about half
    a second: once, on first use) and data/radiology_words.txt, hyphenated words also without their
    hyphens ("cul-de-sac", "culdesac")."""
    radiology = data_lines("radiology_words.txt")
    return frozenset(
        {*SpellChecker(distance=1).word_frequency.dictionary.keys(), *radiology}
        | {w.replace("-", "") for w in radiology}
    )
