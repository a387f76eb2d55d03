"""Impression generation (rules and an OpenAI-compatible fake server) and the pre-sign checks."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from autoscribe.scribe import (
    LlmConfig,
    ScribeEngine,
    StudyContext,
    build_draft,
    builtin_template,
    normalize,
    run_checks,
)
from autoscribe.scribe.findings import analyze, communication_recorded
from autoscribe.scribe.impression import generate_impression, impression_with_source, rule_based_impression


def _draft(text: str, template_id: str = "ct-chest", context: StudyContext | None = None) -> Any:
    template = builtin_template(template_id)
    assert template is not None
    return build_draft(text, template, context)


def test_negex_negation_scope() -> None:
    assert not analyze("No pleural effusion or pneumothorax.").is_positive
    assert analyze("No effusion, but there is a small pneumothorax.").critical
    assert analyze("No change in the right lower lobe nodule.").is_positive  # pseudo-negation
    assert not analyze("Pneumothorax has resolved.").is_positive  # post-trigger
    mention = analyze("Small left pleural effusion.").positive[0]
    assert (mention.concept, mention.side) == ("pleural effusion", "left")


def test_rule_based_impression_orders_critical_first_and_says_normal_when_normal() -> None:
    draft = _draft(
        "mild emphysema period small right pleural effusion period there is a large left pneumothorax period"
    )
    assert generate_impression(draft) == [
        "Large left pneumothorax.",
        "Small right pleural effusion.",
        "Mild emphysema.",
    ]
    assert generate_impression(_draft("the lungs are clear period no pneumothorax period")) == [
        "No acute intrathoracic abnormality."  # a chest CT's normal
    ]


@pytest.mark.parametrize(
    "findings",
    [
        "Widened mediastinum.",
        "Hyperdense blood in the left Sylvian fissure.",
        "Right upper lobe collapse.",
        "The heart is moderately enlarged.",
        "Peritoneal carcinomatosis.",
    ],
)
def test_a_finding_the_lexicon_does_not_list_is_not_called_normal(findings: str) -> None:
    """Said in words the lexicon does not list, a finding was dropped and the impression read "No
    acute abnormality."; a normal study still reads so."""
    draft = (
        ScribeEngine(llm=None).from_text(f"Findings: {findings}", StudyContext(procedure="XR CHEST")).draft
    )
    assert rule_based_impression(draft) == [findings.rstrip(".") + "."]


def test_a_normal_study_in_words_the_lexicon_does_not_list_stays_normal() -> None:
    text = "Findings: The lungs are clear. The heart size is normal. The NG tube extends into the stomach."
    draft = ScribeEngine(llm=None).from_text(text, StudyContext(procedure="XR CHEST")).draft
    assert rule_based_impression(draft) == ["No acute cardiopulmonary abnormality."]


def test_the_suggested_impression_leaves_out_the_sizes_of_normal_structures() -> None:
    """A liver ultrasound lists organ sizes; they are not findings for the impression."""
    template = builtin_template("us-abdomen")
    assert template is not None
    draft = build_draft(
        "The common bile duct measures 4 mm. The right kidney measures 10.5 cm. "
        "There is a 2 cm hypoechoic focus in the spleen.",
        template,
    )
    assert generate_impression(draft) == ["2 cm hypoechoic focus in the spleen."]


class _FakeLLM(BaseHTTPRequestHandler):
    answers: list[tuple[int, str]] = []
    requests: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append(
            {"path": self.path, "body": body, "auth": self.headers.get("Authorization")}
        )
        status, content = type(self).answers.pop(0)
        payload = json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def fake_llm() -> Iterator[str]:
    _FakeLLM.answers, _FakeLLM.requests = [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeLLM)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_llm_writes_the_impression_and_rules_take_over_on_failure(fake_llm: str) -> None:
    config = LlmConfig(base_url=fake_llm, model="local-model", api_key="sk-test", timeout=5)
    draft = _draft("small right pleural effusion period")
    _FakeLLM.answers = [(200, "1. Small right pleural effusion, likely reactive.\n2. No pneumothorax.")]
    items, source = impression_with_source(draft, llm=config)
    assert (items, source) == (["Small right pleural effusion, likely reactive.", "No pneumothorax."], "llm")
    sent = _FakeLLM.requests[0]
    assert sent["path"] == "/v1/chat/completions" and sent["auth"] == "Bearer sk-test"
    assert sent["body"]["model"] == "local-model"
    assert "Small right pleural effusion." in sent["body"]["messages"][1]["content"]

    _FakeLLM.answers = [(500, "boom")]
    items, source = impression_with_source(draft, llm=config)
    assert (items, source) == (["Small right pleural effusion."], "rules")

    # Nothing listens here at all: still the rule-based impression.
    dead = LlmConfig(base_url="http://127.0.0.1:9/v1", model="m", timeout=1)
    result = ScribeEngine(llm=dead).from_text(
        "small right pleural effusion period", StudyContext(procedure="CT CHEST")
    )
    assert (
        result.impression == ["Small right pleural effusion."] and result.draft.impression_source == "rules"
    )


def _codes(text: str, context: StudyContext, template_id: str = "ct-chest") -> set[str]:
    engine = ScribeEngine(llm=None)
    template = builtin_template(template_id)
    return {c.code for c in engine.from_text(text, context, template=template).checks}


def test_checks_catch_injected_errors_and_stay_quiet_on_a_clean_report() -> None:
    knee = StudyContext(procedure="MRI LEFT KNEE", sex="female", clinical_indication="pain")
    clean = "there is a tear of the medial meniscus period impression colon medial meniscus tear period"
    assert _codes(clean, knee, "mri-knee") == set()
    assert "laterality_mismatch" in _codes(
        clean.replace("medial meniscus period", "right medial meniscus period"), knee, "mri-knee"
    )

    pelvis = StudyContext(procedure="CT ABDOMEN PELVIS", sex="male", clinical_indication="pain")
    assert "sex_mismatch" in _codes("the uterus is enlarged period", pelvis, "ct-abdomen-pelvis")

    chest = StudyContext(procedure="CT CHEST", clinical_indication="cough")
    assert "negation_conflict" in _codes(
        "small right pleural effusion period no pleural effusion period", chest
    )
    assert "negation_conflict" not in _codes(
        "no right pleural effusion period small left pleural effusion period", chest
    )
    assert "negation_conflict" not in _codes(
        "no new nodule period stable five millimeter nodule period", chest
    )
    assert "impression_omission" in _codes(
        "large right pleural effusion period spiculated mass in the left upper lobe period "
        "impression colon large right pleural effusion period",
        chest,
    )
    assert "unit_missing" in _codes("a two point three by one point one nodule period", chest)
    assert "unit_implausible" in _codes("a forty centimeter nodule in the right upper lobe period", chest)
    assert "critical_finding" in _codes("small left pneumothorax period", chest)
    assert "critical_finding" not in _codes(
        "small left pneumothorax period",
        StudyContext(procedure="CT CHEST", clinical_indication="x", is_critical=True),
    )
    assert "laterality_inconsistent" in _codes(
        "small right pleural effusion period impression colon small left pleural effusion period", chest
    )


@pytest.mark.parametrize(
    ("given", "sex"),
    [("F", "female"), ("f", "female"), ("Female", "female"), ("M", "male"), ("O", "other"), ("U", None)],
)
def test_a_study_context_reads_dicom_sex_codes(given: str, sex: str | None) -> None:
    """StudyContext(sex="F") was kept as "F": the sex checks and sex-specific normals saw no sex."""
    assert StudyContext(sex=given).sex == StudyContext.from_dict({"sex": given}).sex == sex


def test_a_dicom_sex_code_turns_on_the_sex_check_and_the_sex_specific_normal() -> None:
    pelvis = StudyContext(procedure="CT ABDOMEN PELVIS", sex="M", clinical_indication="pain")
    assert "sex_mismatch" in _codes("the uterus is enlarged period", pelvis, "ct-abdomen-pelvis")
    template = builtin_template("ct-abdomen-pelvis")
    assert template is not None
    draft = build_draft("no free air period", template, StudyContext(procedure="CT ABDOMEN PELVIS", sex="F"))
    pelvic = [s.text for path, s in draft.iter_sentences() if path == "findings.pelvicOrgans"]
    assert pelvic == ["The uterus and adnexa are unremarkable."]


@pytest.mark.parametrize(
    ("procedure", "dictated"),
    [
        ("US PELVIS", "a simple cyst measuring 3.2 x 2.8 cm period"),
        ("US PELVIS", "a lesion measuring 8.2 x 4.1 x 5.0 cm period"),
        ("US RENAL", "a stone measuring 4 by 5 millimeters period"),
        ("CT CHEST", "the pulmonary artery to aorta ratio is 1.2 period"),
        (
            "US CAROTID",
            "peak systolic velocity of 140 centimeters per second in the right internal carotid period",
        ),
        ("US CAROTID", "peak systolic velocity of 1.4 meters per second period"),
    ],
)
def test_measurements_with_their_units_raise_no_unit_warning(procedure: str, dictated: str) -> None:
    """Sizes in three dimensions, ratios and velocities are written right: a warning on them would
    teach the radiologist to ignore the unit checks."""
    codes = _codes(dictated, StudyContext(procedure=procedure, clinical_indication="pain"))
    assert "unit_missing" not in codes
    assert "unit_implausible" not in codes


def test_a_velocity_is_written_per_second() -> None:
    assert normalize("velocity of 140 centimeters per second period") == "Velocity of 140 cm/s."


def test_a_denial_and_a_finding_dictated_under_different_organs_conflict() -> None:
    head = StudyContext(procedure="CT HEAD", clinical_indication="fall")
    dictated = (
        "brain colon no intracranial hemorrhage period extra axial colon small left subdural hematoma period"
    )
    assert "negation_conflict" in _codes(dictated, head, "ct-head")
    old = (
        "brain colon no acute intracranial hemorrhage period "
        "extra axial colon chronic left subdural hematoma period"
    )
    assert "negation_conflict" not in _codes(old, head, "ct-head")
    # A qualified denial in the impression against the same qualified finding.
    denied = "acute left subdural hematoma period impression colon no acute subdural hematoma period"
    assert "negation_conflict" in _codes(denied, head, "ct-head")
    chest = StudyContext(procedure="CT CHEST", clinical_indication="follow up")
    assert "negation_conflict" not in _codes(
        "stable 4 mm nodule in the right upper lobe period impression colon no new nodule period", chest
    )


def test_a_denial_at_one_spine_level_does_not_conflict_with_a_finding_at_another() -> None:
    spine = StudyContext(procedure="MRI LUMBAR SPINE WITHOUT CONTRAST", clinical_indication="back pain")
    levels = "At L3-L4 there is no canal stenosis. At L4-L5 there is moderate canal stenosis."
    assert "negation_conflict" not in _codes(levels, spine, "generic")
    same = "At L4-L5 there is no canal stenosis. At L4-L5 there is moderate canal stenosis."
    assert "negation_conflict" in _codes(same, spine, "generic")


def test_one_pair_of_sentences_gives_one_conflict_warning() -> None:
    """A mass denied in the findings ("No mass, mass effect ...") and dictated in the impression
    was reported twice, once per concept pair."""
    brain = StudyContext(procedure="MRI BRAIN W WO CONTRAST", clinical_indication="headache")
    result = ScribeEngine(llm=None).from_text(
        "Findings: No mass, mass effect, or midline shift. "
        "Impression: Left sphenoid wing mass compatible with meningioma.",
        brain,
    )
    messages = [c.message for c in result.checks if c.code == "negation_conflict"]
    assert len(messages) == len(set(messages)) == 1


def test_an_old_finding_beside_an_acute_denial_and_a_finding_not_confirmed_raise_no_conflict() -> None:
    brain = StudyContext(procedure="MRI BRAIN", clinical_indication="stroke")
    old = "old left MCA infarct period no acute infarct period"
    assert "negation_conflict" not in _codes(old, brain, "mri-brain")
    assert "negation_conflict" in _codes(
        "acute left MCA infarct period no acute infarct period", brain, "mri-brain"
    )
    chest = StudyContext(procedure="CT CHEST", clinical_indication="fever")
    not_confirmed = "the clinical impression of pneumonia is not confirmed period no pneumonia period"
    assert "negation_conflict" not in _codes(not_confirmed, chest)


def test_completeness_checks() -> None:
    draft = _draft("the lungs are clear period")
    codes = {c.code: c for c in run_checks(draft, StudyContext())}
    assert codes["unfilled_placeholder"].where == "clinicalIndication"
    assert codes["unfilled_placeholder"].severity == "error"
    assert "empty_section" in codes  # impression not generated yet
    assert codes["empty_section"].where == "impression"


def test_impression_omission_does_not_fire_when_the_impression_names_the_finding_in_misheard_words() -> None:
    spine = StudyContext(procedure="MRI LUMBAR SPINE", clinical_indication="Back pain")
    abdomen = StudyContext(procedure="CT ABDOMEN PELVIS", clinical_indication="Flank pain")
    # The impression quotes the stone's size; only the noun "stone" was misheard.
    assert "impression_omission" not in _codes(
        "there is a five millimeter obstructing stone at the left ureterovesical junction period "
        "impression colon five millimeter obstructing left ureterovesical junction compression period",
        abdomen,
    )
    # "disc protrusion" heard as "scratch protrusion": the finding's noun is there.
    assert "impression_omission" not in _codes(
        "at L five S one there is a left paracentral disc protrusion period "
        "impression colon L five S one scratch protrusion period",
        spine,
    )
    # Another finding's noun or another size does not cover it.
    assert "impression_omission" in _codes(
        "there is a two centimeter mass in the liver period impression colon five millimeter nodule period",
        abdomen,
    )
    assert "impression_omission" in _codes(
        "moderate pericardial effusion period impression colon small joint effusion period",
        StudyContext(procedure="CT CHEST", clinical_indication="x"),
    )


def test_a_finding_explained_by_the_next_sentence_s_diagnosis_is_covered_by_that_diagnosis() -> None:
    abdomen = StudyContext(procedure="CT ABDOMEN PELVIS", clinical_indication="Pain", sex="female")
    explained = (
        "the appendix is dilated measuring one point two centimeters period "
        "periappendiceal stranding consistent with acute appendicitis period "
    )
    assert "impression_omission" not in _codes(
        explained + "impression colon acute appendicitis period", abdomen, "ct-abdomen-pelvis"
    )
    # The diagnosis itself left out of the impression: both sentences are flagged.
    missing = [
        c
        for c in ScribeEngine(llm=None)
        .from_text(explained + "impression colon acute cholecystitis period", abdomen)
        .checks
        if c.code == "impression_omission"
    ]
    assert len(missing) == 2
    # With no diagnosis after it, the dilated appendix alone is still an omission.
    assert "impression_omission" in _codes(
        "the appendix is dilated measuring one point two centimeters period "
        "impression colon acute cholecystitis period",
        abdomen,
        "ct-abdomen-pelvis",
    )


def test_a_macro_command_that_names_no_macro_is_flagged_and_a_known_one_expands() -> None:
    chest = StudyContext(procedure="CT CHEST", clinical_indication="cough")
    assert "unknown_macro" in _codes("findings colon insert normal pelvis period", chest)
    assert "unknown_macro" not in _codes("findings colon insert normal chest period", chest)
    assert "unknown_macro" not in _codes("findings colon the catheter was inserted period", chest)


@pytest.mark.parametrize(
    ("sentence", "mismatch"),
    [
        ("the left shoulder was not imaged period", False),
        ("the left side was included for comparison period", False),
        ("the joint space is narrower compared with the left period", False),
        ("small left joint effusion period", True),
        ("the left shoulder is dislocated and was not imaged on the lateral view period", True),
    ],
)
def test_the_other_side_named_as_the_other_side_is_no_laterality_mismatch(
    sentence: str, mismatch: bool
) -> None:
    shoulder = StudyContext(procedure="XR RIGHT SHOULDER 3 VIEWS", clinical_indication="fall")
    assert ("laterality_mismatch" in _codes(f"findings colon {sentence}", shoulder, "generic")) is mismatch


@pytest.mark.parametrize(
    ("procedure", "sentence", "mismatch"),
    [
        ("XR PELVIS AND LEFT HIP 2 VIEWS", "the right hip is normal period", False),
        ("XR LEFT HIP 2 VIEWS", "the right hip is normal period", True),
        (
            "US LEFT LOWER EXTREMITY VENOUS DOPPLER",
            "the contralateral right common femoral vein is patent period",
            False,
        ),
        (
            "US LEFT LOWER EXTREMITY VENOUS DOPPLER",
            "right common femoral vein waveform is phasic period",
            False,
        ),
        (
            "US LEFT LOWER EXTREMITY VENOUS DOPPLER",
            "the right common femoral vein was evaluated for comparison and is patent period",
            False,
        ),
        # A thrombus on the other side may be the study's side said wrong: still questioned.
        (
            "US LEFT LOWER EXTREMITY VENOUS DOPPLER",
            "occlusive thrombus in the right common femoral vein period",
            True,
        ),
        ("US LEFT LOWER EXTREMITY VENOUS DOPPLER", "the right popliteal vein is compressible period", True),
        ("US LEFT UPPER EXTREMITY VENOUS DOPPLER", "the right subclavian vein is patent period", False),
    ],
)
def test_the_other_side_a_study_shows_or_its_protocol_examines_is_no_laterality_mismatch(
    procedure: str, sentence: str, mismatch: bool
) -> None:
    """A pelvis film shows both hips; a one-leg venous duplex looks at the other common femoral vein."""
    context = StudyContext(procedure=procedure, clinical_indication="pain")
    assert ("laterality_mismatch" in _codes(f"findings colon {sentence}", context, "generic")) is mismatch


@pytest.mark.parametrize(
    ("procedure", "template_id", "text", "conflict"),
    [
        # A denial of one place says nothing of another (a fourth probe).
        ("CT HEAD", "ct-head", "Acute left subdural hematoma. No intraventricular hemorrhage.", False),
        ("CT ABDOMEN PELVIS", "ct-abdomen-pelvis", "Diffuse bladder wall thickening.", False),
        ("CT CHEST", "ct-chest", "Right parapneumonic effusion. No pericardial effusion.", False),
        # The same place, or a denial of the whole concept, still conflicts.
        ("CT HEAD", "ct-head", "No intracranial hemorrhage. Acute left subdural hematoma.", True),
        (
            "CT HEAD",
            "ct-head",
            "No intraventricular hemorrhage. Hemorrhage in the left lateral ventricle.",
            True,
        ),
    ],
)
def test_a_denial_of_one_place_conflicts_only_with_that_place(
    procedure: str, template_id: str, text: str, conflict: bool
) -> None:
    context = StudyContext(procedure=procedure, clinical_indication="trauma")
    assert ("negation_conflict" in _codes(f"Findings. {text}", context, template_id)) is conflict


@pytest.mark.parametrize(
    ("procedure", "dictated", "omission"),
    [
        (
            "CT HEAD WITHOUT CONTRAST",
            "Findings. Hyperdense right middle cerebral artery sign. "
            "Impression. Hyperdense right MCA suggestive of thrombus.",
            False,
        ),
        (
            "CT HEAD WITHOUT CONTRAST",
            "Findings. Hyperdense left middle cerebral artery sign. Impression. Hyperdense left MCA.",
            False,
        ),
        (
            "CTA CHEST",
            "Findings. Acute pulmonary embolism in the right lower lobe. Impression. Right lower lobe PE.",
            False,
        ),
        (
            "US VENOUS DOPPLER LEFT LOWER EXTREMITY",
            "Findings. Occlusive thrombus in the left femoral vein. Impression. Left femoral DVT.",
            False,
        ),
        ("CT HEAD WITHOUT CONTRAST", "Findings. Right subdural hematoma. Impression. Right SDH.", False),
        (
            "CT ABDOMEN PELVIS",
            "Findings. Abdominal aortic aneurysm measuring 5.8 cm. Impression. 5.9 cm AAA.",
            False,
        ),
        (
            "CT ABDOMEN PELVIS",
            "Findings. Common bile duct dilatation to 12 mm with choledocholithiasis. Impression. CBD stone.",
            False,
        ),
        # An abbreviated finding left out of the impression is asked for, like a spelled-out one.
        ("CT CHEST", "Findings. Large left PTX. Impression. No acute abnormality.", True),
        (
            "CT HEAD WITHOUT CONTRAST",
            "Findings. Hyperdense left middle cerebral artery sign. "
            "Impression. No acute intracranial abnormality.",
            True,
        ),
    ],
)
def test_the_impression_may_name_a_finding_by_its_abbreviation(
    procedure: str, dictated: str, omission: bool
) -> None:
    """A probe: "Hyperdense right MCA suggestive of thrombus" did not mention the findings' "middle
    cerebral artery sign"; "PE", "DVT", "SDH", "AAA" did not mention theirs either."""
    context = StudyContext(procedure=procedure, clinical_indication="x")
    assert ("impression_omission" in _codes(dictated, context, "generic")) is omission


def test_what_dense_tissue_may_obscure_is_no_finding() -> None:
    """A fourth probe: "which may obscure small masses" asked the impression to mention "the masses"."""
    screening = StudyContext(procedure="MAMMOGRAM SCREENING BILATERAL", clinical_indication="screening")
    text = (
        "Findings. The breasts are heterogeneously dense, which may obscure small masses. "
        "No suspicious mass or calcifications. Impression. BI-RADS 1 negative."
    )
    assert "impression_omission" not in _codes(text, screening, "mg-screening")


@pytest.mark.parametrize(
    ("sentence", "critical"),
    [
        ("occlusion of the right middle cerebral artery M one segment period", True),
        ("the left M two segment is occluded period", True),
        ("acute occlusion of the basilar artery period", True),
        # Occlusions elsewhere, old ones and denied ones are no large vessel occlusion.
        ("chronic occlusion of the right ICA period", False),
        ("chronic left ICA occlusion period", False),
        ("known chronically occluded right vertebral artery period", False),
        # A chronic word elsewhere in the sentence describes something else.
        ("acute occlusion of the left M one segment with chronic small vessel disease period", True),
        ("occlusion of the left superficial femoral artery period", False),
        ("no occlusion of the MCA period", False),
    ],
)
def test_an_intracranial_large_vessel_occlusion_is_critical(sentence: str, critical: bool) -> None:
    """ "Occlusion of the right MCA M1 segment" raised nothing: only "large vessel occlusion" did."""
    cta = StudyContext(procedure="CTA HEAD AND NECK", clinical_indication="left sided weakness")
    assert ("critical_finding" in _codes(f"findings colon {sentence}", cta, "ct-head")) is critical


@pytest.mark.parametrize(
    ("dictated", "omission"),
    [
        (
            "the appendix is dilated with periappendiceal stranding period "
            "impression colon acute appendicitis period",
            False,
        ),
        ("gallbladder wall thickening period impression colon acute cholecystitis period", False),
        ("large volume free fluid in the abdomen period impression colon hemoperitoneum period", False),
        # A finding that is no sign of the diagnosis is still asked for.
        (
            "gallbladder wall thickening period a two centimeter mass in the liver period "
            "impression colon acute cholecystitis period",
            True,
        ),
        ("the appendix is dilated period impression colon no acute abnormality period", True),
        # A sign in another organ than the diagnosis's.
        ("the appendix is dilated period impression colon acute cholecystitis period", True),
    ],
)
def test_a_diagnosis_in_the_impression_covers_its_signs_in_the_findings(
    dictated: str, omission: bool
) -> None:
    abdomen = StudyContext(procedure="CT ABDOMEN PELVIS", clinical_indication="pain")
    assert (
        "impression_omission" in _codes(f"findings colon {dictated}", abdomen, "ct-abdomen-pelvis")
    ) is omission


@pytest.mark.parametrize(
    ("procedure", "dictated", "conflict"),
    [
        (
            "MAMMOGRAM DIAGNOSTIC LEFT",
            "the breasts are heterogeneously dense comma which may obscure small masses period "
            "there is an irregular spiculated mass in the left breast period",
            False,
        ),
        (
            "MRI BRAIN",
            "multiple T2 hyperintense periventricular lesions period no enhancing lesions period",
            False,
        ),
        ("MRI BRAIN", "multiple enhancing lesions period no enhancing lesions period", True),
        ("CT CHEST", "no pleural effusion period small left pleural effusion period", True),
    ],
)
def test_a_supposed_or_qualified_denial_is_no_negation_conflict(
    procedure: str, dictated: str, conflict: bool
) -> None:
    context = StudyContext(procedure=procedure, clinical_indication="follow up")
    assert ("negation_conflict" in _codes(f"findings colon {dictated}", context, "generic")) is conflict


@pytest.mark.parametrize(
    ("comparison", "dictated", "flagged"),
    [
        ("", "bilateral opacities comma unchanged from prior period", True),
        ("", "the nodule is again seen period", True),
        ("", "bilateral opacities period", False),
        ("CT chest January 5, 2026", "bilateral opacities comma unchanged from prior period", False),
        # "No interval change" needs a prior too; a new finding does not.
        ("", "no interval change period", True),
        ("", "new right pleural effusion period", False),
    ],
)
def test_a_comparison_with_a_prior_under_comparison_none_is_flagged(
    comparison: str, dictated: str, flagged: bool
) -> None:
    """ "Opacities, unchanged from prior" stood under "Comparison: None." with no warning."""
    context = StudyContext(
        procedure="XR CHEST PORTABLE", clinical_indication="hypoxia", comparison=comparison
    )
    assert ("comparison_missing" in _codes(f"findings colon {dictated}", context, "xr-chest")) is flagged


@pytest.mark.parametrize(
    ("findings", "inconsistent"),
    [
        ("filling defects in the right lower lobe segmental arteries period", True),
        ("filling defects in the right lower lobe and left upper lobe segmental arteries period", False),
        ("filling defects in the bilateral lower lobe arteries period", False),
    ],
)
def test_a_bilateral_impression_over_one_sided_findings_is_flagged(findings: str, inconsistent: bool) -> None:
    context = StudyContext(procedure="CTA CHEST PE PROTOCOL", clinical_indication="dyspnea")
    dictated = f"findings colon {findings} impression colon acute bilateral pulmonary emboli period"
    assert ("laterality_inconsistent" in _codes(dictated, context, "cta-chest")) is inconsistent


def test_a_critical_result_already_communicated_is_only_to_be_marked() -> None:
    head = StudyContext(procedure="CT HEAD", clinical_indication="fall")
    engine = ScribeEngine(llm=None)
    told = engine.from_text(
        "acute left subdural hematoma period "
        "findings were discussed with doctor smith at nine fifteen PM period",
        head,
    )
    untold = engine.from_text("acute left subdural hematoma period", head)
    [message] = [c.message for c in told.checks if c.code == "critical_finding"]
    assert "communication is recorded" in message and "communicating it" not in message
    [message] = [c.message for c in untold.checks if c.code == "critical_finding"]
    assert message.endswith("communicating it.")


@pytest.mark.parametrize(
    "asked",
    [
        "recommend this be discussed with the stroke team period",
        "please notify the referring physician period",
        "findings will be communicated to the emergency department period",
        "attempts to reach doctor smith were unsuccessful and she will be notified period",
    ],
)
def test_a_communication_asked_for_is_not_one_recorded(asked: str) -> None:
    head = StudyContext(procedure="CT HEAD", clinical_indication="fall")
    result = ScribeEngine(llm=None).from_text(f"acute left subdural hematoma period {asked}", head)
    [message] = [c.message for c in result.checks if c.code == "critical_finding"]
    assert message.endswith("communicating it.")


@pytest.mark.parametrize(
    ("procedure", "said", "concept"),
    [
        ("CT CHEST WITH CONTRAST", "small hemopericardium period", "Hemorrhagic pericardial effusion"),
        ("CT CHEST WITH CONTRAST", "pericardial effusion with tamponade physiology period", "tamponade"),
        (
            "CT HEAD WITHOUT CONTRAST",
            "hyperdense left middle cerebral artery sign period",
            "Hyperdense vessel sign",
        ),
        ("CT CERVICAL SPINE", "there is a type two dens fracture period", "Unstable spine fracture"),
        ("CT CERVICAL SPINE", "C five teardrop fracture which is unstable period", "Unstable spine fracture"),
        (
            "XR CHEST PORTABLE",
            "the endotracheal tube tip is in the right mainstem bronchus period",
            "Malpositioned",
        ),
        ("CT ABDOMEN PELVIS WITH CONTRAST", "portal venous gas period", "Portal venous gas"),
    ],
)
def test_critical_findings_a_probe_found_missing_are_flagged(procedure: str, said: str, concept: str) -> None:
    result = ScribeEngine(llm=None).from_text(
        said, StudyContext(procedure=procedure, clinical_indication="x")
    )
    messages = [c.message for c in result.checks if c.code == "critical_finding"]
    assert any(concept.lower() in m.lower() for m in messages), messages


def test_a_denied_portal_venous_gas_does_not_deny_the_pneumatosis_beside_it() -> None:
    context = StudyContext(procedure="CT ABDOMEN PELVIS WITH CONTRAST", clinical_indication="pain")
    said = "pneumatosis of the cecum period no portal venous gas period"
    result = ScribeEngine(llm=None).from_text(said, context)
    assert "negation_conflict" not in {c.code for c in result.checks}
    assert any(c.code == "critical_finding" and "Pneumatosis" in c.message for c in result.checks)


@pytest.mark.parametrize(
    ("procedure", "said"),
    [
        # The finding is no measurement without a unit, and no denial of itself.
        ("CT ABDOMEN PELVIS WITHOUT CONTRAST", "moderate left hydronephrosis without hydroureter period"),
        (
            "PET CT",
            "right upper lobe mass with SUV max six point one period no distant metastatic disease period",
        ),
        ("XR BONE AGE", "bone age is ten point eight months period"),
        ("CT ABDOMEN", "a ten french drain was placed period"),
    ],
)
def test_findings_with_their_own_words_raise_no_false_alarm(procedure: str, said: str) -> None:
    result = ScribeEngine(llm=None).from_text(
        said, StudyContext(procedure=procedure, clinical_indication="x")
    )
    assert not {"negation_conflict", "unit_missing"} & {c.code for c in result.checks}


@pytest.mark.parametrize(
    ("procedure", "said", "item"),
    [
        (
            "CT ENTEROGRAPHY",
            "active terminal ileal crohn disease period",
            "Active terminal ileal Crohn disease.",
        ),
        (
            "CT ABDOMEN",
            "cirrhotic liver with esophageal varices period",
            "Cirrhotic liver with esophageal varices.",
        ),
        ("US SCROTUM", "left epididymitis period", "Left epididymitis."),
        (
            "MRI FOOT",
            "osteomyelitis of the first metatarsal head period",
            "Osteomyelitis of the first metatarsal head.",
        ),
    ],
)
def test_common_findings_are_suggested_for_the_impression(procedure: str, said: str, item: str) -> None:
    result = ScribeEngine(llm=None).from_text(
        said, StudyContext(procedure=procedure, clinical_indication="x")
    )
    assert item in result.impression


@pytest.mark.parametrize(
    ("procedure", "said", "critical"),
    [
        # A known occlusion may be the acute one; a tamponade of the globe or of varices is no
        # cardiac tamponade.
        ("CTA HEAD", "known left M one occlusion compatible with the acute stroke period", True),
        ("CT HEAD WITHOUT CONTRAST", "silicone oil tamponade in the right globe period", False),
        ("CT ABDOMEN", "status post balloon tamponade of gastric varices period", False),
    ],
)
def test_critical_words_in_other_senses(procedure: str, said: str, critical: bool) -> None:
    result = ScribeEngine(llm=None).from_text(
        said, StudyContext(procedure=procedure, clinical_indication="x")
    )
    assert any(c.code == "critical_finding" for c in result.checks) is critical


def test_a_communication_in_its_own_clause_is_recorded() -> None:
    assert communication_recorded("Unable to reach Dr. X; discussed with Dr. Y at 9:15 PM.")
    assert communication_recorded("Dr. Smith, who will place a chest tube, was notified at 9:15 PM.")
    assert not communication_recorded("Recommend this be discussed with the stroke team.")


@pytest.mark.parametrize(
    ("said", "warned"),
    [
        ("The nodule measures two to three centimeters.", False),
        ("The resistive indices are zero point six five and zero point seven.", False),
        ("The lesion measures three.", True),
        ("The mass measures 2.1 and 3.2.", True),
    ],
)
def test_a_range_with_its_unit_and_a_list_of_indices_need_no_unit(said: str, warned: bool) -> None:
    result = ScribeEngine(llm=None).from_text(
        said, StudyContext(procedure="US RENAL", clinical_indication="x")
    )
    assert ("unit_missing" in {c.code for c in result.checks}) is warned


@pytest.mark.parametrize(
    ("procedure", "said", "warned"),
    [
        ("MR PROSTATE", "PSA density is 0.23.", False),
        ("US RENAL DOPPLER", "Resistive indices are 0.65 on the right and 0.7 on the left.", False),
        ("US RENAL DOPPLER", "The renal to aortic ratio is 2.1 on the right and 1.9 on the left.", False),
        ("US RENAL DOPPLER", "RI 0.8.", False),
        ("US CAROTID", "Left ICA PSV/EDV 80/20 cm/s.", False),
        ("US CAROTID", "PSV and EDV are 80 and 20 cm/s.", False),
        ("US CAROTID", "ICA/CCA PSV ratio is 3.2.", False),
        # A bone's density has a unit, a size said after an index is a size, a velocity is per second.
        ("DXA", "Bone mineral density is 0.85.", True),
        ("US RENAL DOPPLER", "Resistive index 0.7 and the kidney measures 10.5.", True),
        ("US CAROTID", "Left ICA PSV 80, EDV 20.", True),
        ("US CAROTID", "The peak systolic velocity in the right ICA is 125.", True),
    ],
)
def test_ratios_indices_and_a_psa_density_need_no_unit_and_a_velocity_does(
    procedure: str, said: str, warned: bool
) -> None:
    """A probe: "PSA density is 0.23." and a list of resistive indices were asked for a unit, and
    "Left ICA PSV 80, EDV 20." was not."""
    result = ScribeEngine(llm=None).from_text(
        f"Findings. {said}", StudyContext(procedure=procedure, clinical_indication="x")
    )
    assert ("unit_missing" in {c.code for c in result.checks}) is warned


@pytest.mark.parametrize(
    ("procedure", "said", "warned"),
    [
        ("CT ABDOMEN PELVIS", "The appendix measures 6 cm in diameter.", True),
        ("US ABDOMEN", "The spleen measures 35 mm in length.", True),
        ("US RENAL", "The right kidney measures 10.5 mm.", True),
        ("US RENAL", "The right kidney measures 45 cm.", True),
        ("US ABDOMEN", "The common bile duct measures 4 cm.", True),
        ("US PELVIS", "The ovary measures 3 x 2 x 2 mm.", True),
        # Normal and abnormal sizes of organs, an organ's other dimension, and a finding in an organ.
        ("CT ABDOMEN PELVIS", "The appendix is dilated to 12 mm with periappendiceal stranding.", False),
        ("CT ABDOMEN PELVIS", "The appendix measures 8 cm in length.", False),
        ("US ABDOMEN", "Splenomegaly, with the spleen measuring 19 cm in length.", False),
        ("US ABDOMEN", "The spleen measures 9 x 4 x 3 cm.", False),
        ("US RENAL", "The right kidney is atrophic, measuring 6.5 cm.", False),
        ("US ABDOMEN", "The abdominal aorta is aneurysmal, measuring 5.8 cm in transverse diameter.", False),
        ("US ABDOMEN", "The gallbladder wall measures 3 mm.", False),
        ("US ABDOMEN", "A lesion in the spleen measures 3 cm.", False),
        ("US ABDOMEN", "The liver contains a 1.5 cm cyst.", False),
        ("US OB", "The fetal kidneys measure 1.5 cm.", False),
    ],
)
def test_an_organ_measured_outside_its_plausible_size_is_questioned(
    procedure: str, said: str, warned: bool
) -> None:
    """A probe: "The appendix measures 6 cm in diameter." and "The spleen measures 35 mm in length."
    raised no unit_implausible: only findings of the lexicon had a largest size."""
    result = ScribeEngine(llm=None).from_text(
        f"Findings. {said}", StudyContext(procedure=procedure, clinical_indication="x")
    )
    assert ("unit_implausible" in {c.code for c in result.checks}) is warned


def test_a_narrower_denial_does_not_deny_the_wider_finding() -> None:
    """ "Aortic aneurysm ... with no evidence of rupture" is no conflict; "no acute infarct" beside
    an "acute left MCA infarct" still is."""
    abdomen = StudyContext(procedure="CT ABDOMEN PELVIS WITH CONTRAST", clinical_indication="x")
    said = "aortic aneurysm measuring five point eight centimeters with no evidence of rupture period"
    assert "negation_conflict" not in _codes(said, abdomen, "ct-abdomen-pelvis")
    brain = StudyContext(procedure="MRI BRAIN", clinical_indication="stroke")
    assert "negation_conflict" in _codes(
        "acute left MCA infarct period no acute infarct period", brain, "mri-brain"
    )


@pytest.mark.parametrize(
    ("procedure", "dictated", "code"),
    [
        (
            "PET CT",
            "Findings: Right upper lobe mass. Ipsilateral hilar nodal metastasis. "
            "No distant metastatic disease. Impression: Right upper lobe mass with hilar nodal metastasis.",
            "negation_conflict",
        ),
        (
            "US PARACENTESIS",
            "Findings: Ascites measuring 4.2 liters was drained. Impression: Ascites.",
            "unit_missing",
        ),
        (
            "US RENAL TRANSPLANT",
            "Findings: Resistive indices range from 0.65 to 0.72. Impression: Normal transplant.",
            "unit_missing",
        ),
        (
            "CT CHEST",
            "Findings: The nodule increased from 3.2 to 4.1 cm. Impression: Enlarging nodule.",
            "unit_missing",
        ),
        (
            "MRI L SPINE",
            "Findings: L5-S1 left paracentral disc extrusion. Impression: L5-S1 left paracentral extrusion.",
            "impression_omission",
        ),
        (
            "US RUQ",
            "Findings: Gallstones with wall thickening and pericholecystic fluid. "
            "Impression: Acute calculous cholecystitis.",
            "impression_omission",
        ),
        (
            "XR CHEST",
            "Findings: Healed right rib fractures. Impression: No acute abnormality.",
            "impression_omission",
        ),
    ],
)
def test_a_third_probes_false_alarms_stay_quiet(procedure: str, dictated: str, code: str) -> None:
    result = ScribeEngine(llm=None).from_text(
        dictated, StudyContext(procedure=procedure, clinical_indication="x")
    )
    assert code not in {c.code for c in result.checks}


def test_a_measurement_without_its_unit_is_still_flagged() -> None:
    result = ScribeEngine(llm=None).from_text(
        "Findings: The kidney measures twelve by eight.",
        StudyContext(procedure="US RENAL", clinical_indication="x"),
    )
    assert "unit_missing" in {c.code for c in result.checks}


@pytest.mark.parametrize(
    ("procedure", "dictated", "suggested"),
    [
        ("CT HEAD WITHOUT CONTRAST", "No acute hemorrhage.", "No acute intracranial abnormality."),
        ("CT ABDOMEN PELVIS WITH CONTRAST", "No free air.", "No acute abnormality."),
    ],
)
def test_a_normal_studys_suggested_impression_is_written_as_its_kind_of_report_writes_it(
    procedure: str, dictated: str, suggested: str
) -> None:
    result = ScribeEngine(llm=None).from_text(f"Findings: {dictated}", StudyContext(procedure=procedure))
    assert result.impression == [suggested]
    assert result.draft.impression_suggested


def test_a_sided_organs_size_is_biometry_and_no_impression_item() -> None:
    result = ScribeEngine(llm=None).from_text(
        "Findings: Right kidney measures 10.5 cm with no hydronephrosis. Left kidney measures 11 cm. "
        "No stones.",
        StudyContext(procedure="US RENAL BILATERAL", modality="US"),
    )
    assert result.impression == ["No acute abnormality."]
