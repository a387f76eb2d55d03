"""Templates: automatic choice, vocabulary prompt, IHE MRRT export/import round trip."""

from __future__ import annotations

from dataclasses import replace

import pytest

from autoscribe.scribe import (
    BUILTIN_TEMPLATES,
    ScribeEngine,
    StudyContext,
    choose_template,
    from_mrrt,
    to_mrrt,
    vocabulary_prompt,
)
from autoscribe.scribe.templates import GENERIC_ID, builtin_template, exam_scope, template_from_dictation
from autoscribe.scribe.transcribe import FakeTranscriber
from autoscribe.scribe.types import FINDINGS, IMPRESSION


@pytest.mark.parametrize(
    ("procedure", "modality", "template_id"),
    [
        ("CT HEAD WITHOUT CONTRAST", "", "ct-head"),
        ("CT CHEST W CONTRAST", "", "ct-chest"),
        ("CTA CHEST PE PROTOCOL", "", "cta-chest"),
        ("CT ANGIOGRAPHY CHEST", "CT", "cta-chest"),
        ("CT ABDOMEN PELVIS WITH CONTRAST", "", "ct-abdomen-pelvis"),
        ("CT ABDOMEN PELVIS ANGIOGRAM", "", "ct-abdomen-pelvis"),
        ("XR CHEST PA AND LATERAL", "", "xr-chest"),
        ("XR RIBS RIGHT 2 VIEWS", "", "xr-chest"),
        ("CHEST 2 VIEWS", "DX", "xr-chest"),
        ("MRI BRAIN W WO CONTRAST", "", "mri-brain"),
        ("MRI LEFT KNEE", "", "mri-knee"),
        ("MR SHOULDER RIGHT", "MR", "mri-shoulder"),
        ("US ABDOMEN COMPLETE", "", "us-abdomen"),
        ("SCREENING MAMMOGRAM BILATERAL", "", "mg-screening"),
        ("Brain MRI with Contrast", "", "mri-brain"),
        ("XR LEFT HAND 3 VIEWS", "", "generic"),
        # A count of views names no body part: a knee or hip film is not a chest X-ray.
        ("XR KNEE 2 VIEWS RIGHT", "XR", "generic"),
        ("XR HIP 1 VIEW LEFT", "CR", "generic"),
        # A spine study names its region, but has none of the chest's or abdomen's organs.
        ("CT THORACIC SPINE WITHOUT CONTRAST", "", "generic"),
        ("MRI LUMBAR SPINE", "", "generic"),
        # A study of more than one template's region, or a PET-CT: no region's normal sentences.
        ("CT CHEST ABDOMEN PELVIS WITH CONTRAST", "CT", "generic"),
        ("PET CT SKULL BASE TO THIGH", "", "generic"),
        # ... but an angiogram keeps the angiography template it is heard with.
        ("CTA CHEST ABDOMEN PELVIS AORTA", "CT", "cta-chest"),
        ("", "", "generic"),
        # A modality no built-in template is for: a V/Q scan is no CT chest, MAG3 no renal US.
        ("NM LUNG VENTILATION PERFUSION", "NM", "generic"),
        ("NM LUNG VQ", "", "generic"),
        ("NM RENAL SCAN MAG3", "NM", "generic"),
        ("FL ESOPHAGRAM", "RF", "generic"),
        ("CHEST TUBE PLACEMENT", "XA", "generic"),
        ("MRV HEAD", "", "mri-brain"),
        # ... but a CT's or MR's own modality word comes first.
        ("CT ABDOMEN PELVIS W ORAL BARIUM", "", "ct-abdomen-pelvis"),
        ("MRI BRAIN IR", "", "mri-brain"),
        ("US ABDOMEN RUQ HIDA FOLLOWUP", "", "us-abdomen"),
    ],
)
def test_template_is_chosen_from_procedure_and_modality(
    procedure: str, modality: str, template_id: str
) -> None:
    assert choose_template(procedure, "", modality).id == template_id


def test_a_clinic_template_wins_over_the_builtin_for_the_same_words() -> None:
    ct_head = next(t for t in BUILTIN_TEMPLATES if t.id == "ct-head")
    ours = replace(ct_head, id="tpl_ours", name="Our head CT", builtin=False)
    assert choose_template("CT HEAD", "", "", [ours]).id == "tpl_ours"


def test_vocabulary_prompt_carries_the_template_terms() -> None:
    cta = next(t for t in BUILTIN_TEMPLATES if t.id == "cta-chest")
    prompt = vocabulary_prompt(cta, ["normal chest"])
    assert "filling defect" in prompt and "RV to LV ratio" in prompt and "normal chest" in prompt
    assert "Impression colon" in prompt  # the dictation style the model should continue
    assert len(prompt) <= 700


@pytest.mark.parametrize("template", BUILTIN_TEMPLATES, ids=lambda t: t.id)
def test_mrrt_round_trip(template: object) -> None:
    from autoscribe.scribe.types import Template

    assert isinstance(template, Template)
    document = to_mrrt(template)
    assert document.startswith("<!DOCTYPE html>") and "<section" in document
    assert 'name="dcterms.title"' in document
    assert from_mrrt(document) == replace(template, builtin=False)


def test_mrrt_from_another_tool_maps_sections_and_organs() -> None:
    document = """<!DOCTYPE html><html><head><meta charset="UTF-8"><title>Knee MRI (RSNA)</title></head><body>
    <section id="history" data-section-name="Clinical Information">
      <header class="level1">Clinical Information</header>
      <p><input type="text" id="h1" value="Knee pain"></p></section>
    <section id="findings" data-section-name="Findings"><header>Findings</header>
      <section id="menisci"><header class="level2">Medial meniscus</header>
        <p><textarea id="m1">Intact &amp; normal.</textarea></p></section>
    </section>
    <section id="impression"><header>Impression</header></section>
    </body></html>"""
    template = from_mrrt(document, template_id="tpl_x")
    assert template.name == "Knee MRI (RSNA)" and template.id == "tpl_x"
    assert [s.key for s in template.sections] == ["clinicalIndication", FINDINGS, IMPRESSION]
    organ = template.organs()[0]
    assert (organ.key, organ.title, organ.normal) == ("menisci", "Medial meniscus", "Intact & normal.")
    assert "medial" in organ.keywords and "meniscus" in organ.keywords


def test_vocabulary_prompt_dictates_the_templates_normal_sentences() -> None:
    ct_head = next(t for t in BUILTIN_TEMPLATES if t.id == "ct-head")
    prompt = vocabulary_prompt(ct_head)
    # The model continues the prompt's style: spoken full stops, no commas, the study's own words.
    assert "The calvarium is intact period." in prompt and "," not in prompt.split("Findings colon.")[1]
    assert prompt.endswith("Impression colon. No acute abnormality period.")
    # Without a template there is still a dictation sample.
    assert "period." in vocabulary_prompt(None) and len(vocabulary_prompt(None)) <= 700


def test_a_long_macro_list_leaves_room_for_the_dictated_sentences() -> None:
    ct_chest = next(t for t in BUILTIN_TEMPLATES if t.id == "ct-chest")
    prompt = vocabulary_prompt(ct_chest, [f"macro number {i}" for i in range(80)])
    assert len(prompt) <= 700 and "period." in prompt
    assert prompt.endswith("Impression colon. No acute abnormality period.")


# ---- a study that says nothing about itself -------------------------------------------------------------

CHEST_DICTATION = (
    "Findings. The lungs are clear. There is a small right pleural effusion. No pneumothorax. "
    "The heart size is normal. The mediastinal contours are normal. Impression. Small right pleural effusion."
)


@pytest.mark.parametrize(
    ("dictation", "expected"),
    [
        (CHEST_DICTATION, {"xr-chest", "ct-chest", "cta-chest"}),
        (
            "There is a complex tear of the posterior horn of the medial meniscus. The anterior cruciate "
            "ligament is intact. Small joint effusion. The patellar tendon is normal.",
            {"mri-knee"},
        ),
        ("No acute abnormality.", {None}),  # too little to tell
        ("The patient tolerated the procedure well. Findings were discussed.", {None}),
    ],
)
def test_the_template_a_dictation_is_about(dictation: str, expected: set[str | None]) -> None:
    about = template_from_dictation(dictation)
    assert (about.id if about else None) in expected


def test_a_dictation_without_a_study_is_heard_again_with_the_vocabulary_it_is_about() -> None:
    fake = FakeTranscriber(CHEST_DICTATION.replace("pleural effusion", "plural infusion"))
    result = ScribeEngine(fake).dictate(b"audio")
    assert len(fake.prompts) == 2  # heard with the general vocabulary, then with the chest one
    assert "pneumothorax" not in (fake.prompts[0] or "") and "pneumothorax" in (fake.prompts[1] or "")
    assert result.template.id == GENERIC_ID  # the draft's layout is not guessed


@pytest.mark.parametrize(
    ("context", "template_id"),
    [(StudyContext(procedure="XR KNEE 2 VIEWS"), None), (StudyContext(), GENERIC_ID)],
)
def test_a_study_that_says_what_it_is_or_a_chosen_template_is_heard_once(
    context: StudyContext, template_id: str | None
) -> None:
    fake = FakeTranscriber(CHEST_DICTATION)
    engine = ScribeEngine(fake)
    template = builtin_template(template_id) if template_id else None
    engine.dictate(b"audio", context, template=template)
    assert len(fake.prompts) == 1


def test_an_mrrt_export_carries_the_study_scopes_and_a_broken_one_imports_without_them() -> None:
    template = builtin_template("us-abdomen")
    assert template is not None and template.scopes
    document = to_mrrt(template)
    assert exam_scope(from_mrrt(document), "US RENAL") == exam_scope(template, "US RENAL")
    broken = document.replace('name="autoscribe.scopes" content="[', 'name="autoscribe.scopes" content="[{]')
    assert broken != document
    imported = from_mrrt(broken)
    assert imported.scopes == () and imported.organs() == template.organs()


@pytest.mark.parametrize(
    ("procedure", "side"),
    [
        ("XR LEFT HIP 2 VIEWS", "left"),
        ("MRI RT SHOULDER", "right"),
        ("XR RIGHT HUMERUS INCLUDING HUMERAL HEAD", "right"),
        ("XR PELVIS AND LEFT HIP", None),  # the pelvis film shows both hips
        ("XR CHEST RIGHT DECUBITUS", None),  # the side the patient lies on: both lungs are seen
        ("XR RIBS RIGHT 2 VIEWS", "right"),
        ("CT CHEST WITH LEFT ARM UP", None),
        ("MAMMOGRAM BILATERAL", None),
        ("XR RIGHT AND LEFT KNEES", None),
    ],
)
def test_the_side_of_a_study(procedure: str, side: str | None) -> None:
    from autoscribe.scribe.sides import study_side

    assert study_side(procedure) == side


@pytest.mark.parametrize(
    "procedure",
    ["CT GUIDED LUNG BIOPSY", "US GUIDED PARACENTESIS", "CT ABDOMEN DRAIN PLACEMENT", "IR PICC PLACEMENT"],
)
def test_an_image_guided_procedure_gets_no_diagnostic_templates_normal_sentences(procedure: str) -> None:
    """A CT-guided lung biopsy got the CT chest template: "No consolidation or suspicious pulmonary
    nodule." beside the mass being biopsied."""
    assert choose_template(procedure).id == GENERIC_ID


def test_a_clinics_own_procedure_template_is_still_chosen() -> None:
    own = replace(builtin_template("ct-chest"), id="clinic-biopsy", builtin=False, match=("lung biopsy",))
    assert choose_template("CT GUIDED LUNG BIOPSY", templates=[own]).id == "clinic-biopsy"


@pytest.mark.parametrize(
    ("procedure", "template_id"),
    [
        ("XR CHEST POST PICC PLACEMENT", "xr-chest"),
        ("XR CHEST 1V POST THORACENTESIS", "xr-chest"),
        ("XR CHEST ASPIRATION", "xr-chest"),
        ("CT ABDOMEN PELVIS W FOLLOW UP ABSCESS DRAINAGE", "ct-abdomen-pelvis"),
        ("CT HEAD WO STEALTH GUIDANCE", "ct-head"),
    ],
)
def test_a_diagnostic_study_after_a_procedure_keeps_its_template(procedure: str, template_id: str) -> None:
    assert choose_template(procedure).id == template_id


@pytest.mark.parametrize(
    ("procedure", "scoped"),
    [
        ("CT ABDOMEN W", True),
        ("CT ABD/PEL W/ CON", False),
        ("CT PERFUSION HEAD", True),
        ("CT STROKE CODE W PERFUSION", False),
        ("CT PELVIS WITHOUT CONTRAST", True),
        ("CT ABDOMEN PELVIS WO CONTRAST", False),
    ],
)
def test_a_scope_is_not_taken_for_a_study_that_covers_more(procedure: str, scoped: bool) -> None:
    template = choose_template(procedure)
    assert (exam_scope(template, procedure) is not None) is scoped
