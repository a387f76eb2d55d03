"""The word lists and lexicons under scribe/data/: every file parses, with no empty or repeated
entries, and says nothing the engine would silently ignore. A radiologist edits these files, so a
mistake must fail here, not change a report. (The templates are validated in test_template_data.py.)"""

from __future__ import annotations

import re
from importlib import resources

import pytest

from autoscribe.scribe.section_names import SECTION_OF
from autoscribe.scribe.wordlists import (
    critical_anatomy,
    data_lines,
    data_rows,
    data_sections,
    findings_lexicon,
    load_lexicon,
    parse_critical_anatomy,
    parse_findings_lexicon,
)

DATA = resources.files("autoscribe.scribe") / "data"

# Every file of data/ and the sections it must have (None: not a sectioned word list).
SECTIONED = {
    "negex_triggers.txt": {
        "before",
        "after",
        "pseudo",
        "terminators",
        "terminators after a comma",
        "sizes after a comma",
        "purpose after a terminator",
        "anatomy named by a size",
    },
    "findings_words.txt": {"normal", "qualifiers", "not acute", "new", "severe", "mild", "abnormal"},
    "vocabulary_words.txt": {"protected", "common", "radiology", "prefixes", "endings"},
    "normalize_words.txt": {"headings", "number context", "subcategory context", "written case", "isotopes"},
    "sex_specific_anatomy.txt": {"female", "male"},
    "procedure_words.txt": {
        "CT",
        "MR",
        "XR",
        "US",
        "MG",
        "NM",
        "RF",
        "XA",
        "angiography",
        "procedure",
        "after a procedure",
    },
    "confusion_words.txt": {"of before a finding", "of the part", "sided", "parts"},
}
LISTS = ("base_vocabulary.txt", "templates/ORDER.txt", "radiology_words.txt")
TABLES = {
    "findings_lexicon.tsv": 4,
    "units.tsv": 2,
    "british_spellings.tsv": 2,
    "body_regions.tsv": 3,
    "diagnosis_signs.tsv": 3,
    "lesion_max_size.tsv": 2,
    "organ_sizes.tsv": 4,
    "abbreviations.tsv": 2,
    "section_names.tsv": 3,
    "findings_scope.tsv": 2,
    "surgeries.tsv": 2,
    "normal_impressions.tsv": 2,
}
# Tested here or in test_template_data.py.
OTHERS = {"radiology_lexicon.txt", "critical_anatomy.txt", "macros.json", "README.md"}


def _files() -> set[str]:
    names = {p.name for p in DATA.iterdir() if p.is_file()}
    names |= {f"templates/{p.name}" for p in (DATA / "templates").iterdir() if p.name.endswith(".txt")}
    return names


def test_every_data_file_is_validated_here() -> None:
    assert _files() == set(SECTIONED) | set(LISTS) | set(TABLES) | OTHERS


def _is_clean(entry: str) -> bool:
    """Lower case (the engine compares lower-cased words) and single-spaced."""
    return entry == entry.lower() and entry == " ".join(entry.split())


@pytest.mark.parametrize("name", sorted(SECTIONED))
def test_sectioned_word_lists_have_their_sections_and_no_empty_or_repeated_entry(name: str) -> None:
    sections = data_sections(name)
    assert set(sections) == SECTIONED[name]
    for section, entries in sections.items():
        assert entries, f"[{section}] is empty"
        repeated = sorted({e for e in entries if entries.count(e) > 1})
        assert not repeated, f"[{section}] repeats {repeated}"
        if section == "written case":  # the case is the point: one word, with a capital
            assert all(re.fullmatch(r"[A-Za-z]*[A-Z][A-Za-z]*", e) for e in entries)
            continue
        if section == "isotopes":  # "Tc-99m: technetium": the symbol and mass as written
            assert all(re.fullmatch(r"[A-Z][a-z]?-\d{1,3}m?: [a-z]+", e) for e in entries), entries
            continue
        assert all(_is_clean(e) for e in entries), [e for e in entries if not _is_clean(e)]


@pytest.mark.parametrize("name", LISTS)
def test_plain_word_lists_have_no_repeated_entry(name: str) -> None:
    entries = data_lines(name)
    assert entries and len(entries) == len(set(entries))


@pytest.mark.parametrize("name", sorted(TABLES))
def test_tables_have_their_columns_on_every_line(name: str) -> None:
    assert data_rows(name, TABLES[name])


def test_section_names_are_clean_once_each_and_not_repeated_among_the_other_headings() -> None:
    names = [row[0] for row in data_rows("section_names.tsv", 3)]
    assert len(names) == len(set(names)) == len(SECTION_OF)
    assert all(_is_clean(n) for n in names)
    assert {row[2] for row in data_rows("section_names.tsv", 3)} == {"spoken", "colon", "written", "label"}
    assert not set(names) & set(data_sections("normalize_words.txt")["headings"])


def test_findings_lexicon_names_each_phrase_once_with_a_weight_and_a_criticality() -> None:
    terms = findings_lexicon()
    phrases = [t.phrase for t in terms]
    assert len(phrases) == len(set(phrases)), "a phrase belongs to one concept only"
    assert all(_is_clean(p) for p in phrases)
    concept_lines = [row[0] for row in data_rows("findings_lexicon.tsv", 4)]
    assert len(concept_lines) == len(set(concept_lines)), "a concept is one line"
    assert all(0 <= t.weight <= 100 for t in terms)
    assert {t.concept for t in terms if t.critical} >= {"pneumothorax", "pulmonary embolism", "free air"}


def test_a_malformed_findings_lexicon_line_is_refused() -> None:
    with pytest.raises(ValueError, match="line 1"):
        parse_findings_lexicon("pneumothorax\t100\tmaybe\tpneumothorax\n")
    with pytest.raises(ValueError, match="empty phrase"):
        parse_findings_lexicon("mass\t60\tno\tmass, , tumor\n")


def test_units_are_listed_longest_first_and_once() -> None:
    spoken = [tuple(row[0].split()) for row in data_rows("units.tsv", 2)]
    assert len(spoken) == len(set(spoken))
    for i, earlier in enumerate(spoken):
        for later in spoken[i + 1 :]:
            # The first unit that matches wins: a shorter one listed first would hide the longer one.
            assert later[: len(earlier)] != earlier, f"{earlier} hides {later}"


def test_lesion_sizes_are_for_concepts_of_the_findings_lexicon() -> None:
    concepts = {t.concept for t in findings_lexicon()}
    for concept, size in data_rows("lesion_max_size.tsv", 2):
        assert concept in concepts
        assert float(size) > 0


def test_abbreviations_are_each_listed_once_in_capitals_with_their_words() -> None:
    rows = data_rows("abbreviations.tsv", 2)
    short = [a for a, _ in rows]
    assert len(short) == len(set(short))
    assert all(re.fullmatch(r"[A-Z]{2,5}", a) and _is_clean(words) for a, words in rows)


def test_organ_sizes_name_each_organ_once_per_dimension_with_a_range() -> None:
    seen: set[tuple[str, str]] = set()
    for words, dimension, smallest, largest in data_rows("organ_sizes.tsv", 4):
        assert dimension in ("length", "diameter", "thickness", "size"), dimension
        assert 0 < float(smallest) < float(largest), words
        for word in (w.strip() for w in words.split(",")):
            assert word and _is_clean(word) and (word, dimension) not in seen, word
            seen.add((word, dimension))


def test_radiology_lexicon_loads_every_term_it_lists_once_per_region() -> None:
    lexicon = load_lexicon()
    listed = [
        line
        for line in (raw.split("#", 1)[0].strip() for raw in data_lines("radiology_lexicon.txt"))
        if line and not line.startswith(("[", "@"))
    ]

    def letters(line: str) -> str:
        return re.sub(r"[^a-z]", "", line.split("=")[0].split(":")[0].lower())

    # A term too short to match by sound is only a spelling for its variants ("MR = mister").
    short = [line for line in listed if len(letters(line)) < 4]
    assert all("=" in line for line in short), f"too short to match, and no variant: remove {short}"
    assert len(listed) - len(short) == len(lexicon.terms)
    for region in lexicon.regions.values():
        texts = [t.text.lower() for t in region.terms]
        assert len(texts) == len(set(texts)), f"[{region.name}] repeats a term"
    assert all(re.fullmatch(r"[a-z]+", v) for v in lexicon.variants)


def test_critical_anatomy_places_critical_phrases_of_the_lexicon_in_known_regions() -> None:
    concepts = {t.phrase: (t.concept, t.critical) for t in findings_lexicon()}
    regions = set(load_lexicon().regions)
    groups = critical_anatomy()
    assert groups
    placed = [p for g in groups for p in g.phrases]
    assert len(placed) == len(set(placed)), "a phrase is placed by one group only"
    for group in groups:
        # A group places a critical concept's phrases, or phrases that are critical somewhere
        # ("thrombus" in a pulmonary artery is a pulmonary embolism).
        critical_somewhere = any(meaning.critical for meaning, _ in group.elsewhere) or bool(
            group.new and group.new[0].critical
        )
        for phrase in group.phrases:
            concept, critical = concepts[phrase]
            assert concept == group.concept and (critical or critical_somewhere), phrase
        assert group.regions <= regions
        words = [w.lower() for _, ws in group.elsewhere for w in ws] + [w.lower() for w in group.anatomy]
        assert all(words) and len(words) == len(set(words)), sorted({w for w in words if words.count(w) > 1})


def test_a_malformed_critical_anatomy_section_is_refused() -> None:
    with pytest.raises(ValueError, match="needs 'of'"):
        parse_critical_anatomy({"x": ("phrases: hemorrhage",)})
    with pytest.raises(ValueError, match="go together"):
        parse_critical_anatomy({"x": ("of: a", "phrases: b", "regions: neuro")})
    with pytest.raises(ValueError, match="CONCEPT, WEIGHT"):
        parse_critical_anatomy({"x": ("of: a", "phrases: b", "elsewhere: c, high, yes: d")})
    with pytest.raises(ValueError, match="unexpected line"):
        parse_critical_anatomy({"x": ("of: a", "phrases: b", "where: c")})


def test_british_spellings_are_each_listed_once_and_never_an_american_word() -> None:
    rows = data_rows("british_spellings.tsv", 2)
    british = [b for b, _ in rows]
    assert len(british) == len(set(british))
    assert not {b for b in british} & {a for _, a in rows}


def test_diagnoses_and_their_signs_are_concepts_of_the_findings_lexicon() -> None:
    concepts = {term.concept for term in findings_lexicon()}
    for diagnosis, _, signs in data_rows("diagnosis_signs.tsv", 3):
        assert diagnosis in concepts, diagnosis
        assert {s.strip() for s in signs.split(",")} <= concepts, diagnosis
