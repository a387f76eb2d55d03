"""The report's sections by the names radiologists give them: one table, data/section_names.tsv.

The normaliser, the section mapper and the template parser all read it, so a name added there
("Opinion" in British reports) is known everywhere at once.
"""

from __future__ import annotations

from autoscribe.scribe.types import CLINICAL_INDICATION, COMPARISON, FINDINGS, IMPRESSION, TECHNIQUE
from autoscribe.scribe.wordlists import data_rows

_SECTIONS = frozenset({CLINICAL_INDICATION, TECHNIQUE, COMPARISON, FINDINGS, IMPRESSION})
_HOW = frozenset({"spoken", "colon", "written", "label"})


def _read() -> tuple[dict[str, str], tuple[tuple[str, ...], ...], frozenset[str], frozenset[str]]:
    section_of: dict[str, str] = {}
    spoken: list[tuple[str, ...]] = []
    dictated: set[str] = set()
    labels: set[str] = set()
    for name, section, how in data_rows("section_names.tsv", 3):
        if section not in _SECTIONS or how not in _HOW or name in section_of:
            raise ValueError(f"section_names.tsv: {name!r} {section!r} {how!r} is not a valid row")
        section_of[name] = section
        if how == "spoken":
            spoken.append(tuple(name.split()))
        if how != "written":
            dictated.add(name)
        if how == "label":
            labels.add(name)
    # Longest first, so "clinical history" is found before "history".
    return section_of, tuple(sorted(spoken, key=len, reverse=True)), frozenset(dictated), frozenset(labels)


# SECTION_OF: every name, written as a heading ("clinical details:"), to its section key.
# SPOKEN_SECTION_NAMES: the names that start a section said on their own, as words, longest first.
# COLON_SECTION_NAMES: the names that, dictated before "colon", start a heading.
# LABEL_SECTION_NAMES: the names that say what a sentence of the section is ("Fluoroscopy time: 2.1
# minutes."): the sentence keeps them.
SECTION_OF, SPOKEN_SECTION_NAMES, COLON_SECTION_NAMES, LABEL_SECTION_NAMES = _read()
