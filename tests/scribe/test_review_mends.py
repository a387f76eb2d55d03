"""Cases a fresh-eyes review of the fifth probe's rules found: each failed on those rules."""

from __future__ import annotations

import pytest

from autoscribe.scribe import ScribeEngine, StudyContext, build_draft, builtin_template
from autoscribe.scribe.engine import DictationResult
from autoscribe.scribe.normalize import normalize
from autoscribe.scribe.sides import study_side


def _result(text: str, procedure: str, **context: str) -> DictationResult:
    return ScribeEngine(llm=None).from_text(text, StudyContext(procedure=procedure, **context))


def _codes(text: str, procedure: str) -> set[str]:
    return {c.code for c in _result(text, procedure, clinical_indication="pain").checks}


def test_a_time_ending_in_pm_keeps_the_full_stop_of_its_sentence() -> None:
    said = "discussed with doctor lee at ten fifteen p.m. The heart is normal."
    assert normalize(said) == "Discussed with Dr. Lee at 10:15 PM. The heart is normal."
    assert normalize("called at ten fifteen p.m. on monday") == "Called at 10:15 PM on monday"


@pytest.mark.parametrize(
    ("said", "written"),
    [
        ("The referring doctor requests comparison.", "The referring doctor requests comparison."),
        ("discussed with doctor smith's team", "Discussed with Dr. Smith's team"),
        ("discussed with doctor o'brien", "Discussed with Dr. O'Brien"),
    ],
)
def test_doctor_is_a_title_only_before_a_name(said: str, written: str) -> None:
    assert normalize(said) == written


def test_a_cerebral_infarct_is_brain_and_an_occlusion_is_vessels_on_a_ct_head() -> None:
    texts = _result("Evolving left MCA infarct. Occlusion of the left MCA.", "CT HEAD").draft.section_texts()
    assert "Brain parenchyma: Evolving left MCA infarct." in texts["findings"]
    assert "Vessels: Occlusion of the left MCA." in texts["findings"]


def test_an_organ_is_listed_normal_by_its_name_not_by_a_keyword() -> None:
    """ "normal in size and echotexture" had taken out the liver's own normal sentence."""
    texts = _result(
        "The right kidney is normal in size and echogenicity. The spleen is normal in size and echotexture.",
        "US ABDOMEN COMPLETE",
    ).draft.section_texts()
    assert "Liver: The liver is normal in size and echotexture without focal lesion." in texts["findings"]


@pytest.mark.parametrize(
    ("dictated", "section", "text"),
    [
        (
            "stable appearance of the chest period next section no acute disease period",
            "impression",
            "No acute disease.",
        ),
        ("Right lower lobe consolidation, rule out underlying mass.", "findings", "consolidation"),
    ],
)
def test_a_reading_said_first_is_no_history(dictated: str, section: str, text: str) -> None:
    texts = _result(dictated, "XR CHEST 2 VIEWS").draft.section_texts()
    assert text in texts[section] and texts["clinicalIndication"] == "[***]"


def test_views_that_show_a_finding_are_the_findings() -> None:
    texts = _result(
        "Two views demonstrate a displaced fracture of the distal radius.", "XR WRIST"
    ).draft.section_texts()
    assert "displaced fracture" in texts["findings"]


def test_a_things_number_in_an_impression_item_splits_nothing() -> None:
    result = _result(
        "findings colon liver lesion period impression number 1 nodule in segment number 2 of the liver",
        "CT ABDOMEN",
    )
    assert result.impression == ["Nodule in segment number 2 of the liver."]


@pytest.mark.parametrize(
    ("comparison", "dictated", "flagged"),
    [
        ("Nonenhanced CT from 2020.", "the opacities are unchanged period", False),
        ("", "recommend interval follow up CT period", False),
        ("", "no interval change period", True),
    ],
)
def test_comparison_missing_needs_a_none_and_a_real_comparison(
    comparison: str, dictated: str, flagged: bool
) -> None:
    result = _result(f"findings colon {dictated}", "XR CHEST 2 VIEWS", comparison=comparison)
    assert ("comparison_missing" in {c.code for c in result.checks}) is flagged


@pytest.mark.parametrize(
    "sentence",
    [
        "The patient is status post craniotomy.",
        "Motion artifact limits evaluation.",
        "I spoke with Dr. Smith at 2:30 PM.",
    ],
)
def test_a_sentence_about_the_study_does_not_go_on_about_the_finding_before_it(sentence: str) -> None:
    template = builtin_template("ct-head")
    assert template is not None
    draft = build_draft(f"Evolving left MCA infarct. {sentence}", template)
    findings = draft.section("findings")
    assert findings is not None and [s.text for s in findings.sentences] == [sentence]


def test_a_dvt_sign_on_the_other_side_is_questioned_and_a_chest_wall_has_a_side() -> None:
    assert "laterality_mismatch" in _codes(
        "findings colon the left common femoral vein is not compressible period",
        "US VENOUS DUPLEX RIGHT LOWER EXTREMITY",
    )
    assert study_side("US RIGHT CHEST WALL") == "right"


def test_a_denial_before_the_hypothetical_still_conflicts() -> None:
    assert "negation_conflict" in _codes(
        "findings colon no acute fracture comma though MRI could be obtained "
        "to exclude occult fracture period acute distal radius fracture period",
        "XR WRIST",
    )


@pytest.mark.parametrize(
    ("said", "written"),
    [
        (
            "T score negative 2.6. Negative 3 lymph nodes were seen.",
            "T-score -2.6. Negative 3 lymph nodes were seen.",
        ),
        ("T-score of negative 2.6.", "T-score of -2.6."),
        ("Type a aortic dissection.", "Type A aortic dissection."),
        ("PSA of 5 ng/mL.", "PSA of 5 ng/mL."),
    ],
)
def test_scores_letters_and_units_as_written(said: str, written: str) -> None:
    assert normalize(said) == written


def test_a_plural_the_lexicon_reads_is_no_british_spelling() -> None:
    from autoscribe.scribe import correct_terms

    assert correct_terms("Small bilateral pneumothoraces.") == "Small bilateral pneumothoraces."


def test_an_isotope_is_no_length() -> None:
    codes = _codes(
        "findings colon following injection of 25 mCi Tc-99m MDP there is uptake in the spine period",
        "NM BONE SCAN",
    )
    assert "unit_implausible" not in codes


@pytest.mark.parametrize(
    ("procedure", "technique"),
    [
        ("US RENAL TRANSPLANT", "transplant kidney"),
        ("CT HEAD WO CONTRAST AND CTA HEAD AND NECK", "Axial CT images of the head"),
    ],
)
def test_a_transplant_kidney_and_a_combined_head_study_get_their_own_technique(
    procedure: str, technique: str
) -> None:
    assert technique in _result("No acute findings.", procedure).draft.section_texts()["technique"]


# ---- a fresh-eyes review of the 2026-12-08 second session's change ----------------------------


@pytest.mark.parametrize(
    ("procedure", "dictated", "critical"),
    [
        # Another finding's old word leaves a dissection or a hematoma new.
        ("CTA CHEST", "Stable emphysema and aortic dissection.", True),
        ("CT HEAD WITHOUT CONTRAST", "Old infarct and subdural hematoma.", True),
        # A known chronic finding that has grown is a new result.
        ("CT HEAD WITHOUT CONTRAST", "The chronic subdural hematoma has enlarged.", True),
        ("CT HEAD WITHOUT CONTRAST", "Stable chronic left subdural hematoma measuring 4 mm.", False),
    ],
)
def test_an_old_word_counts_only_for_its_own_finding(procedure: str, dictated: str, critical: bool) -> None:
    result = ScribeEngine(llm=None).from_text(f"Findings. {dictated}", StudyContext(procedure=procedure))
    assert ("critical_finding" in {c.code for c in result.checks}) is critical


def test_a_denied_list_of_places_sharing_one_finding_is_never_cut_into_pieces() -> None:
    result = ScribeEngine(llm=None).from_text(
        "lungs colon spiculated right upper lobe mass with right hilar lymphadenopathy period",
        StudyContext(procedure="CT CHEST WITH CONTRAST", modality="CT"),
    )
    findings = result.draft.section_texts()["findings"]
    assert "No mediastinal." not in findings and "No hilar." not in findings


@pytest.mark.parametrize(
    "dictated",
    [
        "Right adnexal complex cystic and solid structure measuring 4 cm.",
        "Left kidney: 2 cm echogenic focus.",
    ],
)
def test_a_finding_with_a_size_is_no_biometry(dictated: str) -> None:
    result = ScribeEngine(llm=None).from_text(f"Findings. {dictated}", StudyContext(procedure="US PELVIS"))
    assert result.impression != ["No acute abnormality."]


@pytest.mark.parametrize(
    ("dictated", "implausible"),
    [
        ("Left kidney: 2 cm cyst.", False),
        ("The right kidney is 2 cm smaller than the left.", False),
        ("The spleen measures 35 mm.", True),
    ],
)
def test_only_the_organs_own_size_is_questioned(dictated: str, implausible: bool) -> None:
    result = ScribeEngine(llm=None).from_text(f"Findings. {dictated}", StudyContext(procedure="US ABDOMEN"))
    assert ("unit_implausible" in {c.code for c in result.checks}) is implausible


@pytest.mark.parametrize(
    ("dictated", "missing"),
    [
        ("Grade 2 splenic laceration extending 2.5 into the parenchyma.", True),
        ("Resistive indices are 0.65 on the right and 0.7 on the left.", False),
    ],
)
def test_only_an_index_or_ratio_heads_a_list_without_units(dictated: str, missing: bool) -> None:
    result = ScribeEngine(llm=None).from_text(f"Findings. {dictated}", StudyContext(procedure="CT ABDOMEN"))
    assert ("unit_missing" in {c.code for c in result.checks}) is missing


@pytest.mark.parametrize(
    ("said", "written"),
    [
        ("impression colon one dash no acute abnormality period", "Impression: One - no acute abnormality."),
        ("fifty dash year dash old male period", "50-year-old male."),
        ("no acute fracture fracture or dislocation period", "No acute fracture or dislocation."),
        (
            "left lower lobe lower lobe and right lower lobe consolidation period",
            "Left lower lobe and right lower lobe consolidation.",
        ),
    ],
)
def test_dashes_after_numbers_and_stutters_before_and(said: str, written: str) -> None:
    assert normalize(said) == written
