"""The clinical content shipped as data (scribe/data/): every built-in template validates against
its JSON schema and loads into the engine unchanged; macros and word lists are well formed. A
radiologist edits these files, so a mistake must fail here, not at a dictation."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from autoscribe.scribe.templates import BASE_VOCABULARY, BUILTIN_MACROS, BUILTIN_TEMPLATES, choose_template
from autoscribe.scribe.types import Template

DATA = resources.files("autoscribe.scribe") / "data"
TEMPLATES = DATA / "templates"


def _listed() -> list[str]:
    text = (TEMPLATES / "ORDER.txt").read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def _template_files() -> list[str]:
    names = (p.name for p in TEMPLATES.iterdir())
    return sorted(n for n in names if n.endswith(".json") and ".schema." not in n)


def test_every_template_file_is_listed_once_and_every_listed_one_exists() -> None:
    listed = _listed()
    assert len(listed) == len(set(listed))
    assert sorted(f"{t}.json" for t in listed) == _template_files()
    assert [t.id for t in BUILTIN_TEMPLATES] == listed
    assert "generic" in listed


@pytest.mark.parametrize("name", _template_files())
def test_template_file_matches_the_schema_and_loads_unchanged(name: str) -> None:
    schema = json.loads((TEMPLATES / "template.schema.json").read_text(encoding="utf-8"))
    data: dict[str, Any] = json.loads((TEMPLATES / name).read_text(encoding="utf-8"))
    validator = Draft202012Validator(schema)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(data)]
    assert errors == []
    assert data["id"] == name.removesuffix(".json")
    template = Template.from_dict(data)
    assert {k: v for k, v in template.to_dict().items() if k != "builtin"} == data
    organ_keys = [o.key for o in template.organs()]
    assert len(organ_keys) == len(set(organ_keys)), "organ keys repeat"


def test_the_schema_catches_a_broken_template() -> None:
    schema = json.loads((TEMPLATES / "template.schema.json").read_text(encoding="utf-8"))
    good = json.loads((TEMPLATES / "ct-chest.json").read_text(encoding="utf-8"))
    broken = json.loads(json.dumps(good))
    broken["sections"][3]["organs"][0]["keywords"] = []  # an organ nothing routes to
    broken["sections"][4]["key"] = "conclusion"  # sections out of the report's order
    messages = [e.message for e in Draft202012Validator(schema).iter_errors(broken)]
    assert any("should be non-empty" in m or "is too short" in m for m in messages)
    assert any("'impression' was expected" in m for m in messages)


def test_macros_and_word_lists_are_well_formed() -> None:
    assert BUILTIN_MACROS and all(
        name == " ".join(name.lower().split()) and text.strip() for name, text in BUILTIN_MACROS.items()
    )
    assert BASE_VOCABULARY and len(BASE_VOCABULARY) == len(set(BASE_VOCABULARY))


def test_the_loaded_templates_still_choose_as_before() -> None:
    assert choose_template("CT HEAD WITHOUT CONTRAST").id == "ct-head"
    assert choose_template("CTA CHEST PE PROTOCOL", modality="CT").id == "cta-chest"
    assert choose_template("XR FOOT 3 VIEWS").id == "generic"
