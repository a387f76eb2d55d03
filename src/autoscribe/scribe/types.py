"""Plain data classes shared by every stage of the scribe engine, and their JSON form.

A draft is what the report service stores as the draft's content (`Draft.to_dict()`); the
workspace renders it and lets the radiologist move sentences (`autoscribe.scribe.mapper.move_sentence`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

# Section keys shared with the reports service (camelCase, as on the wire).
CLINICAL_INDICATION = "clinicalIndication"
TECHNIQUE = "technique"
COMPARISON = "comparison"
FINDINGS = "findings"
IMPRESSION = "impression"
SECTION_ORDER = (CLINICAL_INDICATION, TECHNIQUE, COMPARISON, FINDINGS, IMPRESSION)
SECTION_TITLES = {
    CLINICAL_INDICATION: "Clinical indication",
    TECHNIQUE: "Technique",
    COMPARISON: "Comparison",
    FINDINGS: "Findings",
    IMPRESSION: "Impression",
}

PLACEHOLDER = "[***]"

# Impression sources that are the engine's suggestion, not what the radiologist said.
SUGGESTED_SOURCES = ("rules", "llm")

Sex = Literal["male", "female", "other"]
SentenceSource = Literal["dictated", "default", "macro", "generated", "context"]
Severity = Literal["error", "warning", "info"]


# ---- transcription ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    text: str


@dataclass(frozen=True)
class Transcript:
    text: str
    segments: tuple[Segment, ...] = ()
    duration: float = 0.0  # seconds of audio
    processing_seconds: float = 0.0
    model: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "segments": [{"start": s.start, "end": s.end, "text": s.text} for s in self.segments],
            "duration": round(self.duration, 3),
            "processingSeconds": round(self.processing_seconds, 3),
            "model": self.model,
        }


@dataclass(frozen=True)
class PartialTranscript:
    """What a streaming transcription knows so far: `stable` will not change, `tentative` may."""

    stable: str
    tentative: str
    is_final: bool
    duration: float

    @property
    def text(self) -> str:
        return " ".join(part for part in (self.stable, self.tentative) if part)


# A sentence that starts with a short label and a colon.
_LABELLED = re.compile(r"([A-Z][A-Za-z0-9 /-]{0,40}):\s")


def sentence_label(text: str) -> str | None:
    """The short label a sentence starts with ("Conus" of "Conus: Terminates at L1."), if any."""
    match = _LABELLED.match(text)
    return match.group(1) if match else None


# ---- templates -------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrganTemplate:
    """A subsection of Findings (e.g. Lungs) with its normal sentence and the words that route to it."""

    key: str
    title: str
    normal: str
    keywords: tuple[str, ...] = ()
    # Sex-specific normal text (pelvic organs); `normal` is used for any other sex or when unknown.
    normal_male: str | None = None
    normal_female: str | None = None

    def normal_for(self, sex: str | None) -> str:
        if sex == "male" and self.normal_male:
            return self.normal_male
        if sex == "female" and self.normal_female:
            return self.normal_female
        return self.normal


@dataclass(frozen=True)
class SectionTemplate:
    key: str
    title: str
    default: str = ""
    required: bool = False
    organs: tuple[OrganTemplate, ...] = ()


@dataclass(frozen=True)
class ExamScope:
    """The part of a template's region a study looks at ("US RENAL" of the abdominal template: the
    kidneys). Organs outside it keep their subsection, for whatever is dictated about them, but get
    no normal sentence: the report must not call normal what nobody looked at."""

    # Words of the study description that choose this scope, and words that cancel it (a
    # "US ABDOMEN AND RENAL" is the whole abdomen).
    match: tuple[str, ...]
    organs: tuple[str, ...] | None = None  # the organ keys looked at; None: all of them
    unless: tuple[str, ...] = ()
    technique: str = ""  # the technique sentence for this scope, when the template's says more
    normals: tuple[tuple[str, str], ...] = ()  # (organ key, normal sentence) for this scope

    def normal_of(self, organ_key: str) -> str | None:
        return next((text for key, text in self.normals if key == organ_key), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "match": list(self.match),
            "unless": list(self.unless),
            "organs": None if self.organs is None else list(self.organs),
            "technique": self.technique,
            "normals": dict(self.normals),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExamScope:
        return cls(
            match=tuple(str(m) for m in data.get("match") or ()),
            unless=tuple(str(u) for u in data.get("unless") or ()),
            organs=None if data.get("organs") is None else tuple(str(o) for o in data["organs"]),
            technique=str(data.get("technique") or ""),
            # Sorted: a JSON object has no order (PostgreSQL's JSONB keeps its own).
            normals=tuple(sorted((str(k), str(v)) for k, v in (data.get("normals") or {}).items())),
        )


@dataclass(frozen=True)
class Template:
    id: str
    name: str
    modality: str  # CT, MR, CR/DX, US, MG, or "" for any
    sections: tuple[SectionTemplate, ...]
    # Words in a procedure description that choose this template ("head", "brain", ...).
    match: tuple[str, ...] = ()
    # Vocabulary added to the transcription prompt when this template is active.
    terms: tuple[str, ...] = ()
    description: str = ""
    builtin: bool = True
    scopes: tuple[ExamScope, ...] = ()

    def section(self, key: str) -> SectionTemplate | None:
        return next((s for s in self.sections if s.key == key), None)

    def organs(self) -> tuple[OrganTemplate, ...]:
        findings = self.section(FINDINGS)
        return findings.organs if findings else ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "modality": self.modality,
            "description": self.description,
            "match": list(self.match),
            "terms": list(self.terms),
            "builtin": self.builtin,
            "sections": [
                {
                    "key": s.key,
                    "title": s.title,
                    "default": s.default,
                    "required": s.required,
                    "organs": [
                        {
                            "key": o.key,
                            "title": o.title,
                            "normal": o.normal,
                            "keywords": list(o.keywords),
                            "normalMale": o.normal_male,
                            "normalFemale": o.normal_female,
                        }
                        for o in s.organs
                    ],
                }
                for s in self.sections
            ],
        }
        if self.scopes:
            out["scopes"] = [scope.to_dict() for scope in self.scopes]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Template:
        return cls(
            id=str(data["id"]),
            name=str(data["name"]),
            modality=str(data.get("modality") or ""),
            description=str(data.get("description") or ""),
            match=tuple(str(m) for m in data.get("match") or ()),
            terms=tuple(str(t) for t in data.get("terms") or ()),
            builtin=bool(data.get("builtin", False)),
            sections=tuple(
                SectionTemplate(
                    key=str(s["key"]),
                    title=str(s.get("title") or s["key"]),
                    default=str(s.get("default") or ""),
                    required=bool(s.get("required", False)),
                    organs=tuple(
                        OrganTemplate(
                            key=str(o["key"]),
                            title=str(o.get("title") or o["key"]),
                            normal=str(o.get("normal") or ""),
                            keywords=tuple(str(k) for k in o.get("keywords") or ()),
                            normal_male=o.get("normalMale") or None,
                            normal_female=o.get("normalFemale") or None,
                        )
                        for o in s.get("organs") or ()
                    ),
                )
                for s in data["sections"]
            ),
            scopes=tuple(ExamScope.from_dict(scope) for scope in data.get("scopes") or ()),
        )


# ---- drafts ----------------------------------------------------------------------------------


@dataclass
class Sentence:
    id: str
    text: str
    source: SentenceSource = "dictated"

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "text": self.text, "source": self.source}


@dataclass
class Section:
    """A report section, or an organ subsection of Findings (then `key` is the organ key)."""

    key: str
    title: str
    sentences: list[Sentence] = field(default_factory=list)
    subsections: list[Section] = field(default_factory=list)
    required: bool = False

    def all_sentences(self) -> list[Sentence]:
        out = list(self.sentences)
        for sub in self.subsections:
            out.extend(sub.all_sentences())
        return out

    def text(self) -> str:
        # A labelled sentence ("Conus: Terminates at L1.", "L4-L5: Disc bulge.") starts a line of its
        # own, as the radiologist's spoken heading asked.
        return "".join(
            ("\n" if sentence_label(s.text) else " ") + s.text if k else s.text
            for k, s in enumerate(self.sentences)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "required": self.required,
            "sentences": [s.to_dict() for s in self.sentences],
            "subsections": [s.to_dict() for s in self.subsections],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Section:
        return cls(
            key=str(data["key"]),
            title=str(data.get("title") or data["key"]),
            required=bool(data.get("required", False)),
            sentences=[
                Sentence(id=str(s["id"]), text=str(s["text"]), source=s.get("source", "dictated"))
                for s in data.get("sentences") or ()
            ],
            subsections=[cls.from_dict(s) for s in data.get("subsections") or ()],
        )


@dataclass
class Draft:
    template_id: str
    template_name: str
    sections: list[Section]
    # Counter for new sentence ids; kept in the JSON so ids stay unique after edits.
    next_sentence: int = 1
    # Who wrote the impression: the radiologist ("dictated", or "edited" by moving sentences into
    # it), or the engine ("rules", "llm") because none was dictated: then it is only a suggestion.
    impression_source: Literal["rules", "llm", "dictated", "edited"] = "rules"

    def new_sentence_id(self) -> str:
        sid = f"s{self.next_sentence}"
        self.next_sentence += 1
        return sid

    def section(self, key: str) -> Section | None:
        """A top-level section by key, or an organ subsection by `findings.<organ>` or `<organ>`."""
        head, _, tail = key.partition(".")
        for section in self.sections:
            if section.key == head and not tail:
                return section
            if section.key == head and tail:
                return next((s for s in section.subsections if s.key == tail), None)
        for section in self.sections:
            for sub in section.subsections:
                if sub.key == key:
                    return sub
        return None

    def locate(self, sentence_id: str) -> tuple[str, Section, Sentence] | None:
        """(path, section, sentence) of a sentence; path is `findings.lungs` for organ subsections."""
        for section in self.sections:
            for sentence in section.sentences:
                if sentence.id == sentence_id:
                    return section.key, section, sentence
            for sub in section.subsections:
                for sentence in sub.sentences:
                    if sentence.id == sentence_id:
                        return f"{section.key}.{sub.key}", sub, sentence
        return None

    def iter_sentences(self) -> list[tuple[str, Sentence]]:
        out: list[tuple[str, Sentence]] = []
        for section in self.sections:
            out.extend((section.key, s) for s in section.sentences)
            for sub in section.subsections:
                out.extend((f"{section.key}.{sub.key}", s) for s in sub.sentences)
        return out

    @property
    def impression(self) -> list[str]:
        section = self.section(IMPRESSION)
        return [s.text for s in section.sentences] if section else []

    @property
    def impression_suggested(self) -> bool:
        """The impression is the engine's suggestion (none was dictated), not the radiologist's."""
        return self.impression_source in SUGGESTED_SOURCES and bool(self.impression)

    def section_texts(self) -> dict[str, str]:
        """Plain text per top-level section, as the report service stores and renders them.

        Findings with organ subsections become one "Organ: text" line per organ; the impression
        is numbered when it has more than one item.
        """
        out: dict[str, str] = {}
        for section in self.sections:
            if section.key == IMPRESSION:
                items = [s.text for s in section.sentences]
                out[section.key] = (
                    "\n".join(f"{i}. {t}" for i, t in enumerate(items, 1))
                    if len(items) > 1
                    else "".join(items)
                )
                continue
            lines = [section.text()] if section.sentences else []
            lines.extend(f"{sub.title}: {sub.text()}" for sub in section.subsections if sub.sentences)
            out[section.key] = "\n".join(lines)
        return out

    def to_text(self) -> str:
        texts = self.section_texts()
        return "\n\n".join(
            f"{section.title.upper()}:\n{texts[section.key]}"
            for section in self.sections
            if texts[section.key]
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": 1,
            "templateId": self.template_id,
            "templateName": self.template_name,
            "nextSentence": self.next_sentence,
            "impressionSource": self.impression_source,
            "impressionSuggested": self.impression_suggested,
            "sections": [s.to_dict() for s in self.sections],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Draft:
        sections = [Section.from_dict(s) for s in data["sections"]]
        highest = max(
            (int(s.id[1:]) for sec in sections for s in sec.all_sentences() if s.id[1:].isdigit()), default=0
        )
        return cls(
            template_id=str(data["templateId"]),
            template_name=str(data.get("templateName") or ""),
            sections=sections,
            next_sentence=max(int(data.get("nextSentence") or 1), highest + 1),
            impression_source=data.get("impressionSource", "rules"),
        )


# ---- context and checks ----------------------------------------------------------------------


# DICOM's PatientSex codes (M, F, O) and the usual spellings, as the engine names a sex. "U" and
# anything else is unknown: no sex check, no sex-specific normal sentence.
_SEXES = {
    "m": "male",
    "male": "male",
    "man": "male",
    "f": "female",
    "female": "female",
    "woman": "female",
    "o": "other",
    "other": "other",
}


def _normal_sex(value: str | None) -> str | None:
    """ "F", "f", "Female" → "female"; "M" → "male"; "O" → "other"; "U", "" or None → None."""
    return _SEXES.get(str(value or "").strip().lower())


@dataclass(frozen=True)
class StudyContext:
    """What the engine knows about the study: from the study row, never from the dictation."""

    procedure: str = ""  # the study description, e.g. "MRI LEFT KNEE WITHOUT CONTRAST"
    modality: str = ""
    sex: str | None = None  # male | female | other | None; given as DICOM codes ("F") too
    clinical_indication: str = ""
    comparison: str = ""
    is_critical: bool | None = None

    def __post_init__(self) -> None:
        # Every caller (a study row, the CLI, an API payload) gets the same three values: an "F"
        # left as it came would turn the sex check and the sex-specific normals off unseen.
        object.__setattr__(self, "sex", _normal_sex(self.sex))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StudyContext:
        return cls(
            procedure=str(data.get("procedure") or ""),
            modality=str(data.get("modality") or ""),
            sex=data.get("sex") or None,
            clinical_indication=str(data.get("clinicalIndication") or ""),
            comparison=str(data.get("comparison") or ""),
            is_critical=data.get("isCritical"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "procedure": self.procedure,
            "modality": self.modality,
            "sex": self.sex,
            "clinicalIndication": self.clinical_indication,
            "comparison": self.comparison,
            "isCritical": self.is_critical,
        }


@dataclass(frozen=True)
class CheckResult:
    code: str
    severity: Severity
    message: str
    where: str | None = None  # section path, e.g. "findings.lungs"
    sentence_id: str | None = None

    @property
    def blocking(self) -> bool:
        return self.severity == "error"

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "where": self.where,
            "sentenceId": self.sentence_id,
        }
