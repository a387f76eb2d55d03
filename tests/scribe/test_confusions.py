"""Sound-alike short words put right by the words around them, and left alone where they are right."""

from __future__ import annotations

import pytest

from autoscribe.scribe import ScribeEngine, StudyContext
from autoscribe.scribe.confusions import fix_confusions


@pytest.mark.parametrize(
    ("heard", "meant"),
    [
        ("No evidence on right heart strain.", "No evidence of right heart strain."),
        ("Emboli in the right lower low arteries.", "Emboli in the right lower lobe arteries."),
        ("A nodule in the left low measuring 1 cm.", "A nodule in the left lobe measuring 1 cm."),
        # A plural written as a possessive: nothing owned follows.
        ("No abnormal cervical lymph node's.", "No abnormal cervical lymph nodes."),
        ("Height of the vertebral body's is maintained.", "Height of the vertebral body's is maintained."),
        ("The collecting system's remain decompressed.", "The collecting systems remain decompressed."),
        ("Scattered microcalcification's period", "Scattered microcalcifications period"),
        ("Multiplanar mister imaging of the brain.", "Multiplanar MR imaging of the brain."),
        ("A small amount on free fluid.", "A small amount of free fluid."),
        ("Highly suggestive on malignancy.", "Highly suggestive of malignancy."),
        (
            "Less than 50% stenosis on the right internal carotid artery.",
            "Less than 50% stenosis of the right internal carotid artery.",
        ),
        ("Fracture on the left femoral neck.", "Fracture of the left femoral neck."),
        ("MR imaging on the brain was performed.", "MR imaging of the brain was performed."),
        ("The arteries on the right lower lobe.", "The arteries of the right lower lobe."),
        ("Patchy opacities by laterally.", "Patchy opacities bilaterally."),
        ("A diffused disc bulge.", "A diffuse disc bulge."),
        ("Mild chronic small muscle ischemic disease.", "Mild chronic small vessel ischemic disease."),
        ("Continuous axial images of the head.", "Contiguous axial images of the head."),
        ("There is an nondisplaced fracture.", "There is a nondisplaced fracture."),
        ("There is a ovoid lesion. A ovoid cyst.", "There is an ovoid lesion. An ovoid cyst."),
        # An audio probe: "pneumo-" heard as "no"/"new" where no denial can stand, the "-osis" of a
        # stock phrase, and "peri-" heard as the dictated full stop.
        ("Small no thorax at the apex.", "Small pneumothorax at the apex."),
        ("Extensive new mediastinum.", "Extensive pneumomediastinum."),
        ("No no mediastinum.", "No pneumomediastinum."),
        ("Diverticulitis without diverticulitis.", "Diverticulosis without diverticulitis."),
        (
            "My lateral effusions. Recommend clinical combination.",
            "Bilateral effusions. Recommend clinical correlation.",
        ),
        ("There is period bronchial thickening.", "There is peribronchial thickening."),
        ("Bilateral period hilar opacity.", "Bilateral perihilar opacity."),
        # The sound decides, not the letter: "an ulcer" but "a ureteral", "a hernia" but "an hour".
        ("A ulcer crater. A ureteral stent.", "An ulcer crater. A ureteral stent."),
        ("An hernia. A hour later. An xray.", "A hernia. An hour later. An xray."),
        # A known abbreviation is said letter by letter.
        (
            "A hcc in segment 7. An usual finding. A us of the abdomen.",
            "An hcc in segment 7. A usual finding. A us of the abdomen.",
        ),
        ("There is a small light effusion.", "There is a small right effusion."),
        ("Acute light lower lobe emboli.", "Acute right lower lobe emboli."),
        ("Mediastinal contours are within normal limit.", "Mediastinal contours are within normal limits."),
    ],
)
def test_a_misheard_short_word_is_put_right(heard: str, meant: str) -> None:
    assert fix_confusions(heard) == meant


@pytest.mark.parametrize(
    "text",
    [
        "Moderate stenosis on the left.",
        "A left low attenuation lesion.",
        "Findings consistent with Crohn's.",
        "The patient's age.",
        "The right low-lying kidney.",
        "Moderate stenosis on the left period",
        "The fracture is best seen on the lateral view.",
        "Fracture on the frontal radiograph.",
        "Thickening on the right side.",
        "Findings on the prior study are unchanged.",
        "Contrast diffused into the soft tissues.",
        "The patient is on anticoagulation.",
        "A fall on outstretched hand.",
        "Images on the delayed series.",
        "Small muscle tear of the calf.",
        "Findings at light microscopy. A light touch.",
        "Nodules in the right upper lobe are stable. The soft tissue are",  # the verb decides nothing
        "Fracture on the right is healing. Pleural thickening on the right greater than left.",
        "Occlusion on the CTA. No evidence on this exam of embolism. A greater amount on the right.",
        "Segments a and b. A euthyroid goiter. Contrast diffused in the soft tissues. Mister Jones.",
        "Continuous wave Doppler.",
        "Stanford type A aortic dissection.",
        "Hepatitis a infection. An MRI and an x-ray. An hour. A one cm nodule. A unilateral finding.",
        # A denial that may have lost its "pneumo" stays a denial; a stop said with its stop stays.
        "No thorax. No effusion and no thorax. The nodule is stable period. Hilar nodes are normal.",
        # After a word a sentence ends with, "period" is the stop (a review).
        "No pleural effusion period vascular calcifications are noted. The heart is normal period cardiac.",
    ],
)
def test_words_that_are_right_stay(text: str) -> None:
    assert fix_confusions(text) == text


def test_the_engine_puts_them_right_before_the_draft() -> None:
    result = ScribeEngine(llm=None).from_text(
        "Findings. There is an acute fracture on the left femoral neck. No evidence on dislocation.",
        StudyContext(procedure="XR HIP LEFT", modality="CR"),
    )
    assert "fracture of the left femoral neck" in result.text
    assert "No evidence of dislocation" in result.text
