"""Report templates: the built-in ones per procedure family, automatic choice, vocabulary, MRRT.

A template has the five report sections (keys shared with the reports service) and, under
Findings, organ subsections, each with a normal default sentence and the words that route a
dictated sentence to it. Clinic-defined templates (stored per clinic, see `service.py`) use the
same shape and can be imported from / exported to IHE MRRT (HTML5) documents.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from html.parser import HTMLParser

from autoscribe.scribe.types import (
    CLINICAL_INDICATION,
    COMPARISON,
    FINDINGS,
    IMPRESSION,
    PLACEHOLDER,
    SECTION_TITLES,
    TECHNIQUE,
    OrganTemplate,
    SectionTemplate,
    Template,
)

# Around the template's normal sentences in the speech model's prompt (see vocabulary_prompt).
PROMPT_OPENING = "Findings colon."
PROMPT_CLOSING = "Impression colon. No acute abnormality period."
# Without a template: a sample of what a dictation sounds like.
DICTATION_STYLE_NORMAL = (
    "The study is unremarkable. No acute abnormality. The lesion measures six millimeters."
)
BASE_VOCABULARY = (
    "millimeter",
    "centimeter",
    "unremarkable",
    "hypodense",
    "hyperdense",
    "hypoechoic",
    "hyperintense",
    "enhancement",
    "consolidation",
    "atelectasis",
    "pleural effusion",
    "pneumothorax",
    "lymphadenopathy",
    "parenchyma",
    "calcification",
    "bilateral",
    "Hounsfield units",
)


def _organ(
    key: str, title: str, normal: str, *keywords: str, male: str | None = None, female: str | None = None
) -> OrganTemplate:
    return OrganTemplate(key, title, normal, tuple(keywords), normal_male=male, normal_female=female)


def _template(
    tid: str,
    name: str,
    modality: str,
    technique: str,
    organs: Sequence[OrganTemplate],
    match: Iterable[str],
    terms: Iterable[str] = (),
    description: str = "",
    impression_default: str = "",
) -> Template:
    return Template(
        id=tid,
        name=name,
        modality=modality,
        description=description or name,
        match=tuple(match),
        terms=tuple(terms),
        sections=(
            SectionTemplate(CLINICAL_INDICATION, SECTION_TITLES[CLINICAL_INDICATION], PLACEHOLDER, True),
            SectionTemplate(TECHNIQUE, SECTION_TITLES[TECHNIQUE], technique, True),
            SectionTemplate(COMPARISON, SECTION_TITLES[COMPARISON], "None.", False),
            SectionTemplate(FINDINGS, SECTION_TITLES[FINDINGS], "", True, tuple(organs)),
            SectionTemplate(IMPRESSION, SECTION_TITLES[IMPRESSION], impression_default, True),
        ),
    )


_BONES = _organ(
    "bones",
    "Bones and soft tissues",
    "No acute osseous abnormality. The soft tissues are unremarkable.",
    "bone",
    "bones",
    "osseous",
    "fracture",
    "fractures",
    "rib",
    "ribs",
    "vertebra",
    "vertebral",
    "spine",
    "lytic",
    "sclerotic",
    "soft tissue",
    "soft tissues",
    "degenerative",
    "spondylosis",
    "compression",
    "marrow",
    "subcutaneous",
    "clavicle",
    "sternum",
    "scapula",
    "osteophyte",
    "osteophytes",
    "hernia",
)

CT_HEAD = _template(
    "ct-head",
    "CT head",
    "CT",
    "Axial CT images of the head were obtained without intravenous contrast.",
    [
        _organ(
            "brain",
            "Brain parenchyma",
            "No acute intracranial hemorrhage, mass effect, or acute territorial infarct. "
            "Gray-white matter differentiation is preserved.",
            "brain",
            "parenchyma",
            "parenchymal",
            "intraparenchymal",
            "gray-white",
            "gray white",
            "infarct",
            "infarction",
            "white matter",
            "hypodensity",
            "cerebral",
            "cerebellar",
            "cerebellum",
            "lobe",
            "frontal",
            "parietal",
            "temporal",
            "occipital",
            "basal ganglia",
            "thalamus",
            "brainstem",
            "mass effect",
            "edema",
            "intracranial hemorrhage",
            "intracranial",
            "lacunar",
            "microvascular",
            "volume loss",
            "atrophy",
            "hemorrhage",
            "hemorrhagic",
            "hemorrhagic transformation",
            "middle cerebral artery",
            "territory",
            "periventricular",
        ),
        _organ(
            "extraAxial",
            "Extra-axial spaces",
            "No extra-axial fluid collection.",
            "extra-axial",
            "extra axial",
            "subdural",
            "epidural",
            "subarachnoid",
            "hematoma",
            "collection",
        ),
        _organ(
            "ventricles",
            "Ventricles and sulci",
            "The ventricles and sulci are normal in size for age. No midline shift.",
            "ventricle",
            "ventricles",
            "ventricular",
            "hydrocephalus",
            "midline shift",
            "sulci",
            "sulcal",
            "cisterns",
            "midline",
        ),
        _organ(
            "calvarium",
            "Calvarium",
            "The calvarium is intact.",
            "calvarium",
            "skull",
            "calvarial",
            "fracture",
            "scalp",
            "skull base",
        ),
        _organ(
            "sinuses",
            "Paranasal sinuses and mastoids",
            "The visualized paranasal sinuses and mastoid air cells are clear.",
            "sinus",
            "sinuses",
            "paranasal",
            "maxillary",
            "ethmoid",
            "sphenoid",
            "frontal sinus",
            "mastoid",
            "mastoids",
            "mucosal thickening",
            "orbits",
            "orbit",
            "globe",
        ),
    ],
    match=("head", "brain", "skull", "stroke", "cranial"),
    terms=(
        "intracranial hemorrhage",
        "subdural hematoma",
        "subarachnoid",
        "gray-white differentiation",
        "midline shift",
        "hydrocephalus",
        "mastoid air cells",
        "chronic microvascular ischemic changes",
    ),
)

_LUNGS = _organ(
    "lungs",
    "Lungs",
    "The lungs are clear. No consolidation or suspicious pulmonary nodule.",
    "lung",
    "lungs",
    "pulmonary nodule",
    "nodule",
    "nodules",
    "consolidation",
    "ground glass",
    "ground-glass",
    "emphysema",
    "atelectasis",
    "airspace",
    "opacity",
    "opacities",
    "lobe",
    "lobar",
    "lingula",
    "upper lobe",
    "lower lobe",
    "middle lobe",
    "pneumonia",
    "interstitial",
    "fibrosis",
    "scarring",
    "infiltrate",
    "mass",
    "bronchiectasis",
    "granuloma",
)
_PLEURA = _organ(
    "pleura",
    "Pleura",
    "No pleural effusion or pneumothorax.",
    "pleural",
    "pleura",
    "effusion",
    "effusions",
    "pneumothorax",
    "hemothorax",
    "empyema",
    "pleural thickening",
)
_MEDIASTINUM = _organ(
    "heartMediastinum",
    "Heart and mediastinum",
    "The heart is normal in size. No pericardial effusion. No mediastinal or hilar lymphadenopathy.",
    "heart",
    "cardiac",
    "cardiomegaly",
    "pericardial",
    "pericardium",
    "mediastinal",
    "mediastinum",
    "hilar",
    "hila",
    "lymphadenopathy",
    "lymph node",
    "lymph nodes",
    "aorta",
    "aortic",
    "thoracic aorta",
    "coronary",
    "thyroid",
    "esophagus",
    "ascending aorta",
)

CT_CHEST = _template(
    "ct-chest",
    "CT chest",
    "CT",
    "Axial CT images of the chest were obtained with multiplanar reformations.",
    [
        _LUNGS,
        _organ(
            "airways",
            "Airways",
            "The central airways are patent.",
            "airway",
            "airways",
            "trachea",
            "tracheal",
            "bronchus",
            "bronchi",
            "bronchial",
            "endobronchial",
            "bronchial wall thickening",
        ),
        _PLEURA,
        _MEDIASTINUM,
        _organ(
            "upperAbdomen",
            "Upper abdomen",
            "The visualized upper abdomen is unremarkable.",
            "upper abdomen",
            "liver",
            "hepatic",
            "spleen",
            "adrenal",
            "adrenals",
            "kidney",
            "kidneys",
            "gallbladder",
            "stomach",
            "pancreas",
            "hiatal hernia",
        ),
        _BONES,
    ],
    match=("chest", "thorax", "thoracic", "lung", "lungs"),
    terms=(
        "pulmonary nodule",
        "ground-glass opacity",
        "emphysema",
        "bronchiectasis",
        "lymphadenopathy",
        "pericardial effusion",
        "Fleischner",
    ),
)

CTA_CHEST = _template(
    "cta-chest",
    "CT angiography chest",
    "CT",
    "CT angiography of the chest was performed with intravenous contrast according to the pulmonary "
    "embolism protocol, with multiplanar and maximum intensity projection reformations.",
    [
        _organ(
            "pulmonaryArteries",
            "Pulmonary arteries",
            "No pulmonary embolism to the subsegmental level.",
            "pulmonary embolism",
            "pulmonary emboli",
            "embolism",
            "embolus",
            "emboli",
            "filling defect",
            "pulmonary artery",
            "pulmonary arteries",
            "main pulmonary artery",
            "segmental",
            "subsegmental",
            "saddle",
            "thrombus",
            "clot",
            "lobar arteries",
        ),
        _organ(
            "aorta",
            "Aorta",
            "The thoracic aorta is normal in caliber without dissection.",
            "aorta",
            "aortic",
            "dissection",
            "aneurysm",
            "intramural hematoma",
            "intimal flap",
            "aortic arch",
            "ascending aorta",
            "descending aorta",
        ),
        _organ(
            "heart",
            "Heart",
            "The heart is normal in size. The RV to LV ratio is less than 1. No pericardial effusion.",
            "heart",
            "cardiac",
            "right ventricle",
            "ventricle",
            "rv",
            "lv",
            "right heart strain",
            "pericardial",
            "cardiomegaly",
            "interventricular septum",
            "strain",
        ),
        _LUNGS,
        _PLEURA,
        _organ(
            "mediastinum",
            "Mediastinum",
            "No mediastinal or hilar lymphadenopathy.",
            "mediastinal",
            "mediastinum",
            "hilar",
            "lymphadenopathy",
            "lymph node",
            "lymph nodes",
            "esophagus",
            "thyroid",
        ),
        _BONES,
    ],
    match=(
        "pe protocol",
        "pulmonary embolism",
        "pe",
        "pulmonary angiogram",
        "chest",
        "thorax",
        "thoracic aorta",
        "dissection",
    ),
    terms=(
        "pulmonary embolism",
        "filling defect",
        "segmental",
        "subsegmental",
        "RV to LV ratio",
        "right heart strain",
        "aortic dissection",
        "intimal flap",
    ),
)

CT_ABDOMEN_PELVIS = _template(
    "ct-abdomen-pelvis",
    "CT abdomen and pelvis",
    "CT",
    "Axial CT images of the abdomen and pelvis were obtained with intravenous contrast, "
    "with coronal and sagittal reformations.",
    [
        _organ(
            "lungBases",
            "Lung bases",
            "The visualized lung bases are clear.",
            "lung base",
            "lung bases",
            "bibasilar",
            "basilar",
            "lower lobe",
            "lower lobes",
            "lungs",
        ),
        _organ(
            "liver",
            "Liver",
            "The liver is normal in size and attenuation without focal lesion.",
            "liver",
            "hepatic",
            "hepatomegaly",
            "steatosis",
            "hepatic lobe",
            "segment",
            "cirrhosis",
            "fatty infiltration",
            "portal vein",
            "hepatic lesion",
            "hemangioma",
        ),
        _organ(
            "gallbladder",
            "Gallbladder and bile ducts",
            "The gallbladder is unremarkable. No biliary ductal dilatation.",
            "gallbladder",
            "gallstone",
            "gallstones",
            "cholelithiasis",
            "cholecystitis",
            "biliary",
            "bile duct",
            "common bile duct",
            "cholecystectomy",
            "pericholecystic",
            "choledocholithiasis",
        ),
        _organ(
            "pancreas",
            "Pancreas",
            "The pancreas is unremarkable.",
            "pancreas",
            "pancreatic",
            "pancreatitis",
            "pancreatic duct",
            "peripancreatic",
        ),
        _organ(
            "spleen",
            "Spleen",
            "The spleen is normal in size.",
            "spleen",
            "splenic",
            "splenomegaly",
            "splenule",
        ),
        _organ(
            "adrenals",
            "Adrenal glands",
            "The adrenal glands are unremarkable.",
            "adrenal",
            "adrenals",
            "adrenal gland",
            "adrenal glands",
            "adrenal nodule",
            "adenoma",
        ),
        _organ(
            "kidneys",
            "Kidneys and ureters",
            "The kidneys enhance symmetrically. No hydronephrosis or renal calculus.",
            "kidney",
            "kidneys",
            "renal",
            "hydronephrosis",
            "ureter",
            "ureteral",
            "ureters",
            "nephrolithiasis",
            "calculus",
            "stone",
            "stones",
            "ureterovesical",
            "hydroureter",
            "perinephric",
            "cortical cyst",
            "bosniak",
            "ureteropelvic",
        ),
        _organ(
            "bladder",
            "Urinary bladder",
            "The urinary bladder is unremarkable.",
            "bladder",
            "urinary bladder",
            "bladder wall",
        ),
        _organ(
            "pelvicOrgans",
            "Pelvic organs",
            "The pelvic organs are unremarkable.",
            "prostate",
            "uterus",
            "uterine",
            "ovary",
            "ovaries",
            "ovarian",
            "adnexa",
            "adnexal",
            "seminal",
            "endometrium",
            "endometrial",
            "fibroid",
            "fibroids",
            "pelvic organs",
            male="The prostate and seminal vesicles are unremarkable.",
            female="The uterus and adnexa are unremarkable.",
        ),
        _organ(
            "bowel",
            "Bowel",
            "No bowel obstruction or bowel wall thickening. The appendix is normal.",
            "bowel",
            "small bowel",
            "large bowel",
            "colon",
            "colonic",
            "sigmoid",
            "cecum",
            "appendix",
            "appendicitis",
            "appendiceal",
            "diverticulosis",
            "diverticulitis",
            "diverticula",
            "obstruction",
            "bowel wall",
            "stomach",
            "duodenum",
            "ileum",
            "jejunum",
            "rectum",
            "terminal ileum",
            "wall thickening",
        ),
        _organ(
            "peritoneum",
            "Peritoneum",
            "No free air or free fluid.",
            "free air",
            "free fluid",
            "ascites",
            "pneumoperitoneum",
            "peritoneal",
            "peritoneum",
            "intraperitoneal",
            "fluid collection",
            "abscess",
            "mesenteric",
            "mesentery",
            "extraluminal",
        ),
        _organ(
            "vessels",
            "Vessels",
            "The abdominal aorta is normal in caliber.",
            "abdominal aorta",
            "aorta",
            "aortic",
            "aneurysm",
            "iliac",
            "inferior vena cava",
            "ivc",
            "vascular",
            "atherosclerotic",
            "calcifications",
            "mesenteric artery",
            "periaortic",
            "infrarenal",
            "aortic aneurysm",
        ),
        _organ(
            "lymphNodes",
            "Lymph nodes",
            "No abdominal or pelvic lymphadenopathy.",
            "lymph node",
            "lymph nodes",
            "lymphadenopathy",
            "retroperitoneal",
            "para-aortic",
            "adenopathy",
        ),
        _BONES,
    ],
    match=("abdomen", "abdominal", "pelvis", "pelvic", "abd", "renal stone", "appendicitis", "flank"),
    terms=(
        "hypodense lesion",
        "cholelithiasis",
        "hydronephrosis",
        "nephrolithiasis",
        "diverticulitis",
        "appendicitis",
        "pneumoperitoneum",
        "free fluid",
        "lymphadenopathy",
        "seminal vesicles",
        "adnexa",
    ),
)

CHEST_XRAY = _template(
    "xr-chest",
    "Chest X-ray",
    "XR",
    "Frontal and lateral radiographs of the chest.",
    [
        _organ(
            "lungs",
            "Lungs",
            "The lungs are clear.",
            "lung",
            "lungs",
            "consolidation",
            "opacity",
            "opacities",
            "airspace",
            "atelectasis",
            "nodule",
            "nodules",
            "mass",
            "pneumonia",
            "infiltrate",
            "interstitial",
            "edema",
            "lobe",
            "upper lobe",
            "lower lobe",
            "middle lobe",
            "lingula",
            "lung base",
            "lung bases",
            "hyperinflated",
            "vascular congestion",
            "perihilar",
        ),
        _organ(
            "pleura",
            "Pleura",
            "No pleural effusion or pneumothorax.",
            "pleural",
            "pleura",
            "effusion",
            "effusions",
            "pneumothorax",
            "costophrenic",
            "blunting",
        ),
        _organ(
            "heartMediastinum",
            "Heart and mediastinum",
            "The cardiomediastinal silhouette is normal in size and contour.",
            "heart",
            "cardiac",
            "cardiomegaly",
            "cardiomediastinal",
            "silhouette",
            "mediastinal",
            "mediastinum",
            "hilar",
            "aortic",
            "aorta",
            "tortuous",
            "widened mediastinum",
            "cardiac silhouette",
        ),
        _organ(
            "bones",
            "Bones",
            "No acute osseous abnormality.",
            "bone",
            "bones",
            "osseous",
            "fracture",
            "fractures",
            "rib",
            "ribs",
            "clavicle",
            "spine",
            "degenerative",
            "shoulder",
            "soft tissue",
            "soft tissues",
            "subcutaneous emphysema",
        ),
        _organ(
            "linesTubes",
            "Lines and tubes",
            "No lines or tubes.",
            "line",
            "lines",
            "tube",
            "tubes",
            "catheter",
            "endotracheal",
            "enteric tube",
            "picc",
            "pacemaker",
            "central venous",
            "tip",
            "leads",
            "nasogastric",
            "port",
        ),
    ],
    match=("chest", "cxr", "thorax", "pa and lateral", "portable chest", "2 views", "two views", "1 view"),
    terms=(
        "cardiomediastinal silhouette",
        "costophrenic angle",
        "airspace opacity",
        "pneumothorax",
        "endotracheal tube",
        "PICC",
    ),
)

MRI_BRAIN = _template(
    "mri-brain",
    "MRI brain",
    "MR",
    "Multiplanar multisequence MR images of the brain were obtained including diffusion-weighted imaging.",
    [
        _organ(
            "parenchyma",
            "Brain parenchyma",
            "Normal gray-white matter differentiation. No mass, mass effect, or abnormal signal.",
            "parenchyma",
            "parenchymal",
            "white matter",
            "gray-white",
            "flair",
            "t2",
            "hyperintensity",
            "hyperintensities",
            "lesion",
            "lesions",
            "mass",
            "mass effect",
            "enhancing",
            "enhancement",
            "lobe",
            "frontal",
            "parietal",
            "temporal",
            "occipital",
            "cerebellar",
            "cerebellum",
            "brainstem",
            "basal ganglia",
            "thalamus",
            "demyelinating",
            "gliosis",
            "edema",
            "microvascular",
            "volume loss",
            "hemorrhage",
            "microhemorrhage",
            "metastasis",
            "metastases",
            "brain",
        ),
        _organ(
            "diffusion",
            "Diffusion",
            "No restricted diffusion to suggest acute infarct.",
            "diffusion",
            "restricted diffusion",
            "restricts",
            "infarct",
            "infarction",
            "dwi",
            "adc",
            "ischemia",
            "acute infarct",
        ),
        _organ(
            "extraAxial",
            "Extra-axial spaces",
            "No extra-axial fluid collection.",
            "extra-axial",
            "extra axial",
            "subdural",
            "epidural",
            "subarachnoid",
            "meningioma",
            "dural",
            "collection",
            "hygroma",
        ),
        _organ(
            "ventricles",
            "Ventricles",
            "The ventricles are normal in size. No midline shift.",
            "ventricle",
            "ventricles",
            "ventricular",
            "hydrocephalus",
            "midline shift",
            "sulci",
            "cisterns",
        ),
        _organ(
            "vessels",
            "Vessels",
            "The major intracranial flow voids are preserved.",
            "flow void",
            "flow voids",
            "vessel",
            "vessels",
            "vascular",
            "aneurysm",
            "venous sinus",
            "artery",
            "carotid",
            "basilar",
        ),
        _organ(
            "sella",
            "Sella and pituitary",
            "The sella and pituitary gland are unremarkable.",
            "sella",
            "sellar",
            "pituitary",
            "suprasellar",
            "optic chiasm",
            "microadenoma",
            "macroadenoma",
        ),
        _organ(
            "sinusesOrbits",
            "Orbits, sinuses and mastoids",
            "The orbits are unremarkable. The paranasal sinuses and mastoid air cells are clear.",
            "orbit",
            "orbits",
            "orbital",
            "globe",
            "sinus",
            "sinuses",
            "paranasal",
            "mastoid",
            "mastoids",
            "maxillary",
            "ethmoid",
            "sphenoid",
            "mucosal thickening",
            "calvarium",
            "skull",
            "marrow",
        ),
    ],
    match=("brain", "head", "mri brain", "iac", "pituitary", "stroke"),
    terms=(
        "FLAIR hyperintensity",
        "restricted diffusion",
        "flow voids",
        "microvascular ischemic changes",
        "enhancement",
        "extra-axial",
        "pituitary",
        "demyelinating",
    ),
)

MRI_KNEE = _template(
    "mri-knee",
    "MRI knee",
    "MR",
    "Multiplanar multisequence MR images of the knee were obtained without contrast.",
    [
        _organ(
            "menisci",
            "Menisci",
            "The medial and lateral menisci are intact.",
            "meniscus",
            "menisci",
            "meniscal",
            "medial meniscus",
            "lateral meniscus",
            "posterior horn",
            "anterior horn",
            "body",
            "tear",
            "bucket handle",
            "radial tear",
            "horizontal tear",
            "root",
            "extrusion",
        ),
        _organ(
            "ligaments",
            "Ligaments",
            "The anterior and posterior cruciate ligaments and the collateral ligaments are intact.",
            "ligament",
            "ligaments",
            "cruciate",
            "anterior cruciate",
            "acl",
            "posterior cruciate",
            "pcl",
            "collateral",
            "medial collateral",
            "mcl",
            "lateral collateral",
            "lcl",
            "sprain",
            "posterolateral corner",
            "graft",
        ),
        _organ(
            "cartilage",
            "Cartilage",
            "The articular cartilage is preserved.",
            "cartilage",
            "chondral",
            "chondromalacia",
            "chondrosis",
            "articular",
            "fissuring",
            "patellofemoral",
            "trochlea",
            "trochlear",
            "full thickness",
            "partial thickness",
            "cartilage loss",
            "femoral condyle",
            "medial compartment",
            "lateral compartment",
        ),
        _organ(
            "extensor",
            "Extensor mechanism",
            "The quadriceps and patellar tendons are intact.",
            "quadriceps",
            "patellar tendon",
            "extensor",
            "tendinosis",
            "tendinopathy",
            "patella alta",
            "tendon",
        ),
        _organ(
            "bones",
            "Bones",
            "No fracture or marrow edema.",
            "bone",
            "bones",
            "marrow",
            "bone marrow",
            "edema",
            "contusion",
            "contusions",
            "fracture",
            "osteochondral",
            "femoral condyle",
            "tibial plateau",
            "femur",
            "tibia",
            "fibula",
            "patella",
            "bone bruise",
            "subchondral",
            "osteophyte",
            "osteophytes",
        ),
        _organ(
            "joint",
            "Joint and soft tissues",
            "No joint effusion. No popliteal cyst.",
            "effusion",
            "joint effusion",
            "baker",
            "popliteal",
            "baker cyst",
            "synovitis",
            "synovial",
            "bursitis",
            "bursa",
            "loose body",
            "plica",
            "soft tissues",
            "hoffa",
            "ganglion",
        ),
    ],
    match=("knee",),
    terms=(
        "medial meniscus",
        "lateral meniscus",
        "posterior horn",
        "anterior cruciate ligament",
        "medial collateral ligament",
        "chondromalacia",
        "bone marrow edema",
        "joint effusion",
    ),
)

MRI_SHOULDER = _template(
    "mri-shoulder",
    "MRI shoulder",
    "MR",
    "Multiplanar multisequence MR images of the shoulder were obtained without contrast.",
    [
        _organ(
            "rotatorCuff",
            "Rotator cuff",
            "The rotator cuff tendons are intact.",
            "rotator cuff",
            "supraspinatus",
            "infraspinatus",
            "subscapularis",
            "teres minor",
            "tendinosis",
            "tendinopathy",
            "full thickness",
            "partial thickness",
            "tear",
            "cuff",
            "tendon",
            "atrophy",
            "muscle",
        ),
        _organ(
            "labrum",
            "Labrum",
            "The glenoid labrum is intact.",
            "labrum",
            "labral",
            "slap",
            "glenoid labrum",
            "bankart",
            "paralabral",
            "superior labrum",
        ),
        _organ(
            "biceps",
            "Biceps tendon",
            "The long head of the biceps tendon is normally located and intact.",
            "biceps",
            "long head",
            "bicipital",
            "biceps tendon",
            "subluxation",
        ),
        _organ(
            "acJoint",
            "Acromioclavicular joint",
            "The acromioclavicular joint is unremarkable.",
            "acromioclavicular",
            "ac joint",
            "acromion",
            "acromial",
            "impingement",
            "os acromiale",
            "clavicle",
        ),
        _organ(
            "bones",
            "Bones",
            "No fracture or marrow edema.",
            "bone",
            "bones",
            "marrow",
            "edema",
            "fracture",
            "humeral head",
            "humerus",
            "glenoid",
            "hill-sachs",
            "hill sachs",
            "contusion",
            "cyst",
            "osteoarthritis",
            "cartilage",
            "chondral",
        ),
        _organ(
            "joint",
            "Joint and bursae",
            "No glenohumeral joint effusion. No subacromial bursitis.",
            "effusion",
            "joint effusion",
            "bursa",
            "bursitis",
            "subacromial",
            "subdeltoid",
            "glenohumeral",
            "capsule",
            "capsular",
            "adhesive capsulitis",
            "synovitis",
        ),
    ],
    match=("shoulder", "rotator", "glenohumeral"),
    terms=(
        "supraspinatus",
        "infraspinatus",
        "subscapularis",
        "glenoid labrum",
        "SLAP tear",
        "acromioclavicular joint",
        "subacromial bursitis",
        "Hill-Sachs",
    ),
)

US_ABDOMEN = _template(
    "us-abdomen",
    "Ultrasound abdomen",
    "US",
    "Grayscale and color Doppler ultrasound images of the abdomen were obtained.",
    [
        _organ(
            "liver",
            "Liver",
            "The liver is normal in size and echotexture without focal lesion.",
            "liver",
            "hepatic",
            "echotexture",
            "echogenic",
            "echogenicity",
            "steatosis",
            "hepatomegaly",
            "cirrhosis",
            "hepatic lesion",
            "hemangioma",
            "portal vein",
            "hepatic lobe",
        ),
        _organ(
            "gallbladder",
            "Gallbladder",
            "The gallbladder is unremarkable without gallstones or wall thickening.",
            "gallbladder",
            "gallstone",
            "gallstones",
            "cholelithiasis",
            "sludge",
            "cholecystitis",
            "murphy",
            "pericholecystic",
            "gallbladder wall",
            "polyp",
            "cholecystectomy",
        ),
        _organ(
            "bileDucts",
            "Bile ducts",
            "The common bile duct is normal in caliber.",
            "bile duct",
            "common bile duct",
            "cbd",
            "biliary",
            "intrahepatic",
            "ductal dilatation",
            "choledocholithiasis",
            "common duct",
        ),
        _organ(
            "pancreas",
            "Pancreas",
            "The visualized pancreas is unremarkable.",
            "pancreas",
            "pancreatic",
            "bowel gas",
        ),
        _organ("spleen", "Spleen", "The spleen is normal in size.", "spleen", "splenic", "splenomegaly"),
        _organ(
            "kidneys",
            "Kidneys",
            "The kidneys are normal in size without hydronephrosis or stones.",
            "kidney",
            "kidneys",
            "renal",
            "hydronephrosis",
            "stone",
            "stones",
            "calculus",
            "nephrolithiasis",
            "cortical",
            "cyst",
            "cysts",
            "corticomedullary",
            "pole",
        ),
        _organ(
            "aorta",
            "Aorta and IVC",
            "The visualized abdominal aorta and IVC are normal in caliber.",
            "aorta",
            "aortic",
            "aneurysm",
            "ivc",
            "inferior vena cava",
            "abdominal aorta",
        ),
        _organ("ascites", "Peritoneum", "No ascites.", "ascites", "free fluid", "fluid", "collection"),
    ],
    match=("abdomen", "abdominal", "ruq", "right upper quadrant", "liver", "gallbladder", "renal", "kidney"),
    terms=(
        "echotexture",
        "echogenic",
        "cholelithiasis",
        "sludge",
        "sonographic Murphy sign",
        "common bile duct",
        "hydronephrosis",
        "Doppler",
    ),
)

MAMMO_SCREENING = _template(
    "mg-screening",
    "Screening mammography",
    "MG",
    "Bilateral craniocaudal and mediolateral oblique views with digital breast tomosynthesis.",
    [
        _organ(
            "composition",
            "Breast composition",
            "The breasts are heterogeneously dense, which may obscure small masses.",
            "dense",
            "density",
            "fibroglandular",
            "fatty",
            "composition",
            "scattered",
            "heterogeneously",
            "extremely dense",
            "almost entirely fatty",
        ),
        _organ(
            "rightBreast",
            "Right breast",
            "No suspicious mass, calcifications, or architectural distortion in the right breast.",
            "right breast",
            "right",
            "right axilla",
        ),
        _organ(
            "leftBreast",
            "Left breast",
            "No suspicious mass, calcifications, or architectural distortion in the left breast.",
            "left breast",
            "left",
            "left axilla",
        ),
        _organ(
            "axillae",
            "Axillae",
            "No axillary lymphadenopathy.",
            "axilla",
            "axillary",
            "axillae",
            "lymph node",
            "lymph nodes",
            "lymphadenopathy",
        ),
    ],
    match=("mammogram", "mammography", "mammo", "screening", "breast", "tomosynthesis"),
    terms=(
        "BI-RADS",
        "fibroglandular",
        "architectural distortion",
        "calcifications",
        "asymmetry",
        "craniocaudal",
        "mediolateral oblique",
        "tomosynthesis",
    ),
    impression_default="",
)

GENERIC = Template(
    id="generic",
    name="General report",
    modality="",
    description="Fallback for procedures without a dedicated template",
    match=(),
    terms=(),
    sections=(
        SectionTemplate(CLINICAL_INDICATION, SECTION_TITLES[CLINICAL_INDICATION], PLACEHOLDER, True),
        SectionTemplate(TECHNIQUE, SECTION_TITLES[TECHNIQUE], "Imaging was performed as described.", True),
        SectionTemplate(COMPARISON, SECTION_TITLES[COMPARISON], "None.", False),
        SectionTemplate(FINDINGS, SECTION_TITLES[FINDINGS], "", True),
        SectionTemplate(IMPRESSION, SECTION_TITLES[IMPRESSION], "", True),
    ),
)

BUILTIN_TEMPLATES: tuple[Template, ...] = (
    CT_HEAD,
    CT_CHEST,
    CTA_CHEST,
    CT_ABDOMEN_PELVIS,
    CHEST_XRAY,
    MRI_BRAIN,
    MRI_KNEE,
    MRI_SHOULDER,
    US_ABDOMEN,
    MAMMO_SCREENING,
    GENERIC,
)

# Built-in macros: spoken "insert <name>" / "macro <name>" expands to the text.
BUILTIN_MACROS: dict[str, str] = {
    "normal chest": "The lungs are clear. No pleural effusion or pneumothorax. "
    "The cardiomediastinal silhouette is normal. No acute osseous abnormality.",
    "normal head": "No acute intracranial hemorrhage, mass effect, or territorial infarct. "
    "The ventricles are normal in size. The calvarium is intact.",
    "normal abdomen": "The liver, gallbladder, pancreas, spleen, adrenal glands and kidneys are "
    "unremarkable. No bowel obstruction. No free air or free fluid.",
}


def builtin_template(template_id: str) -> Template | None:
    return next((t for t in BUILTIN_TEMPLATES if t.id == template_id), None)


# ---- choosing a template --------------------------------------------------------------------------

_MODALITY_WORDS = {
    "CT": ("ct", "cta", "computed tomography", "cat scan"),
    "MR": ("mri", "mr", "mra", "magnetic resonance"),
    "XR": (
        "xr",
        "x-ray",
        "xray",
        "x ray",
        "radiograph",
        "radiographs",
        "cxr",
        "dx",
        "cr",
        "pa and lateral",
        "portable",
        "views",
        "view",
        "film",
    ),
    "US": ("us", "ultrasound", "sonogram", "sonography", "sono", "doppler", "duplex"),
    "MG": ("mg", "mammogram", "mammography", "mammo", "tomosynthesis"),
}
# DICOM modality codes → our families.
_DICOM_MODALITY = {"CT": "CT", "MR": "MR", "CR": "XR", "DX": "XR", "XR": "XR", "US": "US", "MG": "MG"}
_ANGIO_WORDS = ("cta", "angiography", "angiogram", "pe protocol", "pulmonary embolism", "dissection")


def _words_in(text: str, phrases: Iterable[str]) -> list[str]:
    return [p for p in phrases if re.search(rf"(?<![a-z0-9]){re.escape(p)}(?![a-z0-9])", text)]


def detect_modality(procedure: str, modality: str = "") -> str:
    """The modality family (CT, MR, XR, US, MG) of a study, or "" when neither field says."""
    code = _DICOM_MODALITY.get(modality.strip().upper())
    if code:
        return code
    text = procedure.lower()
    for family, words in _MODALITY_WORDS.items():
        if _words_in(text, words):
            return family
    return ""


def choose_template(
    procedure: str,
    description: str = "",
    modality: str = "",
    templates: Sequence[Template] | None = None,
) -> Template:
    """The best template for a study: modality family first, then procedure words; generic otherwise.

    `templates` lets a clinic's own templates compete with (and, on ties, win over) the built-ins.
    """
    candidates = list(templates) if templates is not None else []
    candidates += [t for t in BUILTIN_TEMPLATES if t.id not in {c.id for c in candidates}]
    text = f"{procedure} {description}".lower()
    family = detect_modality(text, modality)
    angio = bool(_words_in(text, _ANGIO_WORDS))
    best: tuple[float, int, Template] | None = None
    for order, template in enumerate(candidates):
        if template.id == GENERIC.id or not template.match:
            continue
        if template.modality and family and template.modality != family:
            continue
        hits = _words_in(text, template.match)
        if not hits:
            continue
        score = float(sum(len(h.split()) for h in hits))
        if template.modality and template.modality == family:
            score += 0.5
        if angio and template.id == CTA_CHEST.id and family in ("CT", ""):
            score += 2
        if angio and template.id == CT_CHEST.id:
            score -= 1
        if not template.builtin:
            score += 0.25  # a clinic's template beats the built-in one for the same words
        if best is None or score > best[0] or (score == best[0] and order < best[1]):
            best = (score, order, template)
    if best is not None:
        return best[2]
    return next((t for t in candidates if t.id == GENERIC.id), GENERIC)


def spoken_style(text: str) -> str:
    """Report text as a radiologist dictates it: "No effusion. Heart normal." → "No effusion period.
    Heart normal period." (commas are not dictated: the model then adds none of its own)."""
    text = re.sub(r"\.(?=\s|$)", " period.", text.replace(",", ""))
    return re.sub(r"\s+", " ", text).strip()


def vocabulary_prompt(template: Template | None = None, extra: Iterable[str] = (), limit: int = 700) -> str:
    """The initial prompt for the speech model: the active template's terms (and `extra`, e.g. macro
    names), then its organs' normal sentences as dictated ("... period."), ending with the headings.

    Whisper takes the prompt as the text said just before, and continues its style: dictated
    sentences about this very study type teach it the words, "period" as a word and the "The" that
    starts a sentence (on bench/scribe.py they cut WER more than a word list; a word list alone
    even hurt). Whisper keeps at most 224 prompt tokens; `limit` characters stays well below that.
    """
    words: list[str] = list(extra)
    if template is not None:
        words.extend(template.terms)
    else:
        words.extend(BASE_VOCABULARY)
    head = ""
    for word in dict.fromkeys(w for w in words if w):
        if len(head) + len(word) > limit // 3:  # leave room for the sentences
            break
        head += (", " if head else "") + word
    head = f"Vocabulary: {head}. " if head else ""
    sentences = [spoken_style(o.normal) for o in template.organs()] if template is not None else []
    sentences = sentences or [spoken_style(DICTATION_STYLE_NORMAL)]
    budget = limit - len(head) - len(PROMPT_OPENING) - len(PROMPT_CLOSING) - 2
    body = ""
    for sentence in sentences:
        if len(body) + len(sentence) + 1 > budget:
            break
        body += " " + sentence
    return f"{head}{PROMPT_OPENING}{body} {PROMPT_CLOSING}"[:limit]


# ---- IHE MRRT (HTML5) ---------------------------------------------------------------------------------


def to_mrrt(template: Template) -> str:
    """An IHE MRRT report template (HTML5): sections as <section>, organs as level-2 sections with a
    text field holding the normal sentence. AutoScribe-specific data rides in data-* attributes and
    meta tags, which MRRT consumers ignore."""
    esc = html.escape
    lines = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="UTF-8">',
        f"<title>{esc(template.name)}</title>",
        f'<meta name="dcterms.title" content="{esc(template.name)}">',
        f'<meta name="dcterms.identifier" content="{esc(template.id)}">',
        f'<meta name="dcterms.description" content="{esc(template.description)}">',
        '<meta name="dcterms.type" content="IMAGE_REPORT_TEMPLATE">',
        '<meta name="dcterms.language" content="en">',
        '<meta name="dcterms.publisher" content="AutoScribe">',
        f'<meta name="autoscribe.modality" content="{esc(template.modality)}">',
        f'<meta name="autoscribe.match" content="{esc("|".join(template.match))}">',
        f'<meta name="autoscribe.terms" content="{esc("|".join(template.terms))}">',
        '<script type="text/xml">',
        "<template_attributes><top-level-flag>true</top-level-flag><status>ACTIVE</status>"
        "</template_attributes>",
        "</script>",
        "</head>",
        "<body>",
    ]
    for section in template.sections:
        lines.append(
            f'<section id="{esc(section.key)}" class="level1" data-section-name="{esc(section.title)}"'
            f' data-required="{"true" if section.required else "false"}">'
        )
        lines.append(f'<header class="level1">{esc(section.title)}</header>')
        if section.default or not section.organs:
            fid = f"{section.key}.text"
            lines.append(
                f'<p><label for="{esc(fid)}">{esc(section.title)}</label>'
                f'<textarea id="{esc(fid)}" name="{esc(section.title)}" data-field-type="TEXT">'
                f"{esc(section.default)}</textarea></p>"
            )
        for organ in section.organs:
            fid = f"{section.key}.{organ.key}"
            extra = ""
            if organ.normal_male:
                extra += f' data-normal-male="{esc(organ.normal_male)}"'
            if organ.normal_female:
                extra += f' data-normal-female="{esc(organ.normal_female)}"'
            lines.append(
                f'<section id="{esc(fid)}" class="level2" data-section-name="{esc(organ.title)}"'
                f' data-keywords="{esc("|".join(organ.keywords))}"{extra}>'
            )
            lines.append(f'<header class="level2">{esc(organ.title)}</header>')
            lines.append(
                f'<p><label for="{esc(fid)}.text">{esc(organ.title)}</label>'
                f'<textarea id="{esc(fid)}.text" name="{esc(organ.title)}" data-field-type="TEXT">'
                f"{esc(organ.normal)}</textarea></p>"
            )
            lines.append("</section>")
        lines.append("</section>")
    lines += ["</body>", "</html>", ""]
    return "\n".join(lines)


class _MrrtParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, str] = {}
        self.title = ""
        self.stack: list[dict[str, object]] = []  # open <section>s
        self.sections: list[dict[str, object]] = []
        self._capture: str | None = None  # "title" | "header" | "field"
        self._text: list[str] = []
        self._field_value: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "meta" and "name" in a:
            self.meta[a["name"]] = a.get("content", "")
        elif tag == "title":
            self._capture, self._text = "title", []
        elif tag == "section":
            node: dict[str, object] = {
                "id": a.get("id", ""),
                "title": a.get("data-section-name", ""),
                "required": a.get("data-required") == "true",
                "keywords": [k for k in a.get("data-keywords", "").split("|") if k],
                "normalMale": a.get("data-normal-male") or None,
                "normalFemale": a.get("data-normal-female") or None,
                "text": [],
                "children": [],
            }
            if self.stack:
                children = self.stack[-1]["children"]
                assert isinstance(children, list)
                children.append(node)
            else:
                self.sections.append(node)
            self.stack.append(node)
        elif tag == "header" and self.stack:
            self._capture, self._text = "header", []
        elif tag in ("textarea",) and self.stack:
            self._capture, self._text = "field", []
        elif tag == "input" and self.stack:
            value = a.get("value", "")
            if value:
                texts = self.stack[-1]["text"]
                assert isinstance(texts, list)
                texts.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag == "title" and self._capture == "title":
            self.title = "".join(self._text).strip()
            self._capture = None
        elif tag == "header" and self._capture == "header":
            if self.stack and not self.stack[-1]["title"]:
                self.stack[-1]["title"] = "".join(self._text).strip()
            self._capture = None
        elif tag == "textarea" and self._capture == "field":
            texts = self.stack[-1]["text"]
            assert isinstance(texts, list)
            value = "".join(self._text).strip()
            if value:
                texts.append(value)
            self._capture = None
        elif tag == "section" and self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self._capture:
            self._text.append(data)


_SECTION_ALIASES = {
    "clinicalindication": CLINICAL_INDICATION,
    "indication": CLINICAL_INDICATION,
    "clinical history": CLINICAL_INDICATION,
    "history": CLINICAL_INDICATION,
    "clinical information": CLINICAL_INDICATION,
    "clinical indication": CLINICAL_INDICATION,
    "technique": TECHNIQUE,
    "procedure": TECHNIQUE,
    "comparison": COMPARISON,
    "comparisons": COMPARISON,
    "findings": FINDINGS,
    "impression": IMPRESSION,
    "conclusion": IMPRESSION,
}


def _section_key(node_id: str, title: str) -> str:
    for candidate in (node_id, title):
        key = _SECTION_ALIASES.get(candidate.strip().lower())
        if key:
            return key
    return re.sub(r"[^A-Za-z0-9]+", "", title.title()) or node_id or "section"


def _organ_key(node_id: str, title: str) -> str:
    tail = node_id.rsplit(".", 1)[-1] if node_id else ""
    if tail:
        return tail
    words = re.findall(r"[A-Za-z0-9]+", title)
    return (words[0].lower() + "".join(w.title() for w in words[1:])) if words else "organ"


def from_mrrt(document: str, *, template_id: str | None = None) -> Template:
    """Read an IHE MRRT template. Sections whose names are the usual report sections map onto our
    keys; level-2 sections under Findings become organs. Unknown sections are kept by name."""
    parser = _MrrtParser()
    parser.feed(document)
    parser.close()
    name = parser.meta.get("dcterms.title") or parser.title or "Imported template"
    sections: list[SectionTemplate] = []
    for node in parser.sections:
        title = str(node["title"]) or str(node["id"])
        key = _section_key(str(node["id"]), title)
        texts = node["text"]
        assert isinstance(texts, list)
        organs = []
        children = node["children"]
        assert isinstance(children, list)
        for child in children:
            ctitle = str(child["title"]) or str(child["id"])
            ctexts = child["text"]
            kws = child["keywords"]
            assert isinstance(ctexts, list) and isinstance(kws, list)
            organs.append(
                OrganTemplate(
                    key=_organ_key(str(child["id"]), ctitle),
                    title=ctitle,
                    normal=" ".join(str(t) for t in ctexts),
                    keywords=tuple(str(k) for k in kws)
                    or tuple(w.lower() for w in re.findall(r"[A-Za-z]+", ctitle) if len(w) > 3),
                    normal_male=child["normalMale"] if isinstance(child["normalMale"], str) else None,
                    normal_female=child["normalFemale"] if isinstance(child["normalFemale"], str) else None,
                )
            )
        required = bool(node["required"]) or key in (FINDINGS, IMPRESSION)
        sections.append(SectionTemplate(key, title, " ".join(str(t) for t in texts), required, tuple(organs)))
    keys = {s.key for s in sections}
    # A report needs at least findings and impression to be mapped into.
    for key in (FINDINGS, IMPRESSION):
        if key not in keys:
            sections.append(SectionTemplate(key, SECTION_TITLES[key], "", True))
    return Template(
        id=template_id or parser.meta.get("dcterms.identifier") or re.sub(r"[^a-z0-9]+", "-", name.lower()),
        name=name,
        modality=parser.meta.get("autoscribe.modality", ""),
        description=parser.meta.get("dcterms.description", name),
        match=tuple(m for m in parser.meta.get("autoscribe.match", "").split("|") if m),
        terms=tuple(t for t in parser.meta.get("autoscribe.terms", "").split("|") if t),
        sections=tuple(sections),
        builtin=False,
    )
