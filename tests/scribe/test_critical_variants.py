"""Critical findings survive mishearing: the checks read close variants of critical terms, name
the words they matched, and keep NegEx's negations (issue 14, part 3)."""

from __future__ import annotations

import pytest

from autoscribe.reports.checks import draft_from_content
from autoscribe.reports.schemas import ReportContent
from autoscribe.scribe import ScribeEngine, StudyContext
from autoscribe.scribe.checks import run_checks
from autoscribe.scribe.findings import analyze, critical_variants
from autoscribe.scribe.templates import builtin_template

CHEST = StudyContext(procedure="XR CHEST PORTABLE", clinical_indication="trauma")
HEAD = StudyContext(procedure="CT HEAD WITHOUT CONTRAST", clinical_indication="fall")


def _critical(findings: str, impression: str = "", context: StudyContext = CHEST) -> list[str]:
    """The critical-finding messages on a report as written (the sign dialog's checks)."""
    content = ReportContent.model_validate(
        {
            "clinicalIndication": "Trauma.",
            "technique": "",
            "comparison": "",
            "findings": {"text": findings, "subsections": []},
            "impression": impression or "See findings.",
        }
    )
    draft = draft_from_content(content)
    return [r.message for r in run_checks(draft, context) if r.code == "critical_finding"]


@pytest.mark.parametrize(
    ("sentence", "heard", "concept"),
    [
        ("There is a new motor thorax on the right.", "new motor thorax", "pneumothorax"),
        ("Large left numo thorax.", "numo thorax", "pneumothorax"),
        ("Acute pulmonary and bolus in the right lower lobe.", "pulmonary and bolus", "pulmonary embolism"),
        ("Acute sub dural hematoma over the left convexity.", "sub dural hematoma", "subdural hematoma"),
        ("The enteric tube is in mal position.", "mal position", "malpositioned tube or line"),
        ("Stanford type A aortic this section.", "aortic this section", "aortic dissection"),
        ("There is mid line shift of six millimeters.", "mid line shift", "midline shift"),
    ],
)
def test_a_misheard_critical_term_is_flagged_and_the_message_names_what_was_heard(
    sentence: str, heard: str, concept: str
) -> None:
    messages = _critical(sentence)
    assert len(messages) == 1, messages
    assert f'"{heard}"' in messages[0] and concept in messages[0]


@pytest.mark.parametrize(
    ("sentence", "term"),
    [
        ("Acute subdural haematoma.", "subdural haematoma"),
        ("Intraparenchymal haemorrhage in the left basal ganglia.", "intraparenchymal haemorrhage"),
        ("Acute pulmonary emboli in both lower lobes.", "pulmonary emboli"),
        ("A pulmonary embolus.", "pulmonary embolus"),
    ],
)
def test_spelling_variants_of_critical_terms_are_critical_and_named(sentence: str, term: str) -> None:
    messages = _critical(sentence, context=HEAD)
    assert len(messages) == 1, messages
    assert f'("{term}")' in messages[0]


@pytest.mark.parametrize(
    "sentence",
    [
        "No pneumothorax.",
        "No new motor thorax.",
        "There is no evidence of pulmonary and bolus.",
        "No sub dural hematoma.",
        "No subdural haematoma or midline shift.",
        "Pneumothorax has resolved.",
        "A portion of the liver is obscured.",  # one real word close to "torsion": never critical
        "Motor vehicle collision with chest wall contusion.",
        "There is a new mass in the thorax.",
        "The emergency physician was notified of the result.",
        "Mild motion artifact.",
        # Ending in malposition's own word is not a misheard "malposition".
        "A 6 mm mass in the left breast at the two o'clock position.",
        "Endotracheal tube tip 4 cm above the carina in good position.",
        # A critical phrase of everyday words is heard as said: these only sound like a button battery.
        "Nonobstructive bowel dust pattern.",
        "BI-RADS Catedary 2.",
    ],
)
def test_negated_and_ordinary_sentences_raise_no_critical_warning(sentence: str) -> None:
    assert _critical(sentence, context=HEAD) == []


def test_variants_are_only_read_where_asked_and_never_over_the_term_as_written() -> None:
    # The impression generator and the other checks read the lexicon's own phrases only.
    assert not analyze("There is a new motor thorax.").mentions
    found = analyze("There is a new motor thorax.", variants=True).mentions
    assert [(m.term, m.concept, m.variant, m.negated) for m in found] == [
        ("new motor thorax", "pneumothorax", True, False)
    ]
    assert critical_variants("Large right pneumothorax.") == []
    assert critical_variants("Large right pneumothorax.", taken=[]) == []


def test_a_dictation_heard_with_a_misheard_critical_term_still_warns() -> None:
    """Through the engine: the transcript is corrected first, and the check reads the corrected
    text; a variant the correction does not restore is still caught by the check."""
    engine = ScribeEngine(llm=None)
    result = engine.from_text(
        "findings colon there is a large right new motor thorax period",
        CHEST,
        template=builtin_template("xr-chest"),
    )
    messages = [c.message for c in result.checks if c.code == "critical_finding"]
    assert messages and "pneumothorax" in messages[0]
    clean = engine.from_text(
        "findings colon no new motor thorax period the lungs are clear period",
        CHEST,
        template=builtin_template("xr-chest"),
    )
    assert "critical_finding" not in {c.code for c in clean.checks}


def test_a_denied_list_cut_by_a_misheard_full_stop_stays_denied() -> None:
    """ "No focal consolidation, effusion or pneumothorax." heard as "... consolidation. Effusion or
    pneumothorax.": the second piece continues the denial; a finding with a place is a finding."""
    engine = ScribeEngine(llm=None)
    template = builtin_template("xr-chest")
    cut = engine.from_text(
        "Findings. There is no focal airspace consolidation. Diffusion or pneumothorax period.",
        CHEST,
        template=template,
    )
    assert "critical_finding" not in {c.code for c in cut.checks}
    for text in (
        "Findings. There is no focal consolidation. Large right pneumothorax period.",
        "Findings. No consolidation. Pneumothorax or skin fold at the left apex period.",
    ):
        result = engine.from_text(text, CHEST, template=template)
        assert "critical_finding" in {c.code for c in result.checks}, text


def test_a_torn_ligament_is_not_a_ruptured_aneurysm() -> None:
    knee = StudyContext(procedure="MR KNEE WITHOUT CONTRAST LEFT", clinical_indication="injury")
    assert _critical("Complete ACL rupture with a pivot shift contusion pattern.", context=knee) == []
    assert _critical("Ruptured aneurysm of the infrarenal aorta.", context=knee)


@pytest.mark.parametrize(
    ("procedure", "sentence", "named"),
    [
        # A generic word in its own anatomy, or in a study of its region: the critical concept.
        ("CT HEAD WITHOUT CONTRAST", "Small volume hemorrhage along the falx.", "Intracranial hemorrhage"),
        ("CT ABDOMEN PELVIS", "Acute hemorrhage in the left basal ganglia.", "Intracranial hemorrhage"),
        ("CTA CHEST", "Filling defects in the right lower lobe segmental arteries.", "Pulmonary embolism"),
        ("CT CHEST WITH CONTRAST", "Dissection flap in the ascending aorta.", "Aortic dissection"),
        # Elsewhere it is named for what it is, and still critical where that is.
        ("CT ABDOMEN PELVIS WITH CONTRAST", "Large retroperitoneal hemorrhage.", "Hemorrhage"),
        ("CT ABDOMEN PELVIS WITH CONTRAST", "Large volume hemorrhage.", "Hemorrhage"),
        ("CTA NECK", "Dissection of the left internal carotid artery.", "Arterial dissection"),
        ("MRI BRAIN", "Filling defect in the superior sagittal sinus.", "Venous sinus thrombosis"),
        ("CT ABDOMEN PELVIS WITH CONTRAST", "Embolus in the superior mesenteric artery.", "Arterial embolus"),
        # Not critical at all.
        ("CT UROGRAM", "There is a filling defect in the left renal pelvis.", None),
        ("CT ABDOMEN PELVIS WITH CONTRAST", "Filling defect.", None),
        ("CT NECK WITH CONTRAST", "Postsurgical changes of a left neck dissection.", None),
        ("MRI RIGHT SHOULDER", "Full-thickness rupture of the supraspinatus tendon.", None),
        ("MRI RIGHT KNEE", "Rupture with fluid tracking into the calf.", None),
        ("CT SINUS WITHOUT CONTRAST", "Nasal septal perforation.", None),
        ("US PELVIS", "Haemorrhage within a right ovarian cyst.", None),
        ("MRI PROSTATE", "PI-RADS 5 lesion of the right transition zone with restricted diffusion.", None),
        ("MRI BRAIN", "Restricted diffusion in the right corona radiata.", "Acute infarct"),
        # Another finding as written is not a misheard critical term.
        ("CT HEAD WITHOUT CONTRAST", "Generalized volume loss, normal for age.", None),
        ("XR RIGHT SHOULDER", "Grade 2 acromioclavicular joint separation.", None),
        # Torsion of the testis or ovary is an emergency; tibial torsion is rotational alignment.
        ("US SCROTUM", "Absent flow in the left testis, consistent with testicular torsion.", "Torsion"),
        ("CT BILATERAL LOWER EXTREMITY", "Increased external tibial torsion bilaterally.", None),
        (
            "CT CHEST WITH CONTRAST",
            "Contrast extravasation at the injection site in the left antecubital fossa.",
            None,
        ),
        (
            "CTA ABDOMEN PELVIS",
            "Extravasation of contrast from a jejunal branch, with hematoma.",
            "Active extravasation",
        ),
    ],
)
def test_a_generic_critical_word_is_read_by_its_anatomy(
    procedure: str, sentence: str, named: str | None
) -> None:
    """ "Hemorrhage", "filling defect", "dissection" name no organ: the sentence's anatomy, else the
    study's body region, tells what they are (a filling defect in the renal pelvis is no pulmonary
    embolism, a neck dissection no aortic dissection)."""
    messages = _critical(sentence, context=StudyContext(procedure=procedure, clinical_indication="x"))
    if named is None:
        assert messages == []
    else:
        assert len(messages) == 1 and messages[0].startswith(f"{named} ("), messages


@pytest.mark.parametrize(
    ("procedure", "sentence", "named"),
    [
        ("CTA CHEST", "Acute saddle PE.", "Pulmonary embolism"),
        ("XR CHEST ERECT", "Free gas under the right hemidiaphragm.", "Free air"),
        ("CT HEAD WITHOUT CONTRAST", "Left extradural haematoma.", "Epidural hematoma"),
        (
            "MRI THORACIC SPINE",
            "Severe canal stenosis with compression of the spinal cord.",
            "Cord compression",
        ),
        ("US PELVIS", "Left adnexal mass concerning for ectopic gestation.", "Ectopic pregnancy"),
        ("CT ABDOMEN PELVIS", "Ruptured abdominal aortic aneurysm.", "Ruptured aneurysm"),
        # A negation does not reach past a comma and what the finding is thought to be.
        (
            "US PELVIS",
            "Enlarged right ovary without internal flow, concerning for ovarian torsion.",
            "Torsion",
        ),
        (
            "CT HEAD WITHOUT CONTRAST",
            "Possible hemorrhage that cannot be excluded.",
            "Intracranial hemorrhage",
        ),
        ("XR CHEST PORTABLE", "Pneumothorax cannot be ruled out.", "Pneumothorax"),
        ("XR CHEST PORTABLE", "Left pneumothorax, partially resolved.", "Pneumothorax"),
        # A comma and a size start a new finding (the full stop the model missed), unless the size
        # word names anatomy.
        ("CT HEAD WITHOUT CONTRAST", "No skull fracture, large left epidural hematoma.", "Epidural hematoma"),
        ("XR CHEST PORTABLE", "No effusion, a moderate right pneumothorax.", "Pneumothorax"),
        ("CT ABDOMEN PELVIS", "No free air, small bowel obstruction, or abscess.", None),
        # The cause or a change denied, not the finding (a fourth probe).
        ("CT ABDOMEN PELVIS", "No source is identified for the pneumoperitoneum.", "Free air"),
        (
            "CT HEAD WITHOUT CONTRAST",
            "No cause for the subarachnoid hemorrhage is identified.",
            "Subarachnoid hemorrhage",
        ),
        ("XR CHEST PORTABLE", "No interval decrease in the size of the right pneumothorax.", "Pneumothorax"),
        ("CTA CHEST", "No evidence of resolution of the saddle pulmonary embolus.", "Pulmonary embolism"),
        # A clot in a pulmonary artery is an embolism.
        ("CTA CHEST", "Thrombus in the right main pulmonary artery.", "Pulmonary embolism"),
        ("CT ABDOMEN PELVIS", "Thrombus in the left common iliac vein.", None),
        # Gone, asked about, or past: nothing to call about.
        # A real word before the noun it describes is no misheard critical term.
        ("CT ABDOMEN PELVIS", "New peritoneal nodularity.", None),
        ("CT CHEST WITHOUT CONTRAST", "Right lower lobe segmental atelectasis.", None),
        # The denial goes on into what the missing finding would show.
        ("CTA CHEST", "No filling defect is seen to suggest pulmonary embolism.", None),
        ("CT ABDOMEN PELVIS", "No free fluid is present to suggest perforation.", None),
        ("XR CHEST PORTABLE", "The right pneumothorax is no longer visualized.", None),
        ("XR CHEST PORTABLE", "Left pneumothorax, now resolved.", None),
        ("XR CHEST PORTABLE", "Pneumothorax excluded.", None),
        ("XR CHEST PA AND LATERAL", "Recommend CT angiography to exclude aortic dissection.", None),
        (
            "XR CHEST PA AND LATERAL",
            "If there is clinical concern for pulmonary embolism, a CTA is advised.",
            None,
        ),
        ("CT HEAD WITHOUT CONTRAST", "Encephalomalacia at the site of prior hemorrhage.", None),
        ("US PELVIS", "No findings suspicious for ovarian torsion.", None),
        # "be performed" is no misheard "perforated".
        ("CT CHEST WITHOUT CONTRAST", "Follow-up CT could be performed in 12 months.", None),
        ("CT ABDOMEN PELVIS", "A HIDA scan may be performed if clinically indicated.", None),
        # A third probe's misses: a critical finding in words of its own.
        (
            "CT HEAD WITHOUT CONTRAST",
            "There is an acute left middle cerebral artery territory infarct.",
            "Acute infarct",
        ),
        ("CT HEAD WITHOUT CONTRAST", "Chronic right MCA infarct.", None),
        (
            "CT HEAD WITHOUT CONTRAST",
            "Diffuse subarachnoid blood in the basal cisterns.",
            "Subarachnoid hemorrhage",
        ),
        (
            "CT HEAD WITHOUT CONTRAST",
            "Acute intraparenchymal hematoma in the right basal ganglia.",
            "Intracranial hemorrhage",
        ),
        ("XR CHEST PORTABLE", "The endotracheal tube is in the esophagus.", "Malpositioned tube or line"),
        (
            "CT ABDOMEN PELVIS",
            "Closed loop small bowel obstruction with mesenteric swirl.",
            "Closed loop obstruction",
        ),
        ("CT ABDOMEN PELVIS", "Superior mesenteric artery occlusion.", "Bowel ischemia"),
        ("MRI LUMBAR SPINE", "A large extrusion severely compressing the cauda equina.", "Cord compression"),
        ("XR CHEST", "Swallowed button battery projecting over the esophagus.", "Button battery"),
        ("US PELVIS", "Heterotopic pregnancy.", "Ectopic pregnancy"),
        ("XR CHEST", "Esophageal rupture is suspected.", "Perforation"),
        # ... and its false alarms.
        ("CTA CHEST", "Chronic organized thrombus in the right lower lobe pulmonary artery.", None),
        ("CTA CHEST", "Pulmonary embolism cannot be evaluated due to motion.", None),
        ("US SCROTUM", "Torsion of the appendix testis on the left.", None),
        ("XR CHEST PORTABLE", "Tracheostomy tube in the airway.", None),
        ("CT ABDOMEN PELVIS", "Chronic SMA occlusion with robust collaterals from the IMA.", None),
        ("CT HEAD WITHOUT CONTRAST", "Acute sinusitis and a lacunar infarct in the right thalamus.", None),
    ],
)
def test_common_wordings_of_critical_results_and_of_their_absence(
    procedure: str, sentence: str, named: str | None
) -> None:
    """Wordings a new-user probe found missed (British "extradural", "free gas", "saddle PE") or
    flagged though nothing was found ("no longer visualized", "to exclude", "could be performed")."""
    messages = _critical(sentence, context=StudyContext(procedure=procedure, clinical_indication="x"))
    if named is None:
        assert messages == []
    else:
        assert len(messages) == 1 and messages[0].startswith(f"{named} ("), messages


def test_the_organ_a_sentence_is_filed_under_places_a_generic_word() -> None:
    sentence = "Filling defect in the upper pole."
    assert analyze(sentence, where="kidneys").positive[0].concept == "filling defect"
    assert analyze(sentence, where="lungs").positive[0].concept == "pulmonary embolism"


@pytest.mark.parametrize(
    ("procedure", "sentence", "named"),
    [
        # A known finding said to be chronic, stable or unchanged is no new critical result.
        ("CT HEAD WITHOUT CONTRAST", "Stable chronic left subdural hematoma measuring 4 mm.", None),
        ("CT HEAD WITHOUT CONTRAST", "Left subdural hematoma measuring 4 mm is unchanged.", None),
        ("CT HEAD WITHOUT CONTRAST", "Bilateral chronic subdural hematomas, stable.", None),
        (
            "CT HEAD WITHOUT CONTRAST",
            "Chronic left subdural hematoma is unchanged, with no new hemorrhage.",
            None,
        ),
        ("CTA CHEST", "Chronic type B aortic dissection is unchanged in extent.", None),
        ("CTA CHEST", "Stable chronic dissection of the descending aorta.", None),
        ("CTA CHEST", "Intramural hematoma of the descending aorta is unchanged.", None),
        # New, acute or growing, it is one again.
        ("CT HEAD WITHOUT CONTRAST", "Acute on chronic left subdural hematoma.", "Subdural hematoma"),
        ("CT HEAD WITHOUT CONTRAST", "New acute left subdural hematoma.", "Subdural hematoma"),
        (
            "CT HEAD WITHOUT CONTRAST",
            "Chronic left subdural hematoma with a new acute component.",
            "Subdural hematoma",
        ),
        (
            "CT HEAD WITHOUT CONTRAST",
            "Chronic left subdural hematoma, increased in size since prior.",
            "Subdural hematoma",
        ),
        ("CT HEAD WITHOUT CONTRAST", "Stable acute left subdural hematoma.", "Subdural hematoma"),
        ("CTA CHEST", "Acute type A aortic dissection.", "Aortic dissection"),
        ("CTA CHEST", "Chronic type B aortic dissection with enlarging false lumen.", "Aortic dissection"),
        ("CTA CHEST", "Acute on chronic thrombus in the right main pulmonary artery.", "Pulmonary embolism"),
        # The old word of another finding is not this one's.
        (
            "CT HEAD WITHOUT CONTRAST",
            "Acute right subdural hematoma and a chronic left one.",
            "Subdural hematoma",
        ),
    ],
)
def test_a_known_chronic_critical_finding_is_no_new_critical_result(
    procedure: str, sentence: str, named: str | None
) -> None:
    """A probe: "Stable chronic left subdural hematoma" and "Chronic type B aortic dissection is
    unchanged in extent" were flagged as critical results."""
    messages = _critical(sentence, context=StudyContext(procedure=procedure, clinical_indication="x"))
    if named is None:
        assert messages == []
    else:
        assert len(messages) == 1 and messages[0].startswith(f"{named} ("), messages


def test_an_enlarging_chronic_subdural_hematoma_with_midline_shift_is_critical_twice() -> None:
    messages = _critical("Enlarging chronic left subdural hematoma with midline shift.", context=HEAD)
    assert [m.split(" (")[0] for m in messages] == ["Subdural hematoma", "Midline shift"]
    # Midline shift is critical on its own, beside a known subdural hematoma.
    messages = _critical("Stable chronic left subdural hematoma with new midline shift.", context=HEAD)
    assert [m.split(" (")[0] for m in messages] == ["Midline shift"]
