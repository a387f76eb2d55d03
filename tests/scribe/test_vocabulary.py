"""Medical spelling correction: near-miss radiology words restored, meaning never changed."""

from __future__ import annotations

import pytest

from autoscribe.scribe import correct_terms, normalize
from autoscribe.scribe.engine import ScribeEngine
from autoscribe.scribe.lexicon import correct_radiology_terms
from autoscribe.scribe.types import StudyContext
from autoscribe.scribe.vocabulary import domain_vocabulary, is_compound, other_word, prefix_changed
from autoscribe.scribe.wordlists import expand_hunspell, medical_words, real_words


def _corrected(procedure: str, text: str) -> str:
    """The whole correction (spelling, sounds, short words) for a study of `procedure`."""
    engine = ScribeEngine(llm=None)
    context = StudyContext(procedure=procedure)
    return engine.corrected_text(text, engine.template_for(context), context)


@pytest.mark.parametrize(
    ("heard", "fixed"),
    [
        ("mild sentrylobular emphysema", "mild centrilobular emphysema"),
        ("with defusely increased echogenicity", "with diffusely increased echogenicity"),
        ("a 6 mm lesion consistent with micro adenoma", "a 6 mm lesion consistent with microadenoma"),
        ("no extraaxial collection", "no extra-axial collection"),
        ("The cardiomegaly distinal silhouette is normal", "The cardiomediastinal silhouette is normal"),
        ("an air fluid level", "an air-fluid level"),
    ],
)
def test_misheard_and_split_radiology_words_are_restored(heard: str, fixed: str) -> None:
    assert correct_terms(heard) == fixed


def test_a_correction_keeps_negating_and_opposite_prefixes() -> None:
    # "unobstructing" is a nonobstructing stone, never an obstruction.
    assert correct_terms("a 4 mm unobstructing stone") == "a 4 mm nonobstructing stone"
    assert correct_terms("Uncontrast axial images") == "Noncontrast axial images"
    # A heard opposite is a known word and stays as heard.
    assert correct_terms("a hyperenhancing lesion") == "a hyperenhancing lesion"
    assert correct_terms("a hypoenhancing lesion") == "a hypoenhancing lesion"
    # "extracal" has lost letters of "extra-axial"; it must not turn into an unrelated "tracheal".
    # It is about as near "extradural" in spelling, so the sound pass decides, by the study's region.
    assert "tracheal" not in correct_terms("no extracal fluid")
    assert "no extra-axial fluid" in _corrected("CT HEAD WITHOUT CONTRAST", "There is no extracal fluid.")


def test_two_real_words_are_never_joined_and_a_misspelled_word_keeps_its_neighbour() -> None:
    assert correct_terms("spinal canal stenosis") == "spinal canal stenosis"
    assert correct_terms("biliary appendical fat stranding") == "biliary appendiceal fat stranding"
    assert correct_terms("no pleural effusion period") == "no pleural effusion period"


def test_a_split_peri_word_after_a_negation_is_not_a_full_stop() -> None:
    # "periaortic" heard as "period ortic": after "no" no sentence can end.
    assert normalize(correct_terms("No period, ortic, stranding, or hematoma period.")) == (
        "No periaortic stranding or hematoma."
    )
    # After a finished sentence "period" stays the dictated full stop.
    assert normalize(correct_terms("no pleural effusion period ortic calcification period")) == (
        "No pleural effusion. Aortic calcification."
    )
    assert normalize("there is no period of growth period") == "There is no period of growth."
    # A preposition can end a sentence ("left in"): the "period" after it is the full stop.
    assert normalize("the drain is left in period no leak period") == "The drain is left in. No leak."


@pytest.mark.parametrize(
    "text",
    [
        "An appendicolith is present at the base of the appendix.",
        "The catheter tip projects over the cavoatrial junction.",
        "Fracture of the distal radial metaphysis.",
        "Periventricular lesions consistent with demyelination.",
        "Nonobstructive bowel gas pattern. The bones are osteopenic.",
        "Mild narrowing of both neural foramina.",
    ],
)
def test_correct_radiology_words_are_left_as_they_are(text: str) -> None:
    """Correct words the spelling correction once turned into a neighbour (appendicolith into
    appendicitis: another diagnosis)."""
    assert correct_terms(text) == text


@pytest.mark.parametrize(
    ("procedure", "text"),
    [
        ("MRI RIGHT KNEE", "Small suprapatellar joint effusion."),
        ("CT ABDOMEN PELVIS WITH CONTRAST", "No extrahepatic biliary ductal dilatation."),
        ("US ABDOMEN DOPPLER", "Hepatopetal flow in the main portal vein."),
        ("CT CHEST", "Smooth interlobular septal thickening."),
        ("MRI LUMBAR SPINE", "Small posterolateral disc protrusion."),
        ("CT HEAD", "No infratentorial abnormality."),
        ("MRI LUMBAR SPINE", "Paraspinal soft tissues are unremarkable."),
        ("US SOFT TISSUE", "A subdermal fluid collection."),
        ("MG SCREENING BILATERAL", "No mammographic evidence of malignancy."),
    ],
)
def test_a_prefix_and_a_known_root_is_a_word_heard_right(procedure: str, text: str) -> None:
    """A real compound the vocabulary does not list ("supra" + "patellar") was replaced by its
    nearest listed neighbour: suprapatellar became suprasellar (another body part), extrahepatic
    intrahepatic (the opposite). The whole correction (spelling, then sounds) leaves it alone."""
    assert _corrected(procedure, text) == text


def test_a_misheard_word_that_looks_like_a_prefix_and_an_everyday_word_is_still_restored() -> None:
    # "hypo" + "dents": an everyday word, not an anatomical root, so it is a misheard "hypodense".
    assert correct_terms("a hypodents lesion") == "a hypodense lesion"
    assert correct_terms("no subdoral hematoma") == "no subdural hematoma"
    english = real_words()
    assert not is_compound("hypodents", domain_vocabulary(), english)
    assert is_compound("suprapatellar", domain_vocabulary(), english)
    assert is_compound("paraspinal", domain_vocabulary(), english)  # para + spinal, an English adjective


@pytest.mark.parametrize(
    ("heard", "term", "changed"),
    [
        ("extrahepatic", "intrahepatic", True),
        ("hypoechoic", "hyperechoic", True),
        ("unobstructing", "obstructing", True),
        ("obstructing", "nonobstructing", True),
        ("malalignment", "alignment", True),
        ("unobstructing", "nonobstructing", False),
        ("antigrade", "antegrade", False),
        ("sentrylobular", "centrilobular", False),
    ],
)
def test_a_correction_never_swaps_a_meaning_carrying_prefix(heard: str, term: str, changed: bool) -> None:
    assert prefix_changed(heard, term) is changed


def test_a_word_as_near_two_vocabulary_words_is_left_to_the_sound_pass() -> None:
    """ "intreparital" is as near intracranial as intraperitoneal in letters; the spelling
    correction took intracranial (free air in the head, in a CT abdomen), the sound pass, which
    knows the study's region, restores intraperitoneal."""
    heard = "There is free intreparital air beneath the diaphragm."
    assert _corrected("CT ABDOMEN PELVIS WITH CONTRAST", heard) == (
        "There is free intraperitoneal air beneath the diaphragm."
    )


@pytest.mark.parametrize(
    ("procedure", "text"),
    [
        ("CT ABDOMEN PELVIS", "A 4 mm nonobstructing calculus in the lower pole of the right kidney."),
        ("CT CERVICAL SPINE", "No acute fracture or malalignment of the cervical spine."),
        ("US SCROTUM", "A 5 mm epididymal head cyst."),
        ("IR DRAINAGE", "Percutaneous cholecystostomy tube placement."),
        ("IR VENOUS ACCESS", "Venography demonstrates compression of the left common iliac vein."),
        ("CT NECK", "Sialolithiasis of the left submandibular duct."),
        ("US SCROTUM", "Scattered testicular microlithiasis."),
        ("US PELVIS", "Poorly defined myometrial echotexture."),
        ("MRI BRAIN", "Thin subdural collections overlying both cerebral convexities."),
        ("XR ANKLE", "Plantar calcaneal enthesophyte."),
        ("US PELVIS", "Small amount of free fluid in the cul-de-sac."),
        # A word of the sound pass's lexicon is a word the spelling correction knows.
        ("US DOPPLER LOWER EXTREMITY VENOUS", "The posterior tibial and peroneal veins are patent."),
    ],
)
def test_another_word_of_a_listed_word_s_family_is_heard_right(procedure: str, text: str) -> None:
    """Correct words the corrections once turned into a listed relative: another ending
    (epididymal, cholecystostomy, convexities), another root before the same ending (venography,
    sialolithiasis, myometrial), a negating prefix dropped (nonobstructing, malalignment)."""
    assert _corrected(procedure, text) == text


@pytest.mark.parametrize(
    ("heard", "target", "other"),
    [
        ("epididymitis", "epididymis", True),
        ("calcaneal", "calcaneus", True),
        ("venography", "angiography", True),
        ("myometrial", "endometrial", True),
        # Misspellings and mishearings of the listed word stay correctable.
        ("biopsis", "biopsy", False),
        ("extroversation", "extravasation", False),
        ("sentrylobular", "centrilobular", False),
        ("periappendical", "periappendiceal", False),
    ],
)
def test_other_word_tells_a_relative_from_a_misspelling(heard: str, target: str, other: bool) -> None:
    assert other_word(heard, target) is other


@pytest.mark.parametrize(
    ("procedure", "text"),
    [
        ("CT CHEST WITH CONTRAST", "Loculated right pleural effusion with pleural enhancement."),
        ("CT CHEST WITHOUT CONTRAST", "Sternal wires are intact."),
        ("MRI BRAIN PEDIATRIC", "Myelination is appropriate for age."),
        ("XR PELVIS", "Sclerosis and erosions of the bilateral sacroiliac joints."),
        ("CT CHEST WITH CONTRAST", "An enlarged subcarinal lymph node measures 1.6 cm in short axis."),
        ("XR CHEST PORTABLE", "The endotracheal tube tip is in the right mainstem bronchus."),
        ("CT CHEST", "Findings consistent with stage three sarcoidosis."),
        ("CT CHEST", "A thin-walled pneumatocele in the right lower lobe."),
    ],
)
def test_real_radiology_words_the_dictionary_lacks_are_heard_right(procedure: str, text: str) -> None:
    """data/radiology_words.txt: loculated was made "located", sternal "terminal", myelination
    "demyelination" (the opposite), erosions "lesions", subcarinal "subacromial"."""
    assert _corrected(procedure, text) == text


@pytest.mark.parametrize(
    ("procedure", "sentence"),
    [
        ("CT CHEST WITH CONTRAST", "Right upper lobe mass. Recommend thoracic surgery consultation."),
        ("CT CHEST WITH CONTRAST", "Right upper lobe mass, highly suspicious for malignancy."),
        ("US RENAL", "Dilated right collecting system with debris, concerning for pyonephrosis."),
        ("MRI BRAIN WITHOUT CONTRAST", "The third ventricle is normal in size."),
        ("CTA CHEST", "There is a small hemopericardium."),
        ("CT CHEST WITH CONTRAST", "Hemomediastinum around the aortic arch."),
        ("CT ABDOMEN PELVIS WITH CONTRAST", "The sigmoid colon is thickened with surrounding fat stranding."),
        ("CTA HEAD AND NECK", "The vertebral arteries opacify normally."),
        ("MRI RIGHT KNEE WITHOUT CONTRAST", "Segond fracture of the lateral tibial plateau."),
        ("XR ABDOMEN 2 VIEWS", "Pneumatosis intestinalis in the right lower quadrant."),
        ("CTA CHEST", "Filling defects in the lobar arteries. The patient was unable to hold their breath."),
        ("CT CHEST WITH CONTRAST", "Right upper lobe mass with ipsilateral hilar nodal disease."),
        ("MRI THORACIC SPINE", "The retropulsed fragment narrows the canal."),
        # A fourth probe: a fracture's type swapped for a listed one, a plural made of "now".
        ("CT HEAD WITHOUT CONTRAST", "There is a depressed fracture of the left parietal bone."),
        ("XR LEFT WRIST 3 VIEWS", "Torus fracture of the distal radius."),
        ("CT CHEST WITHOUT CONTRAST", "The right lower lobe nodule now measures 1.8 x 1.4 cm."),
    ],
)
def test_correct_report_words_near_radiology_terms_are_kept(procedure: str, sentence: str) -> None:
    """A new-user probe's sentences: "consultation" had become consolidation, "highly" hila, "third"
    thyroid, pyonephrosis hydronephrosis, hemopericardium pericardium (the blood lost)."""
    assert _corrected(procedure, sentence) == sentence


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("A four centimetre aneurysm.", "A 4 cm aneurysm."),
        ("Two by three centimetre lesion.", "2 x 3 cm lesion."),
        ("A four millimetre stone.", "A 4 mm stone."),
        ("Measuring nought point five centimetres.", "Measuring 0.5 cm."),
        ("Two hundred millilitres of fluid.", "200 mL of fluid."),
    ],
)
def test_british_units_are_units(text: str, written: str) -> None:
    """A fourth probe: "four centimetre" was made "subcentimeter" (the size lost), "4 centimetre"
    "4 centimeters"; the words of every spoken unit are real words."""
    engine = ScribeEngine(llm=None)
    assert (
        engine.from_text(text, StudyContext(procedure="CT ABDOMEN AND PELVIS WITH CONTRAST")).text == written
    )


@pytest.mark.parametrize(
    ("procedure", "sentence"),
    [
        ("CT CHEST WITH CONTRAST", "Right chylothorax after esophagectomy."),
        ("CT ABDOMEN AND PELVIS WITH CONTRAST", "History of melena. Recommend colonoscopy."),
        ("CT ABDOMEN AND PELVIS WITH CONTRAST", "Patient on anticoagulation with hematuria."),
        ("MRI BRAIN WITH AND WITHOUT CONTRAST", "Ependymal enhancement consistent with ventriculitis."),
        ("CT ABDOMEN AND PELVIS WITH CONTRAST", "Status post Nissen fundoplication."),
        (
            "CT ABDOMEN AND PELVIS WITH CONTRAST",
            "Stranding of the subcutaneous fat compatible with panniculitis.",
        ),
        ("US PELVIS", "Recommend hysteroscopy."),
        ("CT NECK WITH CONTRAST", "Cystic mass compatible with a second branchial cleft cyst."),
        ("CT ABDOMEN AND PELVIS WITH CONTRAST", "Periaortic soft tissue compatible with aortitis."),
        ("MRI LUMBAR SPINE WITHOUT CONTRAST", "History of stroke treated with alteplase."),
    ],
)
def test_real_words_of_histories_and_recommendations_are_heard_right(procedure: str, sentence: str) -> None:
    """A fourth probe put 3870 report words through the corrections: chylothorax had become
    hemothorax, melena ulna, colonoscopy fluoroscopy, anticoagulation angulation, ventriculitis
    ventricles, fundoplication "fluid collection", branchial bronchial."""
    assert _corrected(procedure, sentence) == sentence


@pytest.mark.parametrize(
    ("heard", "written"),
    [
        ("multiple tumours in both lungs", "multiple tumors in both lungs"),
        ("Haemorrhages in the left frontal lobe", "Hemorrhages in the left frontal lobe"),
        ("oedematous bowel loops", "edematous bowel loops"),
        ("colour Doppler flow in the coeliac axis", "color Doppler flow in the celiac axis"),
        ("the oesophageal wall", "the esophageal wall"),
    ],
)
def test_british_spellings_are_written_the_templates_way_with_their_plural_kept(
    heard: str, written: str
) -> None:
    """ "tumours" had become "tumor": the nearest vocabulary word, one tumour instead of several."""
    assert correct_terms(heard) == written
    assert correct_radiology_terms(heard)[0] == written


def test_mile_is_heard_for_mild_and_facet_arthropathy_is_a_finding() -> None:
    context = StudyContext(procedure="MRI LUMBAR SPINE WITHOUT CONTRAST", clinical_indication="pain")
    result = ScribeEngine(llm=None).from_text("Mile facet arthropathy at L4-L5.", context)
    assert result.impression == ["Mild facet arthropathy at L4-L5."]


def test_a_misheard_word_that_ends_like_an_adjective_is_still_put_right() -> None:
    """ "ileal" is the adjective of ileum and stays; "medical" is no form of medial."""
    context = StudyContext(procedure="MRI RIGHT KNEE WITHOUT CONTRAST", clinical_indication="pain")
    said = "Tear of the posterior horn of the medical meniscus."
    result = ScribeEngine(llm=None).from_text(said, context)
    assert "medial meniscus" in " ".join(s.text for _, s in result.draft.iter_sentences())


@pytest.mark.parametrize(
    ("procedure", "said"),
    [
        ("US OB 2ND TRIMESTER", "Mild fetal pyelectasis of the left kidney. No caliectasis."),
        ("US GUIDED PARACENTESIS", "Two liters of straw colored ascitic fluid were removed."),
        ("US PELVIS", "Ovarian hyperstimulation with theca lutein cysts."),
        ("XR HIPS BILAT", "The epiphysis is displaced posteromedially."),
        ("MRI KNEE RT", "Displaced anteromedially and superolaterally, then inferolaterally."),
    ],
)
def test_a_word_of_the_medical_dictionary_is_heard_right(procedure: str, said: str) -> None:
    """A new-user probe found these rewritten as other words: fetal "atelectasis", "cystic fluid",
    "hyperinflation", "theca lesion cysts", a fragment displaced "posterolateral"."""
    assert _corrected(procedure, said) == said


@pytest.mark.parametrize(
    ("heard", "written"),
    [
        # "appendical", "doral", "heterogonous", "protal" ... are in the medical dictionary too.
        ("periappendical fat stranding", "periappendiceal fat stranding"),
        ("no subdoral hematoma", "no subdural hematoma"),
        ("heterogonous enhancement", "heterogeneous enhancement"),
        ("mild assymetry", "mild asymmetry"),
        ("the protal vein", "the portal vein"),
        ("a torous aorta", "a tortuous aorta"),
    ],
)
def test_a_rarer_spelling_of_a_vocabulary_word_is_still_written_the_usual_way(
    heard: str, written: str
) -> None:
    assert correct_terms(heard) == written


def test_the_medical_dictionary_is_installed_and_read_with_its_suffixes() -> None:
    assert medical_words(), "install Debian's hunspell-en-med (.ci/run does): no medical dictionary was found"
    aff = "SFX Y Y 1\nSFX Y 0 ly .\nSFX S Y 2\nSFX S y ies [^aeiou]y\nSFX S 0 s [aeiou]y\n"
    dic = "3\nposteromedial/Y\nanomaly/S\nAbc1\n"
    assert expand_hunspell(dic, aff) == {"posteromedial", "posteromedially", "anomaly", "anomalies"}


def test_a_rare_medical_word_with_a_terms_very_sound_is_the_term() -> None:
    # "cytosis" is in the medical dictionary, and sounds exactly as steatosis; "ascitic" does not.
    assert (
        _corrected("CT ABDOMEN PELVIS", "consistent with hepatic cytosis")
        == "consistent with hepatic steatosis"
    )
    assert "periventricular" in _corrected("CT HEAD", "mild paraben trick your white matter hypodensity")
