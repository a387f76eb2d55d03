"""Normalizer: spoken punctuation, commands, numbers, units, spine levels, dates — meaning unchanged."""

from __future__ import annotations

import pytest

from autoscribe.scribe import ScribeEngine, StudyContext
from autoscribe.scribe.normalize import NEXT_SECTION_MARK, normalize
from autoscribe.scribe.normalize.tokens import said_with_a_vowel


@pytest.mark.parametrize(
    ("spoken", "written"),
    [
        ("two point three by one point one centimeters period", "2.3 x 1.1 cm."),
        ("a five millimeter nodule period", "A 5 mm nodule."),
        ("there is a 2.3-by-1.1 centimeter lesion.", "There is a 2.3 x 1.1 cm lesion."),
        ("measuring point five centimeters period", "Measuring 0.5 cm."),
        ("a three by four by five millimeter cyst period", "A 3 x 4 x 5 mm cyst."),
        ("density of twenty Hounsfield units period", "Density of 20 HU."),
        ("ejection fraction sixty percent period", "Ejection fraction 60%."),
        ("series three image forty two period", "Series 3 image 42."),
        ("BI-RADS category one negative period", "BI-RADS category 1 negative."),
        # Reporting categories: the number in digits, a subcategory letter joined to it.
        ("BI-RADS four A period", "BI-RADS 4A."),
        ("Lung-RADS category four B period", "Lung-RADS category 4B."),
        ("PI-RADS five lesion period", "PI-RADS 5 lesion."),
        ("TI-RADS TR three period", "TI-RADS TR 3."),
        ("stage three A disease period", "Stage 3A disease."),
        ("category two a benign finding period", "Category 2 a benign finding."),
        ("grade two out of four period", "Grade 2 out of 4."),
        ("a for millimeter nodule measuring for centimeters period", "A 4 mm nodule measuring 4 cm."),
        ("follow-up for the nodule period", "Follow-up for the nodule."),
        # A compound number as the model writes it, hyphenated: one number.
        ("a twenty-five millimeter stone period", "A 25 mm stone."),
        ("seventy-two year old man period", "72 year old man."),
        # Times and vessel segments keep their form.
        ("called at 3:40 p.m. period", "Called at 3:40 p.m."),
        ("occlusion of the left M1 segment period", "Occlusion of the left M1 segment."),
        ("MRI dated the 3rd of March 2023 period", "MRI dated the 3rd of March 2023."),
        # Hesitations the model wrote down go, with their commas.
        (
            "Um, there is a uh small effusion, um, and no pneumothorax period",
            "There is a small effusion and no pneumothorax.",
        ),
        ("a well-defined one-sided lesion period", "A well-defined one-sided lesion."),
        # Halves and ranges, as radiologists say sizes.
        ("measuring one and a half centimeters period", "Measuring 1.5 cm."),
        ("up to two and one half centimeters period", "Up to 2.5 cm."),
        ("a one-and-a-half centimeter cyst period", "A 1.5 cm cyst."),
        ("a half centimeter cyst and half a centimeter node period", "A 0.5 cm cyst and 0.5 cm node."),
        ("two and a half by one and a half centimeters period", "2.5 x 1.5 cm."),
        ("a two to three millimeter nodule period", "A 2-3 mm nodule."),
        ("multiple two to 3 mm nodules period", "Multiple 2-3 mm nodules."),
        ("ten to fifteen percent period", "10-15%."),
        ("between two and three millimeters period", "Between 2 and 3 mm."),
        ("follow-up in six to twelve months period", "Follow-up in 6-12 months."),
        ("recommend follow up in three to 6 months period", "Recommend follow up in 3-6 months."),
        # A change is not a range.
        ("decreased from five to three millimeters period", "Decreased from 5 to 3 mm."),
        ("grown from approximately four to six millimeters period", "Grown from approximately 4 to 6 mm."),
        ("shrunk to five to four millimeters period", "Shrunk to 5 to 4 mm."),
        ("the upper half of the kidney period", "The upper half of the kidney."),
        ("one to two small nodules period", "One to two small nodules."),
    ],
)
def test_numbers_and_units(spoken: str, written: str) -> None:
    assert normalize(spoken) == written


@pytest.mark.parametrize(
    ("spoken", "written"),
    [
        ("disc bulge at L four five period", "Disc bulge at L4-L5."),
        ("protrusion at L five S one period", "Protrusion at L5-S1."),
        ("narrowing at C five six period", "Narrowing at C5-C6."),
        ("compression fracture of T twelve period", "Compression fracture of T12."),
        ("Disc bulge at L4-5 and C56.", "Disc bulge at L4-L5 and C5-C6."),
        ("from T twelve to L one period", "From T12 to L1."),
        ("Epidural mass at T-8, causing cord compression.", "Epidural mass at T8, causing cord compression."),
        ("The T-shaped catheter tip.", "The T-shaped catheter tip."),
        ("Metastases at D8 with cord compression.", "Metastases at T8 with cord compression."),
        ("Vitamin D 8 units.", "Vitamin D 8 units."),
        # A level said before "colon" heads what is found there; "colon" is no organ after a level.
        ("L four five colon mild disc bulge period", "L4-L5: Mild disc bulge."),
        ("L5 S1 colon no disc herniation period", "L5-S1: No disc herniation."),
        # Lower-case levels where the words around say spine; an MR sequence is written as one.
        ("compression fracture of t seven period", "Compression fracture of T7."),
        ("t ten vertebral body period", "T10 vertebral body."),
        ("the s one nerve root period", "The S1 nerve root."),
        ("a t one weighted image period", "A T1 weighted image."),
    ],
)
def test_vertebral_levels(spoken: str, written: str) -> None:
    assert normalize(spoken) == written


def test_dates() -> None:
    assert normalize("compared with the study of January fifth twenty twenty four period") == (
        "Compared with the study of January 5, 2024."
    )
    assert normalize("prior from March third period") == "Prior from March 3."


@pytest.mark.parametrize(
    ("spoken", "written"),
    [
        ("compared to the prior CT from twenty twenty three period", "Compared to the prior CT from 2023."),
        ("in nineteen ninety nine period", "In 1999."),
        ("dated March twenty twenty four period", "Dated March 2024."),
        # Two numbers where no year is asked for stay numbers.
        ("measuring twenty by twenty three millimeters period", "Measuring 20 x 23 mm."),
        ("from twenty to thirty millimeters period", "From 20 to 30 mm."),
    ],
)
def test_a_year_spoken_in_two_halves_is_one_number(spoken: str, written: str) -> None:
    """ "from twenty twenty three" was written "from 20 23"."""
    assert normalize(spoken) == written


@pytest.mark.parametrize(
    ("spoken", "written"),
    [
        ("no one was present period", "No one was present."),
        ("the left one is larger period", "The left one is larger."),
        ("there are two nodules period", "There are two nodules."),
        ("no pneumothorax period", "No pneumothorax."),
        ("not seen on the prior period", "Not seen on the prior."),
        ("over a period of two weeks period", "Over a period of 2 weeks."),
        ("the lungs are clear the period no effusion period", "The lungs are clear. No effusion."),
        ("the sigmoid colon is normal period", "The sigmoid colon is normal."),
        ("one of the nodules is calcified period", "One of the nodules is calcified."),
    ],
)
def test_meaning_is_kept(spoken: str, written: str) -> None:
    assert normalize(spoken) == written


def test_spoken_punctuation_and_headings() -> None:
    text = normalize(
        "findings colon the lungs are clear comma without effusion period impression colon normal period"
    )
    assert text == "Findings: The lungs are clear, without effusion.\nImpression: Normal."
    # The model sometimes writes the mark and the word: one full stop remains.
    assert normalize("Impression colon small liver lesion period.") == "Impression: Small liver lesion."


def test_commands() -> None:
    assert (
        normalize("lungs clear period new paragraph heart normal period") == "Lungs clear.\n\nHeart normal."
    )
    assert (
        normalize("fall period next section noncontrast period")
        == f"Fall.\n{NEXT_SECTION_MARK}\nNoncontrast."
    )


def test_scratch_that_removes_the_open_sentence_or_the_last_one() -> None:
    assert normalize("no effusion period there is a small effusion scratch that lungs clear period") == (
        "No effusion. Lungs clear."
    )
    assert normalize("No effusion. There is a small effusion. Scratch that. Lungs clear.") == (
        "No effusion. Lungs clear."
    )


@pytest.mark.parametrize(
    ("spoken", "written"),
    [
        (
            "a distal radius fracture with dorsal angulation of twenty degrees and one centimeter of "
            "shortening scratch that five millimeters of shortening period no dislocation period",
            "A distal radius fracture with dorsal angulation of 20 degrees and 5 mm of shortening. "
            "No dislocation.",
        ),
        (
            "the nodule measures four millimeters scratch that six millimeters period",
            "The nodule measures 6 mm.",
        ),
        ("the nodule measures four millimeters scratch that six period", "The nodule measures 6 mm."),
        ("left lower lobe nodule scratch that right upper lobe period", "Right upper lobe nodule."),
        ("there is a small effusion scratch that moderate effusion period", "There is a moderate effusion."),
        (
            "the nodule measures four millimeters on image forty five scratch that six period",
            "The nodule measures 6 mm on image 45.",
        ),
        ("small effusion strike that moderate effusion period", "Moderate effusion."),
        # A correction as long as what was said, or matching none of it, replaces the sentence.
        ("the liver is normal scratch that the spleen is normal period", "The spleen is normal."),
        ("the heart is enlarged scratch that", ""),
        # So does one where a denial leaves open what it takes back, or one that says the same words.
        (
            "there is no acute intracranial hemorrhage scratch that acute intracranial hemorrhage period",
            "Acute intracranial hemorrhage.",
        ),
        (
            "no pneumothorax or pleural effusion scratch that small right pleural effusion period",
            "Small right pleural effusion.",
        ),
        ("with periappendiceal fat stranding scratch that without stranding period", "Without stranding."),
        # The same words said again take back what followed them.
        (
            "fracture of the distal radius and ulna scratch that distal radius period",
            "Fracture of the distal radius.",
        ),
        # A correction that goes on replaces the rest of the sentence from the words it corrects.
        (
            "a one and a half centimeter hypodense lesion in the left lobe scratch that right lobe "
            "which is new period",
            "A 1.5 cm hypodense lesion in the right lobe which is new.",
        ),
        (
            "a five by four millimeter nodule in the lingula series two image eighty scratch that "
            "image eighty one period",
            "A 5 x 4 mm nodule in the lingula series 2 image 81.",
        ),
        (
            "acute right subdural hematoma measuring up to one point one centimeters scratch that "
            "measuring up to one point two centimeters in thickness with six millimeter shift period",
            "Acute right subdural hematoma measuring up to 1.2 cm in thickness with 6 mm shift.",
        ),
        (
            "three millimeters of right to left scratch that left to right midline shift period",
            "3 mm of left to right midline shift.",
        ),
        (
            "there is a small left scratch that right frontal contusion period",
            "There is a small right frontal contusion.",
        ),
        # The article follows the new number; the unit and the nodule stay, the rest is said after.
        ("there is a six millimeter nodule scratch that eight period", "There is an 8 mm nodule."),
        (
            "there is a six millimeter nodule scratch that eight in the right upper lobe period",
            "There is an 8 mm nodule in the right upper lobe.",
        ),
        ("an eight millimeter nodule scratch that six period", "A 6 mm nodule."),
        # A unit said again is the unit written: "millimeters" stands for "mm".
        ("a 4 mm cyst scratch that eleven millimeters period", "An 11 mm cyst."),
        # ... and another unit replaces the unit said: never 8 cm for 8 mm.
        (
            "the nodule measures one centimeter scratch that eight millimeters period",
            "The nodule measures 8 mm.",
        ),
        ("an eight millimeter nodule scratch that six centimeter mass period", "A 6 cm mass."),
        ("a six millimeter nodule scratch that eight comma stable period", "An 8 mm nodule, stable."),
        ("an enlarged node scratch that ulcerated node period", "An ulcerated node."),
    ],
)
def test_scratch_that_mid_sentence_replaces_only_the_words_the_correction_stands_for(
    spoken: str, written: str
) -> None:
    """Without a full stop before it, "scratch that" took the whole sentence: the fracture too."""
    assert normalize(spoken) == written


@pytest.mark.parametrize(
    ("spoken", "written"),
    [
        ("the the liver is normal period", "The liver is normal."),
        (
            "one lesion, lesion, lesion, lesion demonstrates enhancement period",
            "One lesion demonstrates enhancement.",
        ),
        ("the right ventricle the right ventricle is normal period", "The right ventricle is normal."),
        # Number words are not repeats, nor are two sentences that say the same thing.
        ("measuring point one one centimeters period", "Measuring 0.11 cm."),
        ("no effusion period no effusion period", "No effusion. No effusion."),
        # The commas between repeats go with them; a repeat that opens a finding's name after a
        # comma is the list going on ("mass, mass effect" lost its "mass").
        ("Nodule, nodule in the right lung.", "Nodule in the right lung."),
        ("A lesion, lesion.", "A lesion."),
        ("No mass, mass effect, or midline shift.", "No mass, mass effect, or midline shift."),
        (
            "no mass comma mass effect comma or midline shift period",
            "No mass, mass effect, or midline shift.",
        ),
        # A word said again after a comma is the list's next item when it first ended a longer
        # name ("common femoral, femoral" lost the femoral vein of a DVT study).
        (
            "The left common femoral, femoral, popliteal, and posterior tibial veins are compressible.",
            "The left common femoral, femoral, popliteal, and posterior tibial veins are compressible.",
        ),
        (
            "the common femoral comma femoral comma and popliteal veins period",
            "The common femoral, femoral, and popliteal veins.",
        ),
        ("A hypodense lesion, lesion in the liver.", "A hypodense lesion in the liver."),
        # Each "scratch that" is a command of its own.
        ("a b period c d period scratch that scratch that e period", "E."),
    ],
)
def test_repeated_words_from_a_stutter_or_a_decoding_loop_are_said_once(spoken: str, written: str) -> None:
    assert normalize(spoken) == written


def test_a_full_stop_the_model_put_between_a_number_and_its_unit_goes() -> None:
    assert (
        normalize("The right kidney measures 11. Centimeters period.") == "The right kidney measures 11 cm."
    )
    assert normalize("measures eleven. Millimeters.") == "Measures 11 mm."
    # A dictated full stop stays: the radiologist ended the sentence there.
    assert normalize("the count is eleven period centimeters are used period") == (
        "The count is 11. Centimeters are used."
    )


def test_cc_spelled_as_two_letters_is_a_unit() -> None:
    """ "two hundred c c" lost a letter to the stutter rule: "200 c"."""
    assert normalize("two hundred c c of contrast period") == "200 mL of contrast."
    assert normalize("a a nodule period") == "A nodule."


@pytest.mark.parametrize(
    ("said", "written"),
    [
        ("complete tear of the acl period", "Complete tear of the ACL."),
        ("small baker cyst period", "Small Baker cyst."),
        ("positive sonographic murphy sign period", "Positive sonographic Murphy sign."),
        ("the cbd measures four millimeters period", "The CBD measures 4 mm."),
        ("stanford type a dissection period", "Stanford type A dissection."),
        ("there is a type b aortic dissection period", "There is a type B aortic dissection."),
        (
            "bi rads four c colon high suspicion for malignancy period",
            "BI-RADS 4C: High suspicion for malignancy.",
        ),
        ("lung rads category two colon benign period", "Lung-RADS category 2: Benign."),
        ("stage two colon cancer period", "Stage 2 colon cancer."),
        ("the sigmoid colon is normal period", "The sigmoid colon is normal."),
        # Everyday words and a letter that is an article stay as they are.
        ("tips of the catheters period", "Tips of the catheters."),
        ("a type of lesion period", "A type of lesion."),
    ],
)
def test_abbreviations_and_eponyms_are_written_as_reports_write_them(said: str, written: str) -> None:
    assert normalize(said) == written


@pytest.mark.parametrize(
    ("said", "written"),
    [
        ("called at nine fifteen AM period", "Called at 9:15 AM."),
        ("discussed at eight oh five p.m. period", "Discussed at 8:05 PM."),
        ("at fourteen thirty period", "At 14:30."),
        ("at twenty two fifteen hours period", "At 22:15."),
        ("at 9:15 a.m. period", "At 9:15 a.m."),
        # AM/PM as the speech model spells it out, after words or digits.
        ("discussed at two fifteen p m period", "Discussed at 2:15 PM."),
        (
            "called at eleven oh five p m period the heart is normal period",
            "Called at 11:05 PM. The heart is normal.",
        ),
        ("called at 10 50 p m period", "Called at 10:50 PM."),
        ("called at 2:15 p m period", "Called at 2:15 PM."),
        ("called at 2:15 pm period", "Called at 2:15 pm."),
        # Without AM/PM or a 24-hour clock, two numbers stay what they were.
        ("the nodule measures nine millimeters period", "The nodule measures 9 mm."),
        ("at two thirty period", "At two 30."),
        ("follow up in three to six months period", "Follow up in 3-6 months."),
    ],
)
def test_a_time_of_day_said_in_words_is_written_as_a_time(said: str, written: str) -> None:
    assert normalize(said) == written


@pytest.mark.parametrize(
    ("said", "written"),
    [
        (
            "peak systolic velocity of one twenty centimeters per second period",
            "Peak systolic velocity of 120 cm/s.",
        ),
        (
            "end diastolic velocity of two fifty five cm per second period",
            "End diastolic velocity of 255 cm/s.",
        ),
        ("it measures one twenty hounsfield units period", "It measures 120 HU."),
        ("blood pressure one twenty over eighty period", "Blood pressure 120 over 80."),
        ("pressure of one fifteen millimeters of mercury period", "Pressure of 115 mmHg."),
        ("one ten over seventy period", "110 over 70."),
        # Before a length, a percentage, a volume or no unit, and after a word that counts, a count
        # and a size stay two numbers.
        ("two twenty millimeter nodes period", "Two 20 mm nodes."),
        ("series two image forty five period", "Series 2 image 45."),
        ("there are two fifty percent stenoses period", "There are two 50% stenoses."),
        ("two twenty milliliter aliquots period", "Two 20 mL aliquots."),
        ("series three forty five hounsfield units period", "Series 3 45 HU."),
    ],
)
def test_hundreds_said_as_velocities_and_pressures_are_one_number(said: str, written: str) -> None:
    """The time a critical result was communicated had become "at 14 30", "nine 15 AM"."""
    assert normalize(said) == written


@pytest.mark.parametrize(
    ("said", "written"),
    [
        ("discussed with doctor smith period", "Discussed with Dr. Smith."),
        ("discussed with doctor o'brien period", "Discussed with Dr. O'Brien."),
        ("the doctor was notified period", "The doctor was notified."),
        ("the doctor on call period", "The doctor on call."),
    ],
)
def test_a_doctor_named_is_written_dr_and_the_name(said: str, written: str) -> None:
    assert normalize(said) == written


def test_a_name_after_doctor_is_never_corrected_as_a_term() -> None:
    from autoscribe.scribe.engine import ScribeEngine
    from autoscribe.scribe.types import StudyContext

    result = ScribeEngine(llm=None).from_text(
        "findings discussed with doctor o'brien at two thirty PM period", StudyContext(procedure="CT HEAD")
    )
    assert "Dr. O'Brien at 2:30 PM" in result.draft.section_texts()["findings"]


@pytest.mark.parametrize(
    ("said", "written"),
    [
        ("occlusion of the right MCA M one segment period", "Occlusion of the right MCA M1 segment."),
        ("occlusion of the left M two period", "Occlusion of the left M2."),
        ("the A one segment is hypoplastic period", "The A1 segment is hypoplastic."),
        ("a two segment fracture period", "A two segment fracture."),
        ("a one centimeter nodule period", "A 1 cm nodule."),
    ],
)
def test_a_cerebral_arterys_segment_is_written_as_reports_write_it(said: str, written: str) -> None:
    assert normalize(said) == written


@pytest.mark.parametrize(
    ("said", "written"),
    [
        ("following injection of Tc-99m MDP period", "Following injection of Tc-99m MDP."),
        ("T score of negative two point six period", "T-score of -2.6."),
        ("the Z score is minus one point two period", "The Z-score is -1.2."),
        ("density of zero point eight one grams per centimeter squared period", "Density of 0.81 g/cm²."),
        ("gestational age of eight weeks six days period", "Gestational age of 8 weeks 6 days."),
        ("follow up in one year period", "Follow up in 1 year."),
        # A negative number elsewhere stays as said; a day's number is no duration.
        ("negative two point six period", "Negative 2.6."),
        ("on day three period", "On day three."),
    ],
)
def test_isotopes_scores_densities_and_durations_as_reports_write_them(said: str, written: str) -> None:
    assert normalize(said) == written


@pytest.mark.parametrize(
    ("said", "written"),
    [
        (
            "the bladder is normal in contour period during voiding there is reflux period",
            "The bladder is normal in contour. During voiding there is reflux.",
        ),
        (
            "the liver is normal period of note the spleen is enlarged period",
            "The liver is normal. Of note the spleen is enlarged.",
        ),
        ("stable over a period of three months period", "Stable over a period of 3 months."),
        ("in the postoperative period there is edema period", "In the postoperative period there is edema."),
        ("follow up in one year period", "Follow up in 1 year."),
        ("no change over a six month period period", "No change over a 6 month period."),
        ("findings are stable over the interval period", "Findings are stable over the interval."),
    ],
)
def test_period_ends_the_sentence_unless_it_names_a_span_of_time(said: str, written: str) -> None:
    assert normalize(said) == written


@pytest.mark.parametrize(
    ("said", "written"),
    [
        # A disc level said as two lowercase vertebrae, or before "colon", is a level without
        # other words around it.
        ("c two c three colon no disc herniation period", "C2-C3: No disc herniation."),
        (
            "impression colon c five six severe right foraminal stenosis period",
            "Impression: C5-C6 severe right foraminal stenosis.",
        ),
        ("c five dash c six colon disc bulge period", "C5-C6: Disc bulge."),
        ("c five to c six colon disc bulge period", "C5-C6: Disc bulge."),
        ("t twelve l one colon normal period", "T12-L1: Normal."),
        # A range stays a range; a letter and a number with nothing spinal about them stay words.
        ("fusion from T12 to L3 period", "Fusion from T12 to L3."),
        ("from c three to c five there is fusion period", "From C3 to C5 there is fusion."),
        ("a t one weighted image period", "A T1 weighted image."),
        # MR sequences and a carotid's segments are no disc levels: written as themselves.
        ("hyperintense on t one t two and flair period", "Hyperintense on T1 T2 and FLAIR."),
        ("there is t one t two mismatch period", "There is T1 T2 mismatch."),
        ("t two flair hyperintensity period", "T2 FLAIR hyperintensity."),
        ("the lesion is t one c two period", "The lesion is t one c two."),
        ("plaque in the left ICA c six c seven segments period", "Plaque in the left ICA C6 C7 segments."),
        ("the cord signal is normal at c five c six period", "The cord signal is normal at C5-C6."),
    ],
)
def test_spine_levels_said_in_lowercase_are_levels(said: str, written: str) -> None:
    assert normalize(said) == written


@pytest.mark.parametrize(
    ("said", "written"),
    [
        ("observation is LR five period", "Observation is LR-5."),
        ("bosniak class three cyst period", "Bosniak class 3 cyst."),
        ("aspects score of seven period", "ASPECTS score of 7."),
        ("several aspects of the study period", "Several aspects of the study."),
        ("a ten french drain period", "A 10 French drain."),
        ("tmax greater than six seconds period", "Tmax greater than 6 seconds."),
        ("ribs four through seven period", "Ribs 4 through 7."),
        ("extends through one of the neural foramina period", "Extends through one of the neural foramina."),
        ("Bosniak class two F cyst period", "Bosniak class 2F cyst."),
        ("bone age by greulich and pyle period", "Bone age by Greulich and Pyle."),
        ("a hill-sachs lesion period", "A Hill-Sachs lesion."),
        ("up the hill period", "Up the hill."),
        ("the aspects score is eight period", "The ASPECTS score is 8."),
        ("the Gleason score was seven period", "The Gleason score was 7."),
        ("the level is one of concern period", "The level is one of concern."),
    ],
)
def test_scores_classes_and_sizes_are_written_as_reports_write_them(said: str, written: str) -> None:
    assert normalize(said) == written


@pytest.mark.parametrize(
    ("said", "written"),
    [
        ("I one two three uptake period", "I-123 uptake."),
        ("technetium ninety nine m MDP bone scan period", "Technetium-99m MDP bone scan."),
        ("whole body iodine one thirty one scan period", "Whole body iodine-131 scan."),
        ("F eighteen FDG period", "F-18 FDG."),
        ("indium one one one period", "Indium-111."),
        # "In" is a preposition unless a tracer's mass follows.
        ("the lesion in one of the segments period", "The lesion in one of the segments."),
    ],
)
def test_a_radiotracers_isotope_is_written_as_one_word(said: str, written: str) -> None:
    assert normalize(said) == written


@pytest.mark.parametrize(
    ("said", "written"),
    [
        ("seventy five milliliters of omnipaque three fifty period", "75 mL of Omnipaque 350."),
        (
            "prior mammograms from twenty twenty three and twenty twenty four period",
            "Prior mammograms from 2023 and 2024.",
        ),
        ("compared with twenty twenty four period", "Compared with 2024."),
        ("aspects seven period", "ASPECTS 7."),
    ],
)
def test_a_second_probes_numbers_are_written_as_reports_write_them(said: str, written: str) -> None:
    assert normalize(said) == written


@pytest.mark.parametrize(
    ("spoken", "written"),
    [
        # A third probe's spoken forms.
        (
            "last menstrual period was january tenth twenty twenty five period",
            "Last menstrual period was January 10, 2025.",
        ),
        (
            "grade one anterolisthesis of l four on l five by four millimeters period",
            "Grade 1 anterolisthesis of L4 on L5 by 4 mm.",
        ),
        (
            "fracture of the anterior inferior corner of c two period",
            "Fracture of the anterior inferior corner of C2.",
        ),
        (
            "compared to the prior from three slash fifteen slash twenty five period",
            "Compared to the prior from 3/15/25.",
        ),
        ("comparison twelve slash one slash twenty twenty four period", "Comparison: 12/1/2024."),
        ("dated january fifth twenty oh five period", "Dated January 5, 2005."),
        ("dated march fifth twenty five period", "Dated March 5, 2025."),
        (
            "fractures of the right ribs three slash four slash five period",
            "Fractures of the right ribs 3/4/5.",
        ),
        ("grade two slash four period", "Grade 2/4."),
        ("the film was obtained at oh two hundred hours period", "The film was obtained at 0200 hours."),
        ("discussed at oh seven thirty period", "Discussed at 07:30."),
        ("the nodule is oh point five centimeters period", "The nodule is 0.5 cm."),
    ],
)
def test_dates_times_levels_and_numbers_as_a_probe_said_them(spoken: str, written: str) -> None:
    assert normalize(spoken) == written


@pytest.mark.parametrize(
    ("procedure", "spoken", "written"),
    [
        (
            "CT CHEST",
            "no discreet nodule period bilateral plural effusions period",
            "No discrete nodule. Bilateral pleural effusions.",
        ),
        (
            "XR ANKLE",
            "callous formation at the fracture site period",
            "Callus formation at the fracture site.",
        ),
        ("CT PELVIS", "fracture of the left ileum period", "Fracture of the left ilium."),
        ("CT ABDOMEN", "thickening of the terminal ileum period", "Thickening of the terminal ileum."),
        ("CT ABDOMEN", "the right ileum is thickened period", "The right ileum is thickened."),
        (
            "MRI PELVIS",
            "the perineal body and perineal nerve period",
            "The perineal body and perineal nerve.",
        ),
        (
            "MRI ANKLE",
            "split tear of the perineus brevis tendon period the perineal longus tendon is intact period",
            "Split tear of the peroneus brevis tendon. The peroneus longus tendon is intact.",
        ),
        ("CT CHEST", "ground hyphen glass opacity period", "Ground-glass opacity."),
        ("MRI BRAIN", "t one slash t two mismatch period", "T1/T2 mismatch."),
    ],
)
def test_homophones_and_joining_punctuation_as_reports_write_them(
    procedure: str, spoken: str, written: str
) -> None:
    assert _written(procedure, spoken) == written


@pytest.mark.parametrize(
    ("procedure", "spoken", "written"),
    [
        ("CT HEAD", "acute left m c a infarct period", "Acute left MCA infarct."),
        ("MRI KNEE", "complete tear of the a c l period", "Complete tear of the ACL."),
        ("CTA CHEST", "the r v to l v ratio is one point three period", "The RV to LV ratio is 1.3."),
        (
            "XR CHEST",
            "the right p i c c terminates in the s v c period",
            "The right PICC terminates in the SVC.",
        ),
        ("CT CHEST", "a c t scan was performed period", "A CT scan was performed."),
        # Letters that spell nothing known stay letters.
        ("CT CHEST", "options a b and c period", "Options a b and c."),
    ],
)
def test_small_letters_said_one_by_one_spell_a_known_abbreviation(
    procedure: str, spoken: str, written: str
) -> None:
    assert _written(procedure, spoken) == written


def test_labels_of_a_procedure_note_and_its_comparison_are_headings() -> None:
    spoken = (
        "prior studies colon none period contrast colon one hundred milliliters of omnipaque three fifty "
        "period complications colon none period addendum colon reviewed with doctor smith period"
    )
    assert normalize(spoken).split("\n") == [
        "Prior studies: None.",
        "Contrast: 100 mL of Omnipaque 350.",
        "Complications: None.",
        "Addendum: Reviewed with Dr. Smith.",
    ]
    assert normalize("there is contrast in the colon period") == "There is contrast in the colon."


def _written(procedure: str, spoken: str) -> str:
    """The dictation through the whole correction (spelling, sounds, short words) and normalization."""
    engine = ScribeEngine(llm=None)
    context = StudyContext(procedure=procedure)
    return normalize(engine.corrected_text(spoken, engine.template_for(context), context))


@pytest.mark.parametrize(
    ("said", "written"),
    [
        ("clinical stage T two a N one M zero period", "Clinical stage T2a N1 M0."),
        ("p T three N x M zero period", "pT3 NX M0."),
        ("y p T two N zero period", "ypT2 N0."),
        ("the mass is T four b N two c M one period", "The mass is T4b N2c M1."),
        ("T2A N1 M0.", "T2a N1 M0."),
        # Without an N category "T two" is the vertebra.
        (
            "compression fracture of T two a small fragment period",
            "Compression fracture of T2 a small fragment.",
        ),
        ("fractures at T two and T three period", "Fractures at T2 and T3."),
    ],
)
def test_a_tnm_stage_said_aloud_is_written_as_one(said: str, written: str) -> None:
    assert normalize(said) == written


@pytest.mark.parametrize(
    ("said", "spelled", "vowel"),
    [
        ("echogenic", False, True),
        ("ulcer", False, True),
        ("unilateral", False, False),
        ("ureteral", False, False),
        ("one", False, False),
        ("hour", False, True),
        ("hernia", False, False),
        ("8", False, True),
        ("80", False, True),
        ("11", False, True),
        ("18,000", False, True),
        ("110", False, False),
        ("10", False, False),
        ("MCA", True, True),
        ("SVC", True, True),
        ("CT", True, False),
    ],
)
def test_a_word_a_number_or_spelled_letters_take_an_by_their_first_sound(
    said: str, spelled: bool, vowel: bool
) -> None:
    assert said_with_a_vowel(said, spelled=spelled) is vowel


@pytest.mark.parametrize(
    ("said", "written"),
    [
        ("tear of the superior labrum dash SLAP tear period", "Tear of the superior labrum - SLAP tear."),
        ("ground dash glass opacity period", "Ground-glass opacity."),
        ("tree dash in dash bud nodules period", "Tree-in-bud nodules."),
        ("T two dash weighted images period", "T2-weighted images."),
        ("a Salter dash Harris two fracture period", "A Salter-Harris 2 fracture."),
        ("post dash surgical changes period", "Post-surgical changes."),
        ("right dash sided effusion period", "Right-sided effusion."),
        ("follow dash up in six months period", "Follow-up in 6 months."),
        ("pre dash and post contrast images period", "Pre- and post contrast images."),
        ("a two dash millimeter hypodensity period", "A 2 mm hypodensity."),
    ],
)
def test_a_dash_said_aloud_is_a_hyphen_inside_a_word_and_a_dash_between_phrases(
    said: str, written: str
) -> None:
    assert normalize(said) == written


@pytest.mark.parametrize(
    ("said", "written"),
    [
        ("prior mammograms from march twenty twenty three period", "Prior mammograms from March 2023."),
        ("in may of twenty twenty one period", "In May of 2021."),
        ("we may see it period", "We may see it."),
        ("PET CT from march 2023 period", "PET/CT from March 2023."),
        ("cad rads four A period", "CAD-RADS 4A."),
        ("a five french double lumen PICC period", "A 5 French double lumen PICC."),
        ("p a and lateral views of the chest period", "PA and lateral views of the chest."),
    ],
)
def test_months_hybrid_studies_and_catheter_sizes_as_reports_write_them(said: str, written: str) -> None:
    assert normalize(said) == written


@pytest.mark.parametrize(
    ("said", "written"),
    [
        # A list whose commas the dictated punctuation dropped keeps its items.
        (
            "thrombus in the left common femoral vein, femoral vein, and popliteal vein period",
            "Thrombus in the left common femoral vein femoral vein and popliteal vein.",
        ),
        ("the femoral vein femoral vein and popliteal vein period", "The femoral vein and popliteal vein."),
        # A number word heard as another word right before a unit.
        ("a free centimeter lesion period", "A 3 cm lesion."),
        ("measuring ate millimeters period", "Measuring 8 mm."),
        ("there is free fluid period", "There is free fluid."),
    ],
)
def test_an_audio_probes_lists_and_numbers_as_reports_write_them(said: str, written: str) -> None:
    assert normalize(said) == written
