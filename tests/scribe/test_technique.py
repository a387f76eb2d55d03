"""The technique sentence says how the study was done, as its description and dictation show."""

from __future__ import annotations

import pytest

from autoscribe.scribe import ScribeEngine, StudyContext
from autoscribe.scribe.technique import contrast_of, technique_for_study, technique_from_description


def _technique(text: str, procedure: str) -> str:
    result = ScribeEngine(llm=None).from_text(text, StudyContext(procedure=procedure))
    return result.draft.section_texts()["technique"]


def _findings(text: str, procedure: str) -> str:
    result = ScribeEngine(llm=None).from_text(f"Findings: {text}", StudyContext(procedure=procedure))
    return result.draft.section_texts()["findings"]


@pytest.mark.parametrize(
    ("procedure", "technique"),
    [
        ("US THYROID", "Grayscale ultrasound images of the thyroid were obtained."),
        (
            "CT ABD/PELVIS WO",
            "CT images of the abdomen and pelvis were obtained without intravenous contrast.",
        ),
        (
            "CT CHEST ABDOMEN PELVIS W CONTRAST",
            "CT images of the chest, abdomen and pelvis were obtained with intravenous contrast.",
        ),
        (
            "MRI PITUITARY W WO",
            "MR images of the pituitary gland were obtained before and after intravenous contrast.",
        ),
        (
            "MRI L SPINE WO CONTRAST",
            "MR images of the lumbar spine were obtained without intravenous contrast.",
        ),
        ("XR ANKLE LEFT 3 VIEWS", "Three views of the left ankle."),
        ("XR HAND RT MIN 3V", "Three views of the right hand."),
        ("XR FOOT 2 VIEWS BILATERAL", "Two views of both feet."),
        ("XR C SPINE 1 VIEW", "A single view of the cervical spine."),
        ("XR KUB", "Radiographs of the abdomen."),
        (
            "US LOWER EXTREMITY VENOUS DUPLEX RIGHT",
            "Grayscale and Doppler ultrasound images of the right lower extremity veins were obtained.",
        ),
        # A time-of-flight MR angiogram has no contrast: none is claimed unless the description says.
        ("MRA HEAD", "MR angiography of the head was performed."),
        ("MR TMJ BILATERAL", "MR images of both temporomandibular joints were obtained."),
        # Every modality word of data/procedure_words.txt is a word of how, not of the region.
        ("SONO THYROID", "Grayscale ultrasound images of the thyroid were obtained."),
        ("XR ANKLE SINGLE VIEW LT", "A single view of the left ankle."),
    ],
)
def test_a_technique_is_made_from_the_study_description(procedure: str, technique: str) -> None:
    assert technique_from_description(procedure) == technique


@pytest.mark.parametrize(
    "procedure",
    [
        "XR BONE AGE",
        "NM BONE SCAN WHOLE BODY",
        "PET CT SKULL BASE TO MID THIGH",
        "MRCP",
        "CT UROGRAM",
        "THYROID",
    ],
)
def test_a_description_naming_no_known_region_or_modality_makes_no_technique(procedure: str) -> None:
    assert technique_from_description(procedure) is None


def test_the_general_template_takes_its_technique_from_the_description_or_leaves_it_to_fill() -> None:
    said = "Findings. A two centimeter nodule in the right thyroid lobe. Impression. Right thyroid nodule."
    assert _technique(said, "US THYROID") == "Grayscale ultrasound images of the thyroid were obtained."
    result = ScribeEngine(llm=None).from_text("No fracture.", StudyContext(procedure="XR BONE AGE"))
    assert result.draft.section_texts()["technique"] == "[***]"
    assert any(c.code == "unfilled_placeholder" and "Technique" in c.message for c in result.checks)


def test_an_ultrasound_claims_color_doppler_only_when_it_was_used() -> None:
    plain = "The liver is normal. The gallbladder contains stones."
    assert (
        _technique(plain, "US ABDOMEN COMPLETE")
        == "Grayscale ultrasound images of the abdomen were obtained."
    )
    with_flow = plain + " The portal vein is patent with hepatopetal flow."
    assert "color Doppler" in _technique(with_flow, "US ABDOMEN COMPLETE")
    assert "color Doppler" in _technique(plain, "US ABDOMEN WITH DOPPLER")
    assert _technique("The kidneys are normal in size.", "US RENAL") == (
        "Grayscale ultrasound images of the kidneys were obtained."
    )


def test_a_dictated_technique_is_kept_as_said() -> None:
    said = "Technique. Grayscale and color Doppler images of the liver. Findings. The liver is normal."
    assert _technique(said, "US ABDOMEN") == "Grayscale and color Doppler images of the liver."


@pytest.mark.parametrize(
    ("procedure", "contrast"),
    [
        ("CT CHEST W CONTRAST", "with"),
        ("CT CHEST W/O CONTRAST", "without"),
        ("MRI BRAIN W WO CONTRAST", "before and after"),
        ("CT HEAD WITHOUT", "without"),
        ("CT ABDOMEN WITH", "with"),
        ("CTA CHEST", "with"),
        ("MRA HEAD", None),
        ("CT HEAD", None),
    ],
)
def test_contrast_is_read_from_how_descriptions_write_it(procedure: str, contrast: str | None) -> None:
    assert contrast_of(procedure) == contrast


def test_the_template_technique_follows_the_description_contrast() -> None:
    default = "Axial CT images of the chest were obtained with intravenous contrast."
    assert technique_for_study(default, "CT CHEST W CONTRAST") == default
    assert technique_for_study(default, "CT CHEST WO CONTRAST") == (
        "Axial CT images of the chest were obtained without intravenous contrast."
    )


def test_a_template_technique_silent_on_contrast_says_what_the_description_does() -> None:
    assert (
        technique_for_study(
            "Axial CT images of the chest were obtained with multiplanar reformations.",
            "CT CHEST WITH CONTRAST",
        )
        == "Axial CT images of the chest were obtained with intravenous contrast, "
        "with multiplanar reformations."
    )
    brain = (
        "Multiplanar multisequence MR images of the brain were obtained including diffusion-weighted imaging."
    )
    assert "before and after intravenous contrast" in technique_for_study(brain, "MRI BRAIN W WO CONTRAST")
    assert technique_for_study(brain, "MRI BRAIN") == brain


@pytest.mark.parametrize(
    ("procedure", "contrast"),
    [
        ("CT ABD PELVIS W+WO", "before and after"),
        ("CT CHEST W & W/O", "before and after"),
        ("MRI BRAIN W AND W/O", "before and after"),
        ("CT A/P W/O IV CON", "without"),
        ("CT ABDOMEN WITH ORAL CONTRAST ONLY", "without"),
        ("CT ABD/PEL W/ CON", "with"),
        ("MRI L-SPINE W/O", "without"),
    ],
)
def test_contrast_as_ris_descriptions_abbreviate_it(procedure: str, contrast: str) -> None:
    assert contrast_of(procedure) == contrast


@pytest.mark.parametrize(
    "procedure", ["XR HAND 2V RT AND WRIST 3V LT", "XR HAND RT, XR WRIST LT", "XR KNEE 2-3 VIEWS LT"]
)
def test_a_description_of_two_sides_or_view_counts_makes_no_technique(procedure: str) -> None:
    assert technique_from_description(procedure) is None


@pytest.mark.parametrize(
    "procedure", ["XR CHEST 1V", "XR CHEST AP", "XR CHEST PORTABLE", "XR CHEST SINGLE VIEW"]
)
def test_a_one_view_chest_film_claims_one_view(procedure: str) -> None:
    default = "Frontal and lateral radiographs of the chest."
    assert technique_for_study(default, procedure) == "A single frontal radiograph of the chest."


def test_tomosynthesis_and_an_arthrogram_are_said_as_the_description_says() -> None:
    assert "tomosynthesis" not in _technique(
        "No suspicious findings.", "MG DIGITAL SCREENING BILATERAL W/ CAD"
    )
    assert "tomosynthesis" in _technique("No suspicious findings.", "MG SCREENING BILAT TOMO")
    assert "intra-articular injection of dilute gadolinium" in _technique(
        "Labral tear.", "MR ARTHROGRAM SHOULDER LT"
    )
    assert "without contrast" in _technique("Labral tear.", "MRI SHOULDER LT WO")


@pytest.mark.parametrize(
    ("procedure", "contrast"),
    [
        ("CT ABD PELVIS W/O & W CONTRAST", "before and after"),
        ("MRI BRAIN W/O & W", "before and after"),
        ("CT RENAL STONE", "without"),
        ("CT A/P STONE PROTOCOL W CONTRAST", "with"),
        ("CT ABDOMEN PELVIS UROGRAM KIDNEY STONES", None),
    ],
)
def test_contrast_said_without_first_and_a_stone_study(procedure: str, contrast: str | None) -> None:
    assert contrast_of(procedure) == contrast


@pytest.mark.parametrize(
    ("procedure", "technique"),
    [
        ("XR CHEST PA", "A single frontal radiograph of the chest."),
        ("XR CHEST 4V", "Four radiographs of the chest."),
        ("XR CHEST PA AND LATERAL", "Frontal and lateral radiographs of the chest."),
        ("XR CHEST 2V PA", "Frontal and lateral radiographs of the chest."),
        ("XR CHEST PA UPRIGHT AND LATERAL", "Frontal and lateral radiographs of the chest."),
    ],
)
def test_a_chest_film_claims_the_views_its_description_says(procedure: str, technique: str) -> None:
    assert technique_for_study("Frontal and lateral radiographs of the chest.", procedure) == technique


def test_a_study_without_contrast_claims_no_enhancement_and_a_pelvis_ct_no_abdomen() -> None:
    kidneys = _findings("Diverticulosis.", "CT ABDOMEN PELVIS WO CONTRAST")
    assert "enhance" not in kidneys and "No hydronephrosis or renal calculus." in kidneys
    assert "enhance symmetrically" in _findings("Diverticulosis.", "CT ABDOMEN PELVIS W CONTRAST")
    pelvis = _findings("Small left hip effusion.", "CT PELVIS WITHOUT CONTRAST")
    assert "liver" not in pelvis.lower() and "lung bases" not in pelvis.lower()
    technique = _technique("", "CT PELVIS WITHOUT CONTRAST")
    assert technique.startswith("Axial CT images of the pelvis were obtained without")


def test_a_protocol_is_claimed_only_where_the_description_asks_for_it() -> None:
    assert "protocol" not in _technique("", "CTA CHEST")
    assert "according to the pulmonary embolism protocol" in _technique("", "CTA CHEST PE PROTOCOL")
    assert "according to the aortic protocol" in _technique("", "CTA CHEST AORTA")
    assert _technique("", "CT ANGIO CHEST W CONTRAST").startswith("CT angiography of the chest")
