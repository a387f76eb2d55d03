"""Section mapping: sentences land in the right section/organ, replacing normal defaults; moves; JSON."""

from __future__ import annotations

import json

import pytest

from autoscribe.errors import InvalidRequest, NotFound
from autoscribe.scribe import Draft, ScribeEngine, StudyContext, build_draft, builtin_template, move_sentence
from autoscribe.scribe.mapper import draft_from_template
from autoscribe.scribe.technique import technique_for_side
from autoscribe.scribe.templates import choose_template


def _texts(draft: Draft, path: str) -> list[str]:
    section = draft.section(path)
    assert section is not None, path
    return [s.text for s in section.sentences]


def test_sentences_go_to_their_organs_and_replace_the_normal_default() -> None:
    template = builtin_template("ct-abdomen-pelvis")
    assert template is not None
    draft = build_draft(
        "the liver demonstrates a two point three centimeter hypodense lesion period "
        "there is a four millimeter stone in the left kidney period no free air period",
        template,
        StudyContext(sex="male"),
    )
    assert _texts(draft, "findings.liver") == ["The liver demonstrates a 2.3 cm hypodense lesion."]
    assert _texts(draft, "findings.kidneys") == ["There is a 4 mm stone in the left kidney."]
    assert _texts(draft, "findings.peritoneum") == ["No free air."]
    # Organs not dictated keep their normal sentence; the pelvic default follows the patient's sex.
    assert _texts(draft, "findings.spleen") == ["The spleen is normal in size."]
    assert _texts(draft, "findings.pelvicOrgans") == ["The prostate and seminal vesicles are unremarkable."]
    assert draft.impression == []  # not dictated: the engine generates it


def test_the_upper_gi_tract_goes_with_the_bowel_and_an_abdominal_wall_hernia_does_not() -> None:
    template = builtin_template("ct-abdomen-pelvis")
    assert template is not None
    draft = build_draft(
        "findings include a small hiatal hernia period the gastric wall is thickened period "
        "there is a small umbilical hernia containing fat period",
        template,
        StudyContext(sex="female"),
    )
    assert _texts(draft, "findings.bowel") == [
        "Findings include a small hiatal hernia.",
        "The gastric wall is thickened.",
    ]
    assert "There is a small umbilical hernia containing fat." in _texts(draft, "findings.bones")


def test_explicit_headings_and_next_section_are_respected() -> None:
    template = builtin_template("ct-head")
    assert template is not None
    draft = build_draft(
        "clinical history colon fall period next section noncontrast images were obtained period "
        "next section none period next section no hemorrhage period "
        "impression colon no acute abnormality period",
        template,
    )
    assert _texts(draft, "clinicalIndication") == ["Fall."]
    assert _texts(draft, "technique") == ["Noncontrast images were obtained."]
    assert _texts(draft, "comparison") == ["None."]
    assert "No hemorrhage." in _texts(draft, "findings.brain")
    assert draft.impression == ["No acute abnormality."]
    assert draft.impression_source == "dictated"


@pytest.mark.parametrize(
    "history",
    ["cough and fever period", "shortness of breath rule out pneumonia period"],
)
def test_next_section_from_an_unheaded_start_walks_the_sections_from_the_top(history: str) -> None:
    """The history said without a heading, then "next section" at each section: the history had
    gone to Findings, and everything after it to the impression."""
    template = builtin_template("xr-chest")
    assert template is not None
    draft = build_draft(
        f"{history} next section PA and lateral views period next section none period "
        "next section the lungs are clear period next section no acute abnormality period",
        template,
    )
    assert len(_texts(draft, "clinicalIndication")) == 1
    assert _texts(draft, "technique") == ["PA and lateral views."]
    assert _texts(draft, "comparison") == ["None."]
    assert _texts(draft, "findings") == [] and _texts(draft, "findings.lungs") == ["The lungs are clear."]
    assert draft.impression == ["No acute abnormality."]


def test_next_section_after_unheaded_findings_is_the_impression() -> None:
    template = builtin_template("xr-chest")
    assert template is not None
    draft = build_draft("the lungs are clear period next section no acute abnormality period", template)
    assert _texts(draft, "findings.lungs") == ["The lungs are clear."]
    assert _texts(draft, "clinicalIndication") == ["[***]"]
    assert draft.impression == ["No acute abnormality."]


def test_organ_heading_overrides_keywords_and_numbered_impression_is_unnumbered() -> None:
    template = builtin_template("xr-chest")
    assert template is not None
    draft = build_draft(
        "bones colon old healed fracture period impression colon one period healed fracture period "
        "two period no pneumonia period",
        template,
    )
    assert _texts(draft, "findings.bones") == ["Old healed fracture."]
    assert draft.impression == ["Healed fracture.", "No pneumonia."]


@pytest.mark.parametrize(
    ("dictated", "impression"),
    [
        ("impression 2.1 cm simple right ovarian cyst.", ["2.1 cm simple right ovarian cyst."]),
        ("impression 1.5 cm nodule. 2. No effusion.", ["1.5 cm nodule.", "No effusion."]),
        ("impression number two 1.5 cm nodule.", ["1.5 cm nodule."]),
    ],
)
def test_a_measurement_that_opens_an_impression_item_keeps_its_number(
    dictated: str, impression: list[str]
) -> None:
    """ "2.1 cm" is a size, not item 2 of a list: it was cut to "1 cm"."""
    template = builtin_template("generic")
    assert template is not None
    assert build_draft(dictated, template).impression == impression


def test_a_normal_sentence_that_denies_a_dictated_finding_elsewhere_is_taken_out() -> None:
    """The brain's normal sentence said "No acute intracranial hemorrhage, mass effect ..." beside
    a subdural hematoma and a midline shift dictated under other organs: the report said both."""
    template = builtin_template("ct-head")
    assert template is not None
    draft = build_draft(
        "There is an acute subdural hematoma along the left convexity. "
        "There is 3 mm of rightward midline shift.",
        template,
    )
    assert _texts(draft, "findings.extraAxial") == [
        "There is an acute subdural hematoma along the left convexity."
    ]
    # Of the denied list, only what the dictation contradicts goes: no infarct was reported.
    assert _texts(draft, "findings.brain") == [
        "No acute territorial infarct.",
        "Gray-white matter differentiation is preserved.",
    ]
    assert _texts(draft, "findings.calvarium") == ["The calvarium is intact."]


def test_a_sentence_goes_to_the_organ_of_its_subject_not_of_a_longer_keyword_counted_twice() -> None:
    """ "midline shift" counted as "midline shift" and "midline" again: the subdural hematoma went to
    the ventricles, and "No extra-axial fluid collection" stayed beside it."""
    template = builtin_template("ct-head")
    assert template is not None
    draft = build_draft("There is an acute left subdural hematoma with 5 mm of midline shift.", template)
    assert _texts(draft, "findings.extraAxial") == [
        "There is an acute left subdural hematoma with 5 mm of midline shift."
    ]


def test_a_normal_sentence_stays_beside_an_old_finding_or_one_in_another_organ() -> None:
    head = builtin_template("ct-head")
    abdomen = builtin_template("ct-abdomen-pelvis")
    assert head is not None and abdomen is not None
    # "No acute ..." and a chronic subdural hematoma may both stand.
    draft = build_draft("There is a chronic subdural hematoma along the left convexity.", head)
    assert _texts(draft, "findings.brain")[0].startswith("No acute intracranial hemorrhage")
    # "No focal lesion" in the liver says nothing about a renal lesion.
    draft = build_draft("There is a 2 cm lesion in the left kidney.", abdomen)
    assert _texts(draft, "findings.liver") == [
        "The liver is normal in size and attenuation without focal lesion."
    ]


def test_a_finding_dictated_only_in_the_impression_takes_out_the_organ_default_it_contradicts() -> None:
    """ "Acute appendicitis." dictated as the impression alone left "The appendix is normal." in the
    findings, and "Cholelithiasis." left "... without gallstones"."""
    abdomen = builtin_template("ct-abdomen-pelvis")
    ultrasound = builtin_template("us-abdomen")
    assert abdomen is not None and ultrasound is not None
    draft = build_draft("Findings. The liver is normal. Impression. Acute appendicitis.", abdomen)
    assert _texts(draft, "findings.bowel") == ["No bowel obstruction or bowel wall thickening."]
    assert draft.impression == ["Acute appendicitis."]
    # A default that denies the finding goes, wherever it is; the organs not named stay.
    draft = build_draft("Impression: Cholelithiasis without cholecystitis.", ultrasound)
    assert _texts(draft, "findings.gallbladder") == []
    assert _texts(draft, "findings.liver") == [
        "The liver is normal in size and echotexture without focal lesion."
    ]
    # A lung base pneumonia in the impression of a CT abdomen: the lung bases are not "clear".
    draft = build_draft("Impression: Right lower lobe pneumonia.", abdomen)
    assert _texts(draft, "findings.lungBases") == []


@pytest.mark.parametrize(
    "sentence",
    [
        "The anterior cruciate ligament is torn with a bone bruise of the lateral femoral condyle.",
        "High-grade partial tear of the ACL.",
        "Partial-thickness tear of the proximal MCL.",
    ],
)
def test_a_sentence_goes_to_its_subject_not_to_what_comes_with_it(sentence: str) -> None:
    """A fourth probe: ACL and MCL tears went to Bones, Menisci and Cartilage, and the ligaments'
    "intact" default stayed beside them."""
    knee = builtin_template("mri-knee")
    assert knee is not None
    draft = build_draft(sentence, knee)
    assert _texts(draft, "findings.ligaments") == [sentence]


def test_a_finding_of_another_organ_in_a_sentence_takes_out_that_organ_s_normal_sentence() -> None:
    head = builtin_template("ct-head")
    assert head is not None
    sentence = (
        "There is a biconvex extra-axial hematoma overlying the right temporal lobe measuring 1.8 cm "
        "in thickness with an overlying nondisplaced right temporal bone fracture."
    )
    draft = build_draft(sentence, head)
    assert _texts(draft, "findings.extraAxial") == [sentence]
    assert _texts(draft, "findings.calvarium") == []
    assert _texts(draft, "findings.brain") == [
        "No mass effect or acute territorial infarct.",
        "Gray-white matter differentiation is preserved.",
    ]


def test_an_impression_leaves_the_defaults_it_does_not_contradict() -> None:
    head = builtin_template("ct-head")
    abdomen = builtin_template("ct-abdomen-pelvis")
    assert head is not None and abdomen is not None
    # An old finding stands beside "No acute ...".
    draft = build_draft("Impression: Old right MCA territory infarct.", head)
    assert _texts(draft, "findings.brain")[0].startswith("No acute intracranial hemorrhage")
    # A minor finding (atherosclerosis) stands beside "normal in caliber"; a denial of it does not.
    draft = build_draft("Impression: Aortic atherosclerosis.", abdomen)
    assert _texts(draft, "findings.vessels") == ["The abdominal aorta is normal in caliber."]
    # An organ with its own dictated sentence keeps it.
    draft = build_draft("Findings. Bowel: Dilated appendix. Impression. Acute appendicitis.", abdomen)
    assert _texts(draft, "findings.bowel") == ["Dilated appendix."]
    # A denied finding in the impression takes nothing out.
    draft = build_draft("Impression: No acute appendicitis.", abdomen)
    assert _texts(draft, "findings.bowel")[-1] == "The appendix is normal."


@pytest.mark.parametrize(
    ("procedure", "says"),
    [
        ("CTA HEAD AND NECK", "obtained with intravenous contrast"),
        ("CT ABDOMEN AND PELVIS WITHOUT CONTRAST", "obtained without intravenous contrast"),
        ("CT ABD/PELVIS W/O CONTRAST", "obtained without intravenous contrast"),
        ("CT ABDOMEN PELVIS WITH AND WITHOUT CONTRAST", "obtained before and after intravenous contrast"),
        ("CT ABDOMEN PELVIS WITH CONTRAST", "obtained with intravenous contrast"),
    ],
)
def test_the_default_technique_says_the_contrast_the_study_was_done_with(procedure: str, says: str) -> None:
    """A CT abdomen "WITHOUT CONTRAST" read "obtained with intravenous contrast" until dictated over."""
    template = builtin_template("ct-abdomen-pelvis")
    assert template is not None
    draft = draft_from_template(template, StudyContext(procedure=procedure))
    assert says in " ".join(_texts(draft, "technique"))


def test_a_one_sided_study_has_no_organ_of_the_other_side() -> None:
    """A left diagnostic mammogram got "Right breast: No suspicious mass ..." and "Bilateral" views."""
    template = builtin_template("mg-screening")
    assert template is not None
    draft = draft_from_template(template, StudyContext(procedure="DIAGNOSTIC MAMMOGRAPHY LEFT"))
    assert draft.section("findings.rightBreast") is None
    assert draft.section("findings.leftBreast") is not None
    assert _texts(draft, "technique")[0].startswith("Left craniocaudal")
    both = draft_from_template(template, StudyContext(procedure="SCREENING MAMMOGRAPHY BILATERAL"))
    assert both.section("findings.rightBreast") is not None
    assert _texts(both, "technique")[0].startswith("Bilateral")


@pytest.mark.parametrize(
    ("template_id", "dictated", "organ", "follower"),
    [
        (
            "mri-brain",
            "evolving left MCA territory infarct with restricted diffusion period "
            "no hemorrhagic transformation period",
            "diffusion",
            "No hemorrhagic transformation.",
        ),
        (
            "ct-abdomen-pelvis",
            "there is a hypodense lesion in the right hepatic lobe period it measures two centimeters period",
            "liver",
            "It measures 2 cm.",
        ),
    ],
)
def test_a_sentence_naming_no_organ_goes_on_about_the_finding_before_it(
    template_id: str, dictated: str, organ: str, follower: str
) -> None:
    template = builtin_template(template_id)
    assert template is not None
    draft = build_draft(dictated, template)
    assert follower in _texts(draft, f"findings.{organ}")


def test_who_was_told_is_no_sentence_about_the_finding_before_it() -> None:
    template = builtin_template("ct-head")
    assert template is not None
    draft = build_draft(
        "acute left subdural hematoma period "
        "findings were discussed with doctor smith at nine fifteen PM period",
        template,
    )
    assert _texts(draft, "findings") == ["Findings were discussed with Dr. Smith at 9:15 PM."]


def test_after_a_normal_statement_a_sentence_naming_no_organ_is_filed_under_findings() -> None:
    """ "The breasts are dense" describes no finding: what follows may be about both breasts."""
    template = builtin_template("mg-screening")
    assert template is not None
    draft = build_draft(
        "the breasts are heterogeneously dense period "
        "there are no suspicious masses or calcifications period",
        template,
        StudyContext(procedure="SCREENING MAMMOGRAM BILATERAL"),
    )
    assert _texts(draft, "findings") == ["There are no suspicious masses or calcifications."]


def test_organs_called_normal_in_one_list_lose_their_own_normal_sentences() -> None:
    """ "The liver, spleen, pancreas, adrenal glands and kidneys are unremarkable." went under the
    adrenals, and each of the other organs was called normal a second time."""
    template = builtin_template("ct-abdomen-pelvis")
    assert template is not None
    draft = build_draft(
        "the liver comma spleen comma pancreas comma adrenal glands and kidneys are unremarkable period "
        "the lungs are clear without pleural effusion period",
        template,
    )
    assert _texts(draft, "findings.liver") == [
        "The liver, spleen, pancreas, adrenal glands and kidneys are unremarkable."
    ]
    for organ in ("spleen", "pancreas", "adrenals", "kidneys"):
        assert _texts(draft, f"findings.{organ}") == [], organ
    assert _texts(draft, "findings.gallbladder") != []  # not in the list: keeps its sentence


def _normal_organs(procedure: str, template_id: str) -> list[str]:
    template = builtin_template(template_id)
    assert template is not None
    findings = draft_from_template(template, StudyContext(procedure=procedure)).section("findings")
    assert findings is not None
    return [sub.key for sub in findings.subsections if sub.sentences]


@pytest.mark.parametrize(
    ("procedure", "template_id", "normal_organs", "technique_says"),
    [
        ("US RENAL", "us-abdomen", ["kidneys", "bladder"], "of the kidneys"),
        ("US KIDNEYS BILATERAL", "us-abdomen", ["kidneys", "bladder"], "of the kidneys"),
        (
            "US RETROPERITONEAL COMPLETE",
            "us-abdomen",
            ["kidneys", "bladder", "aorta"],
            "of the retroperitoneum",
        ),
        (
            "US ABDOMEN LIMITED RUQ",
            "us-abdomen",
            ["liver", "gallbladder", "bileDucts", "pancreas", "kidneys"],
            "right upper quadrant",
        ),
        # A limited study that says no more has nothing called normal: the radiologist dictates it.
        ("US ABDOMEN LIMITED", "us-abdomen", [], "Limited grayscale"),
        (
            "US ABDOMEN COMPLETE",
            "us-abdomen",
            ["liver", "gallbladder", "bileDucts", "pancreas", "spleen", "kidneys", "aorta", "ascites"],
            "of the abdomen",
        ),
        (
            "US ABDOMEN AND RENAL",
            "us-abdomen",
            ["liver", "gallbladder", "bileDucts", "pancreas", "spleen", "kidneys", "aorta", "ascites"],
            "of the abdomen",
        ),
        ("MRA HEAD WITHOUT CONTRAST", "mri-brain", ["vessels"], "MR angiography of the head"),
        # A CT head's vessels are looked at on an angiogram only; its brain is then the dictation's.
        ("CTA HEAD AND NECK", "ct-head", ["vessels"], "CT angiography was performed"),
        (
            "CT HEAD WITHOUT CONTRAST",
            "ct-head",
            ["brain", "extraAxial", "ventricles", "calvarium", "sinuses"],
            "Axial CT",
        ),
        ("MRV BRAIN", "mri-brain", ["vessels"], "MR venography"),
        (
            "MRI BRAIN AND MRA HEAD",
            "mri-brain",
            ["parenchyma", "diffusion", "extraAxial", "ventricles", "vessels", "sella", "sinusesOrbits"],
            "diffusion",
        ),
        (
            "CTA CHEST AORTA",
            "cta-chest",
            ["aorta", "heart", "lungs", "pleura", "mediastinum", "bones"],
            "aortic protocol",
        ),
        (
            "CTA CHEST PE PROTOCOL",
            "cta-chest",
            ["pulmonaryArteries", "aorta", "heart", "lungs", "pleura", "mediastinum", "bones"],
            "pulmonary embolism protocol",
        ),
        # A CT of the abdomen alone calls no pelvic organ normal.
        (
            "CT ABDOMEN WITH CONTRAST",
            "ct-abdomen-pelvis",
            [
                "lungBases",
                "liver",
                "gallbladder",
                "pancreas",
                "spleen",
                "adrenals",
                "kidneys",
                "bowel",
                "peritoneum",
                "vessels",
                "lymphNodes",
                "bones",
            ],
            "images of the abdomen were obtained with intravenous contrast",
        ),
        # A perfusion study calls no parenchyma normal; a pituitary study only the sella.
        ("CT PERFUSION HEAD", "ct-head", [], "CT perfusion imaging of the brain"),
        ("MRI PITUITARY W WO CONTRAST", "mri-brain", ["sella"], "sella were obtained before and after"),
        ("MRI IAC WITH AND WITHOUT CONTRAST", "mri-brain", [], "internal auditory canals"),
    ],
)
def test_a_study_of_part_of_a_templates_region_calls_only_that_part_normal(
    procedure: str, template_id: str, normal_organs: list[str], technique_says: str
) -> None:
    """A renal ultrasound said "The liver is normal in size and echotexture", an MRA "No restricted
    diffusion", and an aortic CTA "according to the pulmonary embolism protocol"."""
    assert _normal_organs(procedure, template_id) == normal_organs
    template = builtin_template(template_id)
    assert template is not None
    technique = _texts(draft_from_template(template, StudyContext(procedure=procedure)), "technique")
    assert technique_says in " ".join(technique)


def test_what_is_dictated_outside_a_studys_scope_is_still_filed_under_its_organ() -> None:
    template = builtin_template("us-abdomen")
    assert template is not None
    draft = build_draft(
        "the right kidney measures eleven centimeters period incidental note of a simple hepatic cyst period",
        template,
        StudyContext(procedure="US RENAL"),
    )
    assert _texts(draft, "findings.kidneys") == ["The right kidney measures 11 cm."]
    assert _texts(draft, "findings.liver") == ["Incidental note of a simple hepatic cyst."]
    assert _texts(draft, "findings.spleen") == []
    bladder = build_draft("the bladder is decompressed period", template, StudyContext(procedure="US RENAL"))
    assert _texts(bladder, "findings.bladder") == ["The bladder is decompressed."]
    head = builtin_template("ct-head")
    assert head is not None
    cta = build_draft("occlusion of the left M two segment period", head, StudyContext(procedure="CTA HEAD"))
    assert _texts(cta, "findings.vessels") == ["Occlusion of the left M2 segment."]
    aortic = builtin_template("cta-chest")
    assert aortic is not None
    heart = _texts(draft_from_template(aortic, StudyContext(procedure="CTA CHEST AORTA")), "findings.heart")
    assert not any("RV to LV" in text for text in heart)  # a PE-protocol measurement


@pytest.mark.parametrize(
    ("technique", "side", "expected"),
    [
        ("Bilateral craniocaudal and MLO views.", "left", "Left craniocaudal and MLO views."),
        (
            "Spot compression and magnification views, bilateral.",
            "right",
            "Spot compression and magnification views, right.",
        ),
        ("Frontal and lateral views.", "left", "Frontal and lateral views."),
    ],
)
def test_a_one_sided_technique_names_its_side_wherever_the_template_said_bilateral(
    technique: str, side: str, expected: str
) -> None:
    assert technique_for_side(technique, side) == expected


def test_context_fills_the_indication_placeholder() -> None:
    template = builtin_template("xr-chest")
    assert template is not None
    assert _texts(draft_from_template(template), "clinicalIndication") == ["[***]"]
    filled = draft_from_template(template, StudyContext(clinical_indication="cough"))
    assert _texts(filled, "clinicalIndication") == ["Cough."]


def test_macro_expands_into_organs() -> None:
    template = builtin_template("xr-chest")
    assert template is not None
    macros = {"chest normal": "Lungs clear. No pneumothorax."}
    draft = build_draft("insert chest normal period", template, macros=macros)
    assert _texts(draft, "findings.lungs") == ["Lungs clear."]
    assert _texts(draft, "findings.pleura") == ["No pneumothorax."]
    # A misheard name still finds the closest macro; a far one is left as dictated.
    draft = build_draft("insert normal cast period", template)
    assert _texts(draft, "findings.lungs") == ["The lungs are clear."]
    draft = build_draft("insert something else period", template)
    assert "Insert something else." in _texts(draft, "findings")


def test_move_sentence_between_sections_and_organs() -> None:
    template = builtin_template("ct-chest")
    assert template is not None
    draft = build_draft("there is a small hiatal hernia period small right effusion period", template)
    hernia = next(s for path, s in draft.iter_sentences() if "hernia" in s.text)
    move_sentence(draft, hernia.id, "findings.bones")
    assert _texts(draft, "findings.bones") == ["There is a small hiatal hernia."]  # replaced the default
    assert draft.locate(hernia.id) is not None and draft.locate(hernia.id)[0] == "findings.bones"  # type: ignore[index]
    move_sentence(draft, hernia.id, "impression")
    assert draft.impression == ["There is a small hiatal hernia."]
    assert draft.impression_source == "edited"
    with pytest.raises(NotFound):
        move_sentence(draft, "s999", "impression")
    with pytest.raises(InvalidRequest):
        move_sentence(draft, hernia.id, "findings.nowhere")


def test_draft_json_round_trip_keeps_ids_unique() -> None:
    template = builtin_template("mri-knee")
    assert template is not None
    draft = build_draft("small joint effusion period", template)
    data = json.loads(json.dumps(draft.to_dict()))
    again = Draft.from_dict(data)
    assert again.to_dict() == draft.to_dict()
    assert again.section_texts()["findings"].startswith("Menisci: ")
    fresh = again.new_sentence_id()
    assert fresh not in {s.id for _, s in again.iter_sentences()}


@pytest.mark.parametrize(
    ("procedure", "technique"),
    [
        ("XR CHEST PORTABLE", "A single frontal radiograph of the chest."),
        ("XR CHEST 1 VIEW", "A single frontal radiograph of the chest."),
        ("XR CHEST PA AND LATERAL", "Frontal and lateral radiographs of the chest."),
    ],
)
def test_a_one_view_radiograph_says_one_view(procedure: str, technique: str) -> None:
    """A fourth probe: a portable chest film read "Frontal and lateral radiographs"."""
    template = builtin_template("xr-chest")
    assert template is not None
    draft = draft_from_template(template, StudyContext(procedure=procedure, modality="CR"))
    assert _texts(draft, "technique") == [technique]


@pytest.mark.parametrize(
    ("template_id", "dictated", "organ"),
    [
        ("mri-brain", "mild chronic small vessel ischemic changes period", "parenchyma"),
        ("ct-head", "chronic microvascular ischemic changes period", "brain"),
        ("cta-chest", "the celiac axis and SMA arise from the true lumen period", "aorta"),
    ],
)
def test_small_vessel_disease_is_brain_and_the_aortas_branches_are_the_aorta(
    template_id: str, dictated: str, organ: str
) -> None:
    """Small vessel ischemic change went to Vessels; the aorta's branches to Heart."""
    template = builtin_template(template_id)
    assert template is not None
    assert _texts(
        build_draft(f"small pericardial effusion period {dictated}", template), f"findings.{organ}"
    )[-1:] == [_texts(build_draft(dictated, template), f"findings.{organ}")[0]]


def test_views_said_in_words_are_the_technique() -> None:
    template = builtin_template("generic")
    assert template is not None
    draft = build_draft(
        "three views of the right ankle period there is a fracture of the distal fibula period", template
    )
    assert _texts(draft, "technique") == ["Three views of the right ankle."]


@pytest.mark.parametrize(
    ("procedure", "said", "gone"),
    [
        # A hemopericardium or tamponade dictated anywhere takes out "No pericardial effusion."
        (
            "CTA CHEST AORTA",
            "There is an intimal flap in the ascending aorta consistent with a type A aortic dissection. "
            "Small hemopericardium.",
            "No pericardial effusion.",
        ),
        ("CT CHEST WITH CONTRAST", "Hemopericardium with tamponade physiology.", "No pericardial effusion."),
        # A mediastinal shift takes out the one-sentence normal mediastinum.
        (
            "XR CHEST 1 VIEW PORTABLE",
            "Large right pneumothorax with leftward mediastinal shift.",
            "The cardiomediastinal silhouette is normal in size and contour.",
        ),
    ],
)
def test_a_normal_default_a_dictated_finding_contradicts_is_taken_out(
    procedure: str, said: str, gone: str
) -> None:
    context = StudyContext(procedure=procedure)
    template = choose_template(procedure)
    draft = build_draft(said, template, study_context=context)
    texts = [s.text for _, s in draft.iter_sentences()]
    assert gone not in texts
    assert any("emopericardium" in t or "pneumothorax" in t for t in texts)


@pytest.mark.parametrize(
    ("procedure", "said", "organ"),
    [
        ("MRI BRAIN WITHOUT CONTRAST", "The cavernous sinuses are normal.", "sella"),
        ("MRI BRAIN WITHOUT CONTRAST", "No intraventricular hemorrhage.", "ventricles"),
        ("CT HEAD WITHOUT CONTRAST", "No intraventricular hemorrhage.", "ventricles"),
    ],
)
def test_a_sentence_is_filed_under_the_organ_its_anatomy_belongs_to(
    procedure: str, said: str, organ: str
) -> None:
    draft = build_draft(said, choose_template(procedure), study_context=StudyContext(procedure=procedure))
    assert said in _texts(draft, f"findings.{organ}")


def test_a_breast_imaging_assessment_is_the_impression_with_what_follows_it() -> None:
    procedure = "MAMMO SCREENING BILATERAL"
    said = (
        "the breasts are almost entirely fatty period no suspicious findings period "
        "bi rads one negative period recommend annual screening mammography period"
    )
    draft = build_draft(said, choose_template(procedure), study_context=StudyContext(procedure=procedure))
    assert draft.impression == ["BI-RADS 1 negative.", "Recommend annual screening mammography."]
    assert draft.impression_source == "dictated"


def test_breast_density_is_never_assumed_and_one_breast_named_covers_only_that_breast() -> None:
    procedure = "MG SCREENING BILAT TOMO"
    draft = build_draft(
        "stable benign appearing calcifications in the left breast period",
        choose_template(procedure),
        study_context=StudyContext(procedure=procedure),
    )
    assert _texts(draft, "findings.composition") == ["[***]"]
    assert _texts(draft, "findings.rightBreast") == [
        "No suspicious mass, calcifications, or architectural distortion in the right breast."
    ]


@pytest.mark.parametrize(
    ("procedure", "said", "organ"),
    [
        ("MRI SHOULDER LT WO", "Tear of the anteroinferior labrum.", "labrum"),
        ("US RENAL", "There is a small echogenic focus in the left kidney.", "kidneys"),
    ],
)
def test_a_findings_word_does_not_take_a_sentence_from_the_organ_it_names(
    procedure: str, said: str, organ: str
) -> None:
    draft = build_draft(said, choose_template(procedure), study_context=StudyContext(procedure=procedure))
    assert said in _texts(draft, f"findings.{organ}")


@pytest.mark.parametrize(
    ("procedure", "said", "comparison"),
    [
        (
            "CT CHEST W CONTRAST",
            "compared with CT from march third twenty twenty five period the lungs are clear period",
            ["Compared with CT from March 3, 2025."],
        ),
        (
            "XR CHEST",
            "compared to the outside chest radiograph of january second period the lungs are clear period",
            ["Compared to the outside chest radiograph of January 2."],
        ),
        # A finding with its comparison stays a finding.
        (
            "CT CHEST W CONTRAST",
            "compared with CT from march third twenty twenty five comma the nodule has increased period",
            ["None."],
        ),
    ],
)
def test_a_sentence_naming_the_prior_study_is_the_comparison(
    procedure: str, said: str, comparison: list[str]
) -> None:
    draft = build_draft(said, choose_template(procedure), study_context=StudyContext(procedure=procedure))
    assert _texts(draft, "comparison") == comparison


@pytest.mark.parametrize(
    ("procedure", "sex", "dictated", "gone", "kept"),
    [
        ("CT ABD PELVIS W CONTRAST", "male", "Status post radical prostatectomy.", "prostate", "gallbladder"),
        (
            "CT ABD PELVIS W CONTRAST",
            "female",
            "Status post hysterectomy. Status post appendectomy.",
            "uterus",
            "kidneys",
        ),
        ("CT ABD PELVIS W CONTRAST", "female", "Status post appendectomy.", "appendix is normal", "uterus"),
        (
            "CT ABD PELVIS W CONTRAST",
            "male",
            "Pneumoperitoneum following laparoscopic cholecystectomy.",
            "gallbladder is",
            "bile",
        ),
        (
            "CT ABD PELVIS W CONTRAST",
            "male",
            "Status post right nephrectomy.",
            "kidneys enhance",
            "hydronephrosis",
        ),
        ("CT HEAD WO CONTRAST", "female", "Status post right frontal craniotomy.", "calvarium", "ventricles"),
        ("MG SCREENING BILAT", "female", "Status post right mastectomy.", "right breast", "left breast"),
        # Said not to have had it, the organ keeps its normal sentence.
        ("CT ABD PELVIS W CONTRAST", "female", "No prior appendectomy.", "", "appendix is normal"),
    ],
)
def test_an_organ_taken_out_is_not_called_normal(
    procedure: str, sex: str, dictated: str, gone: str, kept: str
) -> None:
    context = StudyContext(procedure=procedure, sex=sex)
    draft = ScribeEngine(llm=None).from_text(f"Findings: {dictated}", context).draft
    titles = {sub.key: sub.title for section in draft.sections for sub in section.subsections}
    defaults = " | ".join(
        f"{titles.get(path.split('.')[-1], '')}: {s.text}".lower()
        for path, s in draft.iter_sentences()
        if s.source == "default" and path.startswith("findings")
    )
    assert kept in defaults
    if gone:
        assert gone not in defaults


def test_a_dictated_measurement_replaces_the_default_about_the_same_thing_wherever_it_is() -> None:
    engine = ScribeEngine(llm=None)
    pe = StudyContext(procedure="CTA CHEST PE PROTOCOL")
    said = "Findings: Pulmonary arteries: Acute emboli in the right lower lobe with an RV to LV ratio of 1.3."
    findings = engine.from_text(said, pe).draft.section_texts()["findings"]
    assert "RV to LV ratio of 1.3" in findings and "less than 1" not in findings
    # A normal sentence replaces no default it does not speak for.
    findings = engine.from_text(
        "Findings: Lungs: No pleural effusion.", StudyContext(procedure="CT CHEST")
    ).draft
    assert "pneumothorax" in findings.section_texts()["findings"]


def test_a_numbered_findings_list_loses_its_numbers() -> None:
    said = (
        "findings colon number one comma the liver is enlarged period "
        "number two comma there is a small gallstone period"
    )
    context = StudyContext(procedure="CT ABDOMEN PELVIS W CONTRAST")
    findings = ScribeEngine(llm=None).from_text(said, context).draft.section_texts()["findings"]
    assert "Liver: The liver is enlarged." in findings
    assert "There is a small gallstone." in findings and "Number" not in findings


def test_a_dictated_sentence_that_says_a_defaults_words_replaces_it() -> None:
    said = "Findings: No suspicious masses, calcifications, or architectural distortion."
    context = StudyContext(procedure="MG SCREENING BILATERAL", sex="female")
    findings = ScribeEngine(llm=None).from_text(said, context).draft.section_texts()["findings"]
    assert findings.count("architectural distortion") == 1


@pytest.mark.parametrize(
    ("indication", "kept"),
    [
        ("Surgical consult for possible cholecystectomy.", "gallbladder is unremarkable"),
        ("Considering prostatectomy.", "prostate and seminal vesicles"),
        ("Left partial nephrectomy.", "kidneys enhance"),
    ],
)
def test_an_operation_planned_or_partial_leaves_the_organ_normal(indication: str, kept: str) -> None:
    context = StudyContext(procedure="CT ABD PELVIS W CONTRAST", sex="male", clinical_indication=indication)
    findings = ScribeEngine(llm=None).from_text("Findings: Diverticulosis.", context).draft.section_texts()
    assert kept in findings["findings"]


def test_an_organs_label_said_after_the_findings_heading_or_mid_line_heads_its_findings() -> None:
    template = builtin_template("mri-shoulder")
    assert template is not None
    draft = build_draft(
        "Findings. Biceps colon. The long head of the biceps tendon is dislocated medially. "
        "Acromioclavicular colon mild arthrosis. Bursa colon small effusion.",
        template,
        StudyContext(),
    )
    assert _texts(draft, "findings.biceps") == ["The long head of the biceps tendon is dislocated medially."]
    texts = draft.section_texts()["findings"]
    # The label becomes the subsection: no "Biceps:" or "Bursa:" left inside the text.
    assert "Biceps:" not in texts and "Bursa:" not in texts and "Acromioclavicular:" not in texts
    assert _texts(draft, "findings.acJoint") == ["Mild arthrosis."]
    assert _texts(draft, "findings.joint") == ["Small effusion."]


def test_labelled_findings_of_a_template_without_organs_keep_a_line_each() -> None:
    result = ScribeEngine(llm=None).from_text(
        "Findings. Alignment colon normal. Conus colon terminates at L one. "
        "L four five colon broad based disc bulge.",
        StudyContext(procedure="MRI LUMBAR SPINE", modality="MR"),
    )
    assert result.draft.section_texts()["findings"] == (
        "Alignment: Normal.\nConus: Terminates at L1.\nL4-L5: Broad based disc bulge."
    )


def test_a_procedure_notes_labels_stay_with_their_figures_and_its_outcome_is_its_findings() -> None:
    engine = ScribeEngine(llm=None)
    esophagram = engine.from_text(
        "technique colon single contrast barium esophagram period fluoroscopy time colon two point one "
        "minutes period radiation dose colon air kerma one hundred twenty milligray period",
        StudyContext(procedure="FL ESOPHAGRAM", modality="RF"),
    )
    assert esophagram.draft.section_texts()["technique"] == (
        "Single contrast barium esophagram.\nFluoroscopy time: 2.1 minutes.\n"
        "Radiation dose: Air kerma 120 mGy."
    )
    biopsy = engine.from_text(
        "procedure colon CT guided biopsy of a liver lesion period three cores were obtained period "
        "complications colon none period estimated blood loss colon minimal period "
        "impression colon successful CT guided liver biopsy period",
        StudyContext(procedure="CT GUIDED LIVER BIOPSY", modality="CT"),
    )
    sections = biopsy.draft.section_texts()
    assert sections["findings"] == "Complications: None.\nEstimated blood loss: Minimal."
    assert "empty_section" not in {c.code for c in biopsy.checks}
    assert biopsy.impression == ["Successful CT guided liver biopsy."]


def test_a_label_more_specific_than_its_subsection_stays_and_labelled_biometry_is_no_impression() -> None:
    result = ScribeEngine(llm=None).from_text(
        "liver colon normal echotexture period common bile duct colon four millimeters period "
        "right kidney colon eleven point two centimeters without hydronephrosis period "
        "left kidney colon eleven point five centimeters period",
        StudyContext(procedure="US ABDOMEN COMPLETE", modality="US"),
    )
    findings = result.draft.section_texts()["findings"]
    assert "Bile ducts: Common bile duct: 4 mm." in findings
    assert "Right kidney: 11.2 cm without hydronephrosis.\nLeft kidney: 11.5 cm." in findings
    assert "colon" not in findings.lower()
    assert result.impression == ["No acute abnormality."]  # normal sizes are no finding


@pytest.mark.parametrize(
    ("procedure", "dictated", "organ", "left"),
    [
        # A hemoperitoneum is free fluid: the peritoneum's default keeps only what it did not deny.
        (
            "CT ABDOMEN PELVIS WITH CONTRAST",
            "Grade 4 splenic laceration with active extravasation and large hemoperitoneum.",
            "peritoneum",
            ["No free air."],
        ),
    ],
)
def test_a_denied_lists_contradicted_items_go_and_the_rest_stays(
    procedure: str, dictated: str, organ: str, left: list[str]
) -> None:
    context = StudyContext(procedure=procedure)
    template = choose_template(context)
    draft = build_draft(f"Findings: {dictated}", template, context)
    assert _texts(draft, f"findings.{organ}") == left


def test_a_cancer_dictated_only_in_the_impression_takes_out_the_organs_normal_sentence() -> None:
    result = ScribeEngine(llm=None).from_text(
        "impression colon three point five centimeter left upper lobe adenocarcinoma period",
        StudyContext(procedure="CT CHEST WITH CONTRAST", modality="CT"),
    )
    assert "The lungs are clear" not in result.draft.section_texts()["findings"]


def test_the_subject_organ_beats_a_longer_keyword_in_what_the_finding_causes() -> None:
    template = builtin_template("ct-abdomen-pelvis")
    assert template is not None
    sentence = (
        "There is a 2.8 x 2.3 cm hypoenhancing mass in the pancreatic head causing upstream pancreatic "
        "ductal dilation and common bile duct dilation."
    )
    draft = build_draft(f"Findings: {sentence}", template, StudyContext(), normalized=True)
    assert _texts(draft, "findings.pancreas") == [sentence]
