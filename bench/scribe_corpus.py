"""The dictation corpus for bench/scribe.py: what a radiologist says, where each sentence belongs,
and injected-error variants with the check that must catch each one.

Each case is a list of (expected section path, spoken sentence). The spoken script is these
sentences joined, each followed by "period" unless it is a command; the audio is made from the
script by espeak-ng at bench time. A path of None marks a command or a scratched sentence: it is
spoken but not expected anywhere in the draft.

Variants:
  V(code, old, new)           replace the first `old` in the spoken script with `new`
  V(code, sex="male")         same dictation, different patient sex
  V(code, procedure="...")    same dictation, different study description
  V(code, indication="")      no clinical indication in the study (nor dictated)
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class V:
    code: str
    old: str = ""
    new: str = ""
    sex: str | None = None
    procedure: str | None = None
    indication: str | None = None


@dataclass(frozen=True)
class Case:
    id: str
    procedure: str
    sex: str
    indication: str
    sentences: list[tuple[str | None, str]]
    checks: frozenset[str] = frozenset()  # checks the clean dictation must raise (real findings)
    variants: list[V] = field(default_factory=list)
    modality: str = ""

    def script(self, sentences: list[tuple[str | None, str]] | None = None) -> str:
        parts = []
        for path, spoken in sentences or self.sentences:
            if path is None and spoken in ("next section", "new paragraph"):
                parts.append(spoken)
            else:
                parts.append(f"{spoken} period")
        return " ".join(parts)


def C(
    case_id: str,
    procedure: str,
    sex: str,
    indication: str,
    sentences: list[tuple[str | None, str]],
    checks: tuple[str, ...] = (),
    variants: list[V] | None = None,
    modality: str = "",
) -> Case:
    return Case(case_id, procedure, sex, indication, sentences, frozenset(checks), variants or [], modality)


CASES: list[Case] = [
    # ---- chest radiographs ----------------------------------------------------------------------
    C(
        "cxr-normal",
        "XR CHEST PA AND LATERAL",
        "female",
        "Cough",
        [
            ("findings.lungs", "the lungs are clear"),
            ("findings.pleura", "no pleural effusion or pneumothorax"),
            ("findings.heartMediastinum", "the cardiomediastinal silhouette is normal in size"),
            ("findings.bones", "no acute osseous abnormality"),
            ("impression", "impression colon no acute cardiopulmonary abnormality"),
        ],
        variants=[
            V("critical_finding", "no pleural effusion or pneumothorax", "pleural effusion and pneumothorax"),
            V("unfilled_placeholder", indication=""),
        ],
    ),
    C(
        "cxr-pneumonia",
        "XR CHEST 2 VIEWS",
        "male",
        "Fever and cough",
        [
            ("findings.lungs", "there is consolidation in the right lower lobe"),
            ("findings.pleura", "there is a small right pleural effusion"),
            ("findings.pleura", "no pneumothorax"),
            ("findings.heartMediastinum", "the heart size is normal"),
            ("impression", "impression colon right lower lobe pneumonia with a small right pleural effusion"),
        ],
        variants=[
            V("laterality_inconsistent", "pneumonia with a small right", "pneumonia with a small left"),
            V("negation_conflict", "no pneumothorax", "no pleural effusion"),
            V("impression_omission", "pneumonia with a small right pleural effusion", "pneumonia"),
            V("critical_finding", "no pneumothorax", "small apical pneumothorax"),
        ],
    ),
    C(
        "cxr-pneumothorax",
        "XR CHEST PORTABLE",
        "male",
        "Chest pain after fall",
        [
            ("findings.pleura", "there is a large left pneumothorax"),
            ("findings.lungs", "the lungs are otherwise clear"),
            ("findings.bones", "there are acute fractures of the left fifth and sixth ribs"),
            ("findings.heartMediastinum", "the cardiomediastinal silhouette is within normal limits"),
        ],
        checks=("critical_finding",),
        variants=[
            V("unfilled_placeholder", indication=""),
        ],
    ),
    C(
        "cxr-chf",
        "XR CHEST 1 VIEW",
        "female",
        "Shortness of breath",
        [
            ("findings.heartMediastinum", "the heart is enlarged"),
            ("findings.lungs", "there is pulmonary vascular congestion with mild interstitial edema"),
            ("findings.pleura", "small bilateral pleural effusions are present"),
            (
                "findings.linesTubes",
                "a right internal jugular central venous catheter terminates in the superior vena cava",
            ),
            (
                "impression",
                "impression colon cardiomegaly with mild pulmonary edema and small bilateral "
                "pleural effusions",
            ),
        ],
        variants=[
            V(
                "impression_omission",
                "cardiomegaly with mild pulmonary edema and small bilateral pleural effusions",
                "cardiomegaly",
            ),
            V("unfilled_placeholder", indication=""),
        ],
    ),
    C(
        "cxr-nodule",
        "XR CHEST PA AND LATERAL",
        "male",
        "Smoker, follow-up",
        [
            ("findings.lungs", "there is a one point two centimeter nodule in the left upper lobe"),
            ("findings.pleura", "no pleural effusion"),
            ("findings.heartMediastinum", "normal heart size"),
            ("findings.bones", "degenerative changes of the thoracic spine"),
        ],
        variants=[
            V("unit_missing", "one point two centimeter nodule", "one point two nodule"),
            V("unit_implausible", "one point two centimeter", "twelve centimeter"),
            V("negation_conflict", "no pleural effusion", "no pulmonary nodule"),
        ],
    ),
    C(
        "cxr-lines",
        "XR CHEST PORTABLE",
        "female",
        "Line placement",
        [
            ("findings.linesTubes", "the endotracheal tube tip is five centimeters above the carina"),
            ("findings.linesTubes", "an enteric tube courses below the diaphragm"),
            ("findings.lungs", "there is mild left basilar atelectasis"),
            ("findings.pleura", "no pneumothorax"),
        ],
        variants=[
            V("unit_missing", "five centimeters above", "five above"),
            V("critical_finding", "no pneumothorax", "new pneumothorax"),
        ],
    ),
    # ---- CT head ----------------------------------------------------------------------------------
    C(
        "cth-normal",
        "CT HEAD WITHOUT CONTRAST",
        "male",
        "Headache",
        [
            ("findings.brain", "no acute intracranial hemorrhage mass effect or territorial infarct"),
            ("findings.ventricles", "the ventricles are normal in size"),
            ("findings.calvarium", "the calvarium is intact"),
            ("findings.sinuses", "the paranasal sinuses and mastoid air cells are clear"),
            ("impression", "impression colon no acute intracranial abnormality"),
        ],
        variants=[
            V("critical_finding", "no acute intracranial hemorrhage", "acute intracranial hemorrhage"),
            V("unfilled_placeholder", indication=""),
        ],
    ),
    C(
        "cth-sdh",
        "CT HEAD WO CONTRAST",
        "female",
        "Fall on anticoagulation",
        [
            (
                "findings.extraAxial",
                "there is an acute right subdural hematoma measuring eight millimeters in thickness",
            ),
            ("findings.ventricles", "there is four millimeters of leftward midline shift"),
            ("findings.brain", "no intraparenchymal hemorrhage"),
            ("findings.calvarium", "no skull fracture"),
            (
                "impression",
                "impression colon acute right subdural hematoma with four millimeters of midline shift",
            ),
        ],
        checks=("critical_finding",),
        variants=[
            V("laterality_inconsistent", "impression colon acute right", "impression colon acute left"),
            V("unit_missing", "eight millimeters in thickness", "eight in thickness"),
            V("negation_conflict", "no intraparenchymal hemorrhage", "no subdural hematoma"),
        ],
    ),
    C(
        "cth-microvascular",
        "CT BRAIN NONCONTRAST",
        "female",
        "Dizziness",
        [
            (
                "findings.brain",
                "there are patchy periventricular white matter hypodensities consistent with "
                "chronic microvascular ischemic changes",
            ),
            ("findings.brain", "mild generalized volume loss"),
            ("findings.extraAxial", "no extra-axial fluid collection"),
            ("findings.sinuses", "mucosal thickening in the left maxillary sinus"),
        ],
        variants=[
            V("critical_finding", "no extra-axial fluid collection", "small extra-axial hemorrhage"),
        ],
    ),
    C(
        "cth-stroke",
        "CT HEAD STROKE PROTOCOL",
        "male",
        "Left sided weakness",
        [
            (
                "findings.brain",
                "there is loss of gray white differentiation in the right middle cerebral artery territory "
                "consistent with acute infarct",
            ),
            ("findings.brain", "no hemorrhagic transformation"),
            ("findings.ventricles", "no midline shift"),
            ("impression", "impression colon acute right middle cerebral artery territory infarct"),
        ],
        checks=("critical_finding",),
        variants=[
            V("negation_conflict", "no hemorrhagic transformation", "no acute infarct"),
            V("laterality_inconsistent", "impression colon acute right", "impression colon acute left"),
        ],
    ),
    C(
        "cth-sinus",
        "CT HEAD",
        "female",
        "Trauma",
        [
            ("findings.brain", "the brain parenchyma is normal"),
            ("findings.extraAxial", "no subdural or epidural hematoma"),
            ("findings.calvarium", "there is a nondisplaced fracture of the right parietal bone"),
            ("findings.sinuses", "there is an air fluid level in the right maxillary sinus"),
            ("impression", "impression colon nondisplaced right parietal bone fracture"),
        ],
        variants=[
            V("critical_finding", "no subdural or epidural hematoma", "small subdural hematoma"),
            V("unfilled_placeholder", indication=""),
        ],
    ),
    # ---- CT chest -------------------------------------------------------------------------------
    C(
        "ctc-nodule",
        "CT CHEST WITHOUT CONTRAST",
        "male",
        "Lung cancer screening",
        [
            ("findings.lungs", "there is a six millimeter solid nodule in the right upper lobe"),
            ("findings.lungs", "mild centrilobular emphysema"),
            ("findings.pleura", "no pleural effusion"),
            ("findings.heartMediastinum", "no mediastinal lymphadenopathy"),
            ("findings.bones", "no suspicious osseous lesion"),
            ("impression", "impression colon six millimeter right upper lobe nodule"),
        ],
        variants=[
            V("unit_missing", "six millimeter solid nodule", "six solid nodule"),
            V("unit_implausible", "six millimeter solid nodule", "sixty centimeter solid nodule"),
            V("laterality_inconsistent", "millimeter right upper lobe", "millimeter left upper lobe"),
        ],
    ),
    C(
        "ctc-mass",
        "CT CHEST WITH CONTRAST",
        "female",
        "Weight loss",
        [
            (
                "findings.lungs",
                "there is a three point four by two point eight centimeter spiculated mass "
                "in the left lower lobe",
            ),
            (
                "findings.heartMediastinum",
                "there is an enlarged left hilar lymph node measuring one point five centimeters",
            ),
            ("findings.pleura", "small left pleural effusion"),
            ("findings.bones", "no lytic or blastic lesion"),
            (
                "impression",
                "impression colon left lower lobe mass with left hilar lymphadenopathy and small left "
                "pleural effusion",
            ),
        ],
        variants=[
            V("unit_missing", "measuring one point five centimeters", "measuring one point five"),
            V("impression_omission", "lymphadenopathy and small left pleural effusion", "lymphadenopathy"),
            V(
                "laterality_inconsistent",
                "impression colon left lower lobe mass",
                "impression colon right lower lobe mass",
            ),
        ],
    ),
    C(
        "ctc-normal",
        "CT THORAX",
        "female",
        "Chronic cough",
        [
            ("findings.lungs", "the lungs are clear without consolidation or nodule"),
            ("findings.airways", "the central airways are patent"),
            ("findings.pleura", "no pleural effusion or pneumothorax"),
            ("findings.heartMediastinum", "the heart is normal in size and there is no pericardial effusion"),
            ("findings.upperAbdomen", "the visualized upper abdomen is unremarkable"),
        ],
        variants=[
            V("critical_finding", "no pleural effusion or pneumothorax", "a small pneumothorax"),
            V("unfilled_placeholder", indication=""),
        ],
    ),
    C(
        "ctc-effusion",
        "CT CHEST W CONTRAST",
        "male",
        "Dyspnea",
        [
            ("findings.pleura", "there is a moderate right pleural effusion"),
            ("findings.lungs", "adjacent compressive atelectasis of the right lower lobe"),
            ("findings.heartMediastinum", "coronary artery calcifications are present"),
            ("findings.upperAbdomen", "there is a small hiatal hernia"),
            ("impression", "impression colon moderate right pleural effusion with adjacent atelectasis"),
        ],
        variants=[
            V("laterality_inconsistent", "impression colon moderate right", "impression colon moderate left"),
            V("negation_conflict", "coronary artery calcifications are present", "no pleural effusion"),
        ],
    ),
    # ---- CT angiography chest ------------------------------------------------------------------
    C(
        "cta-pe",
        "CTA CHEST PE PROTOCOL",
        "female",
        "Chest pain and tachycardia",
        [
            (
                "findings.pulmonaryArteries",
                "there are filling defects in the right lower lobe segmental pulmonary arteries "
                "consistent with acute pulmonary embolism",
            ),
            ("findings.heart", "the right ventricle is not enlarged"),
            ("findings.aorta", "the thoracic aorta is normal in caliber"),
            ("findings.lungs", "no consolidation"),
            ("impression", "impression colon acute right lower lobe segmental pulmonary embolism"),
        ],
        checks=("critical_finding",),
        variants=[
            V("laterality_inconsistent", "impression colon acute right", "impression colon acute left"),
            V("negation_conflict", "no consolidation", "no pulmonary embolism"),
        ],
    ),
    C(
        "cta-negative",
        "CT ANGIOGRAPHY CHEST",
        "male",
        "Shortness of breath",
        [
            ("findings.pulmonaryArteries", "no pulmonary embolism"),
            ("findings.aorta", "no aortic dissection"),
            ("findings.lungs", "mild dependent atelectasis"),
            ("findings.pleura", "no pleural effusion"),
            ("impression", "impression colon no pulmonary embolism"),
        ],
        variants=[
            V("critical_finding", "no pulmonary embolism", "acute pulmonary embolism"),
            V("unfilled_placeholder", indication=""),
        ],
    ),
    C(
        "cta-dissection",
        "CTA CHEST AORTA DISSECTION PROTOCOL",
        "male",
        "Tearing chest pain",
        [
            (
                "findings.aorta",
                "there is an intimal flap in the descending thoracic aorta consistent with type B "
                "aortic dissection",
            ),
            ("findings.aorta", "the ascending aorta measures four point two centimeters"),
            ("findings.pulmonaryArteries", "no pulmonary embolism"),
            ("findings.pleura", "small left pleural effusion"),
            ("impression", "impression colon type B aortic dissection and small left pleural effusion"),
        ],
        checks=("critical_finding",),
        variants=[
            V("unit_implausible", "four point two centimeters", "forty two meters"),
            V("unit_missing", "four point two centimeters", "four point two"),
        ],
    ),
    # ---- CT abdomen and pelvis -------------------------------------------------------------------
    C(
        "ctap-liver",
        "CT ABDOMEN PELVIS WITH CONTRAST",
        "male",
        "Abdominal pain",
        [
            (
                "findings.liver",
                "there is a two point three by one point one centimeter hypodense lesion in the "
                "right hepatic lobe",
            ),
            ("findings.gallbladder", "the gallbladder is unremarkable"),
            ("findings.kidneys", "there is a four millimeter nonobstructing stone in the left kidney"),
            ("findings.bowel", "the appendix is normal"),
            ("findings.peritoneum", "no free air or free fluid"),
            ("findings.pelvicOrgans", "the prostate is enlarged"),
        ],
        variants=[
            V("sex_mismatch", sex="female"),
            V("unit_missing", "four millimeter nonobstructing", "four nonobstructing"),
            V("critical_finding", "no free air or free fluid", "free air and free fluid"),
        ],
    ),
    C(
        "ctap-appendicitis",
        "CT ABD PELVIS W CONTRAST",
        "female",
        "Right lower quadrant pain",
        [
            (
                "findings.bowel",
                "the appendix is dilated measuring one point two centimeters with periappendiceal "
                "fat stranding consistent with acute appendicitis",
            ),
            ("findings.peritoneum", "no free air"),
            ("findings.pelvicOrgans", "the uterus and ovaries are unremarkable"),
            ("findings.liver", "the liver is normal"),
            ("impression", "impression colon acute appendicitis without perforation"),
        ],
        variants=[
            V("sex_mismatch", sex="male"),
            V("critical_finding", "no free air", "free air"),
            V("unit_implausible", "one point two centimeters", "twelve meters"),
        ],
    ),
    C(
        "ctap-stone",
        "CT ABDOMEN PELVIS WITHOUT CONTRAST RENAL STONE",
        "male",
        "Left flank pain",
        [
            (
                "findings.kidneys",
                "there is a five millimeter obstructing stone at the left ureterovesical junction",
            ),
            ("findings.kidneys", "there is moderate left hydronephrosis"),
            ("findings.kidneys", "the right kidney is normal"),
            ("findings.bladder", "the bladder is unremarkable"),
            ("findings.bowel", "colonic diverticulosis without diverticulitis"),
            (
                "impression",
                "impression colon five millimeter obstructing left ureterovesical junction stone with "
                "moderate hydronephrosis",
            ),
        ],
        variants=[
            V("impression_omission", "junction stone with moderate hydronephrosis", "junction stone"),
            V(
                "laterality_inconsistent",
                "millimeter obstructing left ureterovesical junction stone with",
                "millimeter obstructing right ureterovesical junction stone with",
            ),
            V("unit_missing", "five millimeter obstructing stone", "five obstructing stone"),
        ],
    ),
    C(
        "ctap-diverticulitis",
        "CT ABDOMEN AND PELVIS",
        "female",
        "Left lower quadrant pain and fever",
        [
            (
                "findings.bowel",
                "there is wall thickening of the sigmoid colon with pericolonic inflammatory stranding "
                "consistent with acute diverticulitis",
            ),
            ("findings.peritoneum", "there is no abscess or free air"),
            ("findings.liver", "the liver is unremarkable"),
            ("findings.pelvicOrgans", "the uterus is surgically absent"),
            ("impression", "impression colon acute uncomplicated sigmoid diverticulitis"),
        ],
        variants=[
            V("sex_mismatch", sex="male"),
            V("critical_finding", "there is no abscess or free air", "there is an abscess and free air"),
        ],
    ),
    C(
        "ctap-normal",
        "CT ABDOMEN PELVIS W CONTRAST",
        "male",
        "Nausea",
        [
            ("findings.liver", "the liver is normal in size and attenuation"),
            ("findings.pancreas", "the pancreas is unremarkable"),
            ("findings.kidneys", "the kidneys enhance symmetrically without hydronephrosis"),
            ("findings.bowel", "no bowel obstruction"),
            ("findings.peritoneum", "no free fluid"),
            ("impression", "impression colon no acute abnormality in the abdomen or pelvis"),
        ],
        variants=[
            V("negation_conflict", "no free fluid", "small free fluid in the pelvis period no free fluid"),
            V("unfilled_placeholder", indication=""),
        ],
    ),
    C(
        "ctap-adrenal",
        "CT ABDOMEN WITH CONTRAST",
        "female",
        "Follow-up",
        [
            (
                "findings.adrenals",
                "there is a one point eight centimeter left adrenal nodule with low attenuation "
                "consistent with adenoma",
            ),
            ("findings.spleen", "the spleen is normal in size"),
            ("findings.vessels", "there is mild atherosclerotic calcification of the abdominal aorta"),
            ("findings.bones", "degenerative changes of the lumbar spine at L four five"),
            ("impression", "impression colon one point eight centimeter left adrenal adenoma"),
        ],
        variants=[
            V(
                "unit_missing",
                "one point eight centimeter left adrenal nodule",
                "one point eight left adrenal nodule",
            ),
            V(
                "laterality_inconsistent",
                "centimeter left adrenal adenoma",
                "centimeter right adrenal adenoma",
            ),
        ],
    ),
    C(
        "ctap-pancreatitis",
        "CT ABDOMEN PELVIS",
        "male",
        "Epigastric pain, elevated lipase",
        [
            (
                "findings.pancreas",
                "there is peripancreatic fat stranding consistent with acute interstitial pancreatitis",
            ),
            ("findings.gallbladder", "there are multiple gallstones without gallbladder wall thickening"),
            ("findings.peritoneum", "small volume free fluid in the pelvis"),
            ("findings.spleen", "the spleen is unremarkable"),
            ("impression", "impression colon acute interstitial pancreatitis and cholelithiasis"),
        ],
        variants=[
            V("impression_omission", "pancreatitis and cholelithiasis", "cholelithiasis"),
            V("critical_finding", "small volume free fluid in the pelvis", "free air in the pelvis"),
        ],
    ),
    C(
        "ctap-aaa",
        "CT ABDOMEN PELVIS ANGIOGRAM",
        "male",
        "Pulsatile mass",
        [
            (
                "findings.vessels",
                "there is an infrarenal abdominal aortic aneurysm measuring five point one centimeters",
            ),
            ("findings.vessels", "no periaortic stranding or hematoma"),
            ("findings.kidneys", "the kidneys are unremarkable"),
            ("findings.pelvicOrgans", "the prostate is normal in size"),
            ("impression", "impression colon five point one centimeter infrarenal abdominal aortic aneurysm"),
        ],
        variants=[
            V("sex_mismatch", sex="female"),
            V("unit_missing", "measuring five point one centimeters", "measuring five point one"),
            V("unit_implausible", "five point one centimeter infrarenal", "fifty one meter infrarenal"),
        ],
    ),
    # ---- MRI brain ----------------------------------------------------------------------------------
    C(
        "mrb-normal",
        "MRI BRAIN WITHOUT AND WITH CONTRAST",
        "female",
        "Headaches",
        [
            ("findings.parenchyma", "no abnormal signal or enhancement"),
            ("findings.diffusion", "no restricted diffusion"),
            ("findings.ventricles", "the ventricles are normal in size"),
            ("findings.vessels", "the major intracranial flow voids are preserved"),
            ("impression", "impression colon normal MRI of the brain"),
        ],
        variants=[
            V("critical_finding", "no restricted diffusion", "restricted diffusion in the left frontal lobe"),
            V("unfilled_placeholder", indication=""),
        ],
    ),
    C(
        "mrb-ms",
        "MRI BRAIN W WO CONTRAST",
        "female",
        "Numbness",
        [
            (
                "findings.parenchyma",
                "there are multiple ovoid periventricular T2 hyperintense lesions oriented "
                "perpendicular to the ventricles",
            ),
            ("findings.parenchyma", "one lesion in the right centrum semiovale demonstrates enhancement"),
            ("findings.diffusion", "no restricted diffusion"),
            ("findings.extraAxial", "no extra-axial collection"),
            (
                "impression",
                "impression colon multiple periventricular white matter lesions with one enhancing lesion "
                "suggestive of demyelinating disease",
            ),
        ],
        variants=[
            V("negation_conflict", "no extra-axial collection", "no enhancement"),
        ],
    ),
    C(
        "mrb-infarct",
        "MR BRAIN WITHOUT CONTRAST",
        "male",
        "Aphasia",
        [
            (
                "findings.diffusion",
                "there is restricted diffusion in the left frontal lobe consistent with acute infarct",
            ),
            ("findings.parenchyma", "mild chronic microvascular ischemic changes"),
            ("findings.extraAxial", "no extra-axial fluid collection"),
            ("findings.vessels", "the flow voids are preserved"),
            ("impression", "impression colon acute left frontal lobe infarct"),
        ],
        checks=("critical_finding",),
        variants=[
            V("laterality_inconsistent", "impression colon acute left", "impression colon acute right"),
        ],
    ),
    C(
        "mrb-pituitary",
        "MRI PITUITARY WITH CONTRAST",
        "female",
        "Elevated prolactin",
        [
            (
                "findings.sella",
                "there is a six millimeter hypoenhancing lesion in the left pituitary gland consistent "
                "with microadenoma",
            ),
            ("findings.sella", "the optic chiasm is not compressed"),
            ("findings.parenchyma", "the brain parenchyma is unremarkable"),
            ("impression", "impression colon six millimeter pituitary microadenoma"),
        ],
        variants=[
            V("unit_missing", "a six millimeter hypoenhancing", "a six hypoenhancing"),
            V("unfilled_placeholder", indication=""),
        ],
    ),
    # ---- MRI knee ------------------------------------------------------------------------------------
    C(
        "mrk-meniscus",
        "MRI LEFT KNEE WITHOUT CONTRAST",
        "male",
        "Left knee pain",
        [
            ("findings.menisci", "there is a horizontal tear of the posterior horn of the medial meniscus"),
            ("findings.ligaments", "the cruciate and collateral ligaments are intact"),
            ("findings.cartilage", "mild chondromalacia of the medial femoral condyle"),
            ("findings.joint", "small joint effusion"),
            ("impression", "impression colon horizontal tear of the posterior horn of the medial meniscus"),
        ],
        variants=[
            V("laterality_mismatch", "of the medial femoral condyle", "of the right medial femoral condyle"),
            V("negation_conflict", "small joint effusion", "small joint effusion period no joint effusion"),
        ],
    ),
    C(
        "mrk-acl",
        "MRI RIGHT KNEE",
        "female",
        "Twisting injury",
        [
            ("findings.ligaments", "there is a complete tear of the anterior cruciate ligament"),
            (
                "findings.bones",
                "there are bone contusions of the lateral femoral condyle and posterior lateral "
                "tibial plateau",
            ),
            ("findings.menisci", "the menisci are intact"),
            ("findings.joint", "there is a moderate joint effusion"),
            ("impression", "impression colon complete anterior cruciate ligament tear with bone contusions"),
        ],
        variants=[
            V("laterality_mismatch", "of the lateral femoral condyle", "of the left lateral femoral condyle"),
            V("impression_omission", "ligament tear with bone contusions", "ligament tear"),
        ],
    ),
    C(
        "mrk-normal",
        "MRI LEFT KNEE",
        "female",
        "Anterior knee pain",
        [
            ("findings.menisci", "the medial and lateral menisci are intact"),
            ("findings.ligaments", "the ligaments are intact"),
            ("findings.cartilage", "the articular cartilage is preserved"),
            ("findings.extensor", "the quadriceps and patellar tendons are intact"),
            ("findings.joint", "no joint effusion"),
        ],
        variants=[
            V("laterality_mismatch", "the ligaments are intact", "the right ligaments are intact"),
            V("unfilled_placeholder", indication=""),
        ],
    ),
    C(
        "mrk-oa",
        "MRI RIGHT KNEE WO CONTRAST",
        "male",
        "Chronic pain",
        [
            ("findings.cartilage", "there is full thickness cartilage loss in the medial compartment"),
            ("findings.menisci", "there is extrusion of the medial meniscus body by four millimeters"),
            ("findings.bones", "there is subchondral marrow edema in the medial tibial plateau"),
            ("findings.joint", "there is a popliteal cyst measuring three point one centimeters"),
            (
                "impression",
                "impression colon advanced medial compartment osteoarthritis with subchondral marrow edema "
                "and a popliteal cyst",
            ),
        ],
        variants=[
            V("unit_missing", "measuring three point one centimeters", "measuring three point one"),
            V("laterality_mismatch", "in the medial tibial plateau", "in the left medial tibial plateau"),
        ],
    ),
    # ---- MRI shoulder ---------------------------------------------------------------------------------
    C(
        "mrs-cuff",
        "MRI RIGHT SHOULDER WITHOUT CONTRAST",
        "male",
        "Shoulder pain",
        [
            (
                "findings.rotatorCuff",
                "there is a full thickness tear of the supraspinatus tendon measuring one point "
                "five centimeters",
            ),
            ("findings.labrum", "the glenoid labrum is intact"),
            ("findings.biceps", "the biceps tendon is normally located"),
            ("findings.acJoint", "there are mild degenerative changes of the acromioclavicular joint"),
            ("impression", "impression colon full thickness supraspinatus tendon tear"),
        ],
        variants=[
            V("laterality_mismatch", "the glenoid labrum is intact", "the left glenoid labrum is intact"),
            V("unit_missing", "measuring one point five centimeters", "measuring one point five"),
        ],
    ),
    C(
        "mrs-labrum",
        "MRI LEFT SHOULDER",
        "female",
        "Instability",
        [
            ("findings.labrum", "there is a tear of the anterior inferior labrum"),
            ("findings.bones", "there is a small Hill-Sachs deformity of the posterior lateral humeral head"),
            ("findings.rotatorCuff", "the rotator cuff is intact"),
            ("findings.joint", "small glenohumeral joint effusion"),
            (
                "impression",
                "impression colon anterior inferior labral tear with a small Hill-Sachs deformity",
            ),
        ],
        variants=[
            V("laterality_mismatch", "the rotator cuff is intact", "the right rotator cuff is intact"),
            V(
                "negation_conflict",
                "the rotator cuff is intact",
                "the rotator cuff is intact period no labral tear",
            ),
        ],
    ),
    C(
        "mrs-tendinosis",
        "MRI RIGHT SHOULDER",
        "female",
        "Pain with overhead activity",
        [
            ("findings.rotatorCuff", "there is mild supraspinatus tendinosis without tear"),
            ("findings.joint", "there is mild subacromial subdeltoid bursitis"),
            ("findings.labrum", "the labrum is intact"),
            ("findings.bones", "no fracture"),
        ],
        variants=[
            V("laterality_mismatch", "the labrum is intact", "the left labrum is intact"),
            V("unfilled_placeholder", indication=""),
        ],
    ),
    # ---- abdominal ultrasound --------------------------------------------------------------------------
    C(
        "usa-gallstones",
        "US ABDOMEN RIGHT UPPER QUADRANT",
        "female",
        "Right upper quadrant pain",
        [
            ("findings.gallbladder", "there are multiple mobile gallstones"),
            ("findings.gallbladder", "there is no gallbladder wall thickening or pericholecystic fluid"),
            ("findings.bileDucts", "the common bile duct measures four millimeters"),
            ("findings.liver", "the liver is normal in echotexture"),
            (
                "impression",
                "impression colon cholelithiasis without sonographic evidence of acute cholecystitis",
            ),
        ],
        variants=[
            V("unit_missing", "measures four millimeters", "measures four"),
            V("unit_implausible", "measures four millimeters", "measures four meters"),
        ],
    ),
    C(
        "usa-steatosis",
        "ULTRASOUND ABDOMEN COMPLETE",
        "male",
        "Elevated liver enzymes",
        [
            (
                "findings.liver",
                "the liver is enlarged measuring nineteen centimeters with diffusely increased "
                "echogenicity consistent with hepatic steatosis",
            ),
            ("findings.gallbladder", "the gallbladder is unremarkable"),
            (
                "findings.kidneys",
                "the right kidney measures eleven centimeters and the left kidney measures "
                "eleven point five centimeters",
            ),
            ("findings.spleen", "the spleen is normal in size"),
            ("impression", "impression colon hepatomegaly and hepatic steatosis"),
        ],
        variants=[
            V("unit_missing", "measuring nineteen centimeters", "measuring nineteen"),
            V("unfilled_placeholder", indication=""),
        ],
    ),
    C(
        "usa-hydro",
        "US ABDOMEN",
        "female",
        "Flank pain",
        [
            ("findings.kidneys", "there is moderate right hydronephrosis"),
            ("findings.kidneys", "the left kidney is normal without hydronephrosis"),
            ("findings.liver", "the liver is unremarkable"),
            ("findings.ascites", "no ascites"),
            ("impression", "impression colon moderate right hydronephrosis"),
        ],
        variants=[
            V("laterality_inconsistent", "impression colon moderate right", "impression colon moderate left"),
            V("negation_conflict", "no ascites", "no hydronephrosis on the right"),
        ],
    ),
    C(
        "usa-normal",
        "US ABDOMEN COMPLETE",
        "male",
        "Abdominal pain",
        [
            ("findings.liver", "the liver is normal in size and echotexture"),
            ("findings.gallbladder", "no gallstones"),
            ("findings.kidneys", "the kidneys are normal without hydronephrosis"),
            ("findings.aorta", "the abdominal aorta is normal in caliber"),
            ("impression", "impression colon normal abdominal ultrasound"),
        ],
        variants=[
            V("unfilled_placeholder", indication=""),
            V("negation_conflict", "no gallstones", "multiple gallstones period no gallstones"),
        ],
    ),
    # ---- screening mammography ------------------------------------------------------------------------
    C(
        "mg-negative",
        "MAMMOGRAM SCREENING BILATERAL WITH TOMOSYNTHESIS",
        "female",
        "Screening",
        [
            ("findings.composition", "the breasts are heterogeneously dense"),
            ("findings.rightBreast", "no suspicious mass or calcifications in the right breast"),
            ("findings.leftBreast", "no suspicious mass or calcifications in the left breast"),
            ("impression", "impression colon negative BI-RADS category one"),
        ],
        variants=[
            V(
                "sex_mismatch",
                "no suspicious mass or calcifications in the left breast",
                "no suspicious mass or calcifications in the left breast period the prostate is not imaged",
            ),
            V("unfilled_placeholder", indication=""),
        ],
        modality="MG",
    ),
    C(
        "mg-callback",
        "SCREENING MAMMOGRAPHY",
        "female",
        "Screening",
        [
            ("findings.composition", "there are scattered areas of fibroglandular density"),
            (
                "findings.rightBreast",
                "there is a focal asymmetry in the upper outer quadrant of the right breast",
            ),
            ("findings.leftBreast", "no suspicious findings in the left breast"),
            ("impression", "impression colon focal asymmetry in the right breast BI-RADS category zero"),
        ],
        variants=[
            V("laterality_inconsistent", "asymmetry in the right breast", "asymmetry in the left breast"),
        ],
        modality="MG",
    ),
    C(
        "mg-calcs",
        "MAMMO SCREENING",
        "female",
        "Screening",
        [
            ("findings.composition", "the breasts are extremely dense"),
            ("findings.leftBreast", "there are grouped suspicious calcifications in the left breast"),
            ("findings.rightBreast", "the right breast is negative"),
            (
                "impression",
                "impression colon grouped calcifications in the left breast BI-RADS category zero",
            ),
        ],
        variants=[
            V(
                "laterality_inconsistent",
                "calcifications in the left breast BI",
                "calcifications in the right breast BI",
            ),
        ],
        modality="MG",
    ),
    # ---- generic ------------------------------------------------------------------------------------------
    C(
        "gen-hand",
        "XR LEFT HAND 3 VIEWS",
        "male",
        "Injury",
        [
            ("findings", "there is a nondisplaced fracture of the fifth metacarpal neck"),
            ("findings", "no dislocation"),
            ("findings", "the soft tissues are unremarkable"),
            ("impression", "impression colon nondisplaced fifth metacarpal neck fracture"),
        ],
        variants=[
            V(
                "laterality_mismatch",
                "fifth metacarpal neck period no",
                "fifth metacarpal neck of the right hand period no",
            ),
            V("negation_conflict", "no dislocation", "no fracture"),
        ],
    ),
    C(
        "gen-spine",
        "MRI LUMBAR SPINE",
        "female",
        "Low back pain",
        [
            ("findings", "at L four five there is a broad based disc bulge with mild spinal canal stenosis"),
            ("findings", "at L five S one there is a left paracentral disc protrusion"),
            ("findings", "the conus terminates normally at L one"),
            (
                "impression",
                "impression colon L four five disc bulge with mild stenosis and L five S one disc protrusion",
            ),
        ],
        variants=[
            V("unfilled_placeholder", indication=""),
            V("impression_omission", "mild stenosis and L five S one disc protrusion", "mild stenosis"),
        ],
    ),
    # ---- commands: next section, new paragraph, scratch that, macros --------------------------------------
    C(
        "cmd-next-section",
        "CT HEAD WITHOUT CONTRAST",
        "female",
        "",
        [
            ("clinicalIndication", "clinical history colon fall"),
            (None, "next section"),
            ("technique", "noncontrast axial images of the head were obtained"),
            (None, "next section"),
            ("comparison", "none"),
            (None, "next section"),
            ("findings.brain", "no acute intracranial hemorrhage"),
            ("findings.ventricles", "the ventricles are normal"),
            (None, "next section"),
            ("impression", "no acute intracranial abnormality"),
        ],
        variants=[
            V("critical_finding", "no acute intracranial hemorrhage", "acute intracranial hemorrhage"),
            V("unit_missing", "the ventricles are normal", "the ventricles measure four point two"),
        ],
    ),
    C(
        "cmd-scratch",
        "XR CHEST 2 VIEWS",
        "male",
        "Cough",
        [
            (None, "there is a small left pleural effusion scratch that"),
            ("findings.pleura", "no pleural effusion"),
            ("findings.lungs", "the lungs are clear"),
            (None, "new paragraph"),
            ("impression", "impression colon no acute abnormality"),
        ],
        variants=[
            V("negation_conflict", " scratch that", ""),
        ],
    ),
    C(
        "cmd-macro",
        "XR CHEST PA AND LATERAL",
        "female",
        "Preoperative",
        [
            (None, "insert normal chest"),
            ("impression", "impression colon normal chest radiograph"),
        ],
        variants=[
            V("unfilled_placeholder", indication=""),
        ],
    ),
]
