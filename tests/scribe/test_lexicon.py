"""The radiology-aware correction pass (scribe/lexicon.py) and the lexicon file it reads."""

from __future__ import annotations

import pytest

from autoscribe.scribe import ScribeEngine, StudyContext
from autoscribe.scribe.lexicon import correct_radiology_terms, regions_for_study
from autoscribe.scribe.phonetics import phonetic_key
from autoscribe.scribe.templates import builtin_template
from autoscribe.scribe.wordlists import load_lexicon, parse_lexicon


def _fix(text: str, *regions: str) -> str:
    return correct_radiology_terms(text, regions={"general", *regions})[0]


def test_phonetic_keys_put_sound_alikes_together() -> None:
    assert phonetic_key("nodule")[1:] == phonetic_key("module")[1:]
    assert phonetic_key("hiller") == phonetic_key("hilar")
    assert phonetic_key("lingual") == phonetic_key("lingula")
    assert phonetic_key("pneumothorax").startswith("N")  # silent p
    # Greek "ch" sounds as K in medical words, and a speech model spells it so; "chest" keeps X.
    assert phonetic_key("cholelithiasis") == phonetic_key("coalithiasis")
    assert phonetic_key("bronchus") == phonetic_key("bronkus")
    assert phonetic_key("trachea") == phonetic_key("trakea")
    assert phonetic_key("chest")[0] != phonetic_key("kest")[0]
    assert phonetic_key("") == ""


@pytest.mark.parametrize(
    ("heard", "meant", "regions"),
    [
        (
            "A six millimeter module in the right upper lobe.",
            "A six millimeter nodule in the right upper lobe.",
            (),
        ),
        ("The thyroid module measures 1 cm.", "The thyroid nodule measures 1 cm.", ()),
        ("No mediastinal lymphatic apathy.", "No mediastinal lymphadenopathy.", ()),
        (
            "No enlarged media still or hiller lymph nodes.",
            "No enlarged mediastinal or hilar lymph nodes.",
            (),
        ),
        ("A nodule is noted in the lingual.", "A nodule is noted in the lingula.", ("chest",)),
        ("Mild central armular emphysema.", "Mild centrilobular emphysema.", ("chest",)),
        ("Acute subdural haematoma.", "Acute subdural hematoma.", ()),
        # A phrase of the lexicon with one word heard as another of the same length.
        ("Subdural hematoma with mast effect.", "Subdural hematoma with mass effect.", ()),
        (
            "Colysis with gallbladder wall thickening.",
            "Cholelithiasis with gallbladder wall thickening.",
            ("abdomen",),
        ),
        ("The muscular surgeon was notified.", "The vascular surgeon was notified.", ("vascular",)),
        ("Mild arrowing of both neural foramina.", "Mild narrowing of both neural foramina.", ("spine",)),
        ("The infernal abdominal aorta.", "The infrarenal abdominal aorta.", ("vascular",)),
        # A long term heard as two words, a letter or two off.
        ("The posterior lateral tibial plateau.", "The posterolateral tibial plateau.", ("msk",)),
        ("A hollow hemispheric subdural hematoma.", "A holohemispheric subdural hematoma.", ("neuro",)),
    ],
)
def test_misheard_terms_are_restored_where_the_context_fits(
    heard: str, meant: str, regions: tuple[str, ...]
) -> None:
    assert _fix(heard, *regions) == meant


@pytest.mark.parametrize(
    "text",
    [
        "The patient was called by the team.",
        "Motor vehicle collision.",
        "The software module was updated.",  # no cue for a nodule nearby
        "No new nodule. Stable 5 mm nodule.",  # "new nodule" is not a misheard "nodule"
        "There is no pneumothorax on the left.",
        "The lingual tonsil is normal.",  # a head and neck study: the lingula does not fit
        "Mass effect on the left lateral ventricle.",
        # Another form of a lexicon word, of the same length: heard right.
        "Findings suggestive of pulmonary arterial hypertension.",
        "No evidence of pulmonary embolic disease.",
    ],
)
def test_words_that_fit_are_left_alone(text: str) -> None:
    assert _fix(text, "neuro") == text


@pytest.mark.parametrize(
    ("text", "region"),
    [
        # Correct words next to one word of a lexicon phrase (a review found these replaced by a
        # rule that took a known word inside a phrase for a mishearing).
        ("Lateral femoral canal. The humeral head is centered. Primary pulmonary neoplasm.", "msk"),
        ("Femoral cartilage is intact. Right femoral catheter. No acute osseous fractures.", "msk"),
        ("Retrovertebral soft tissues are normal. No suspicious axillary nodule.", "spine"),
        ("Fracture of the distal radial metaphysis.", "msk"),  # another form of "distal radius"
        ("An ulnar styloid fracture.", "msk"),  # a term of the region, not a "stress fracture"
        ("There is no hydrocephalus.", "neuro"),  # not a split "hydrocephalus"
        ("Acute infarct in the right MCA territory.", "neuro"),  # not a split "infarction"
        ("The arrow points to the lesion. It is preferable to wait.", "spine"),  # no cue near
        ("Widening of the right femoral capital epiphysis.", "msk"),  # no misheard femoral condyle
        # A new-user probe: a common word is no two-word term ("free air": a false critical
        # finding), nor a phrase's word a far sound off; a Roman numeral is never part of a term.
        ("left lower quadrant pain and fever period findings colon no abscess period", "abdomen"),
        ("Fever in the abdomen.", "abdomen"),
        ("At 10 o'clock posterior depth there is a mass.", "breast"),
        ("Schatzker II lateral tibial plateau fracture.", "msk"),
        ("Garden II medial femoral neck fracture.", "msk"),
        ("A grade II medially displaced fragment.", "chest"),
        ("The popliteal veins show noncompressibility.", "vascular"),
    ],
)
def test_words_heard_right_are_not_taken_for_a_phrase(text: str, region: str) -> None:
    assert _fix(text, region) == text


def test_negations_sides_and_numbers_are_never_part_of_a_correction() -> None:
    text, changes = correct_radiology_terms(
        "No left module, right module 5 mm.", regions={"general", "chest"}
    )
    assert text.startswith("No left nodule, right nodule 5 mm")
    assert all(c.heard.lower() == "module" for c in changes)


def test_the_lexicon_file_parses_into_regions_terms_cues_and_variants() -> None:
    lexicon = load_lexicon()
    assert {"general", "chest", "neuro", "abdomen", "vascular", "msk", "spine", "breast", "pediatric"} <= set(
        lexicon.regions
    )
    assert lexicon.variants["haematoma"] == "hematoma"
    nodule = next(t for t in lexicon.regions["chest"].terms if t.text == "nodule")
    assert "lobe" in nodule.cues
    custom = parse_lexicon("[spine]\n@procedure SPINE\n@context disc\nforaminal: stenosis\nfoo = bar\n")
    assert custom.regions["spine"].procedure == {"SPINE"} and custom.regions["spine"].terms[0].cues == {
        "stenosis"
    }


def test_regions_come_from_the_study_description() -> None:
    assert regions_for_study("MR LUMBAR SPINE WITHOUT CONTRAST") == {"general", "spine"}
    assert regions_for_study("CTA CHEST PE PROTOCOL") >= {"general", "chest", "vascular"}
    assert regions_for_study("US SCROTUM") == {"general", "abdomen"}
    assert regions_for_study("") == {"general"}


def test_the_engine_biases_the_model_and_corrects_through_the_lexicon() -> None:
    engine = ScribeEngine(llm=None)
    assert engine.biasing is False and engine.lexicon_correction is True  # the measured defaults
    engine.biasing = True
    spine = StudyContext(procedure="MR LUMBAR SPINE WITHOUT CONTRAST")
    template = engine.template_for(spine)
    prompt = engine.prompt_for(template, spine)
    hotwords = engine.hotwords_for(template, spine) or ""
    assert "spondylolisthesis" in prompt or "spondylolisthesis" in hotwords
    assert len(hotwords) <= 160 and len(prompt) <= 700
    engine.biasing = False
    assert engine.hotwords_for(template, spine) is None

    chest = StudyContext(procedure="CT CHEST WITH CONTRAST")
    result = engine.from_text(
        "findings colon there is a six millimeter module in the right upper lobe period",
        chest,
        template=builtin_template("ct-chest"),
    )
    assert "nodule" in result.text and "module" not in result.text
    engine.lexicon_correction = False
    assert "module" in engine.corrected_text(
        "a module in the right upper lobe", builtin_template("ct-chest"), chest
    )


def test_a_unit_is_never_part_of_a_misheard_term() -> None:
    """ "5 mm module" is a 5 mm nodule: the unit stays (it was swallowed: "a 5 nodule")."""
    engine = ScribeEngine(llm=None)
    context = StudyContext(procedure="CT CHEST")
    heard = "A 5 mm module in the right upper lobe."
    assert engine.corrected_text(heard, engine.template_for(context), context) == (
        "A 5 mm nodule in the right upper lobe."
    )


@pytest.mark.parametrize(
    ("heard", "region", "meant"),
    [
        # An audio probe of new dictations: terms the lexicon lacked, heard as near-words.
        ("Leptomanidial enhancement.", "neuro", "Leptomeningeal enhancement."),
        ("An infotentorial lesion.", "neuro", "An infratentorial lesion."),
        ("Aeriportal edema.", "abdomen", "Periportal edema."),
        ("Pericuradic fat stranding.", "abdomen", "Peripancreatic fat stranding."),
        ("Conical synosis of the menisci.", "msk", "Chondrocalcinosis of the menisci."),
        (
            "Loosencies in the femur and a loosency in the tibia.",
            "msk",
            "Lucencies in the femur and a lucency in the tibia.",
        ),
    ],
)
def test_terms_an_audio_probe_missed_are_restored(heard: str, region: str, meant: str) -> None:
    assert _fix(heard, region) == meant
