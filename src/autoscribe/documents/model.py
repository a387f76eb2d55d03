"""What a rendered report is made of, independent of the database: the PDF, the on-screen
report and the plain text are all built from one ReportDocument."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any


@dataclass(frozen=True)
class Subsection:
    """An organ or region inside Findings, e.g. ("Liver", "Normal size and attenuation.")."""

    heading: str
    text: str


@dataclass(frozen=True)
class Sections:
    clinical_indication: str = ""
    technique: str = ""
    comparison: str = ""
    findings: str = ""
    findings_subsections: tuple[Subsection, ...] = ()
    impression: str = ""

    @classmethod
    def from_content(cls, content: dict[str, Any] | None) -> Sections:
        """From the stored camelCase content of a report (see reports.schemas.ReportContent)."""
        content = content or {}
        findings = content.get("findings") or {}
        if isinstance(findings, str):
            findings = {"text": findings}
        return cls(
            clinical_indication=str(content.get("clinicalIndication") or ""),
            technique=str(content.get("technique") or ""),
            comparison=str(content.get("comparison") or ""),
            findings=str(findings.get("text") or ""),
            findings_subsections=tuple(
                Subsection(str(item.get("heading") or ""), str(item.get("text") or ""))
                for item in findings.get("subsections") or []
            ),
            impression=str(content.get("impression") or ""),
        )

    @property
    def is_empty(self) -> bool:
        return not any(
            (
                self.clinical_indication.strip(),
                self.technique.strip(),
                self.comparison.strip(),
                self.findings.strip(),
                any(s.text.strip() or s.heading.strip() for s in self.findings_subsections),
                self.impression.strip(),
            )
        )


@dataclass(frozen=True)
class Signature:
    first_name: str
    last_name: str
    middle_name: str | None
    suffix1: str | None
    suffix2: str | None
    npi: str
    signed_at: datetime

    @property
    def display_name(self) -> str:
        name = " ".join(p for p in (self.first_name, self.middle_name, self.last_name) if p)
        suffixes = ", ".join(s for s in (self.suffix1, self.suffix2) if s)
        return f"{name}, {suffixes}" if suffixes else name

    def as_dict(self) -> dict[str, Any]:
        return {
            "firstName": self.first_name,
            "lastName": self.last_name,
            "middleName": self.middle_name,
            "suffix1": self.suffix1,
            "suffix2": self.suffix2,
            "npi": self.npi,
            "signedAt": self.signed_at.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Signature:
        return cls(
            first_name=data.get("firstName") or "",
            last_name=data.get("lastName") or "",
            middle_name=data.get("middleName"),
            suffix1=data.get("suffix1"),
            suffix2=data.get("suffix2"),
            npi=data.get("npi") or "",
            signed_at=datetime.fromisoformat(data["signedAt"]),
        )


@dataclass(frozen=True)
class Part:
    """The original report or one addendum."""

    report_id: str
    is_addendum: bool
    sections: Sections
    is_critical: bool
    signature: Signature | None  # None while the part is a draft


@dataclass(frozen=True)
class Header:
    clinic_name: str
    facility_name: str = ""
    patient_name: str = ""
    date_of_birth: str = ""
    age: str = ""
    sex: str = ""
    mrn: str = ""
    procedure: str = ""
    study_description: str = ""
    study_date: str = ""
    study_time: str = ""
    referring_physician: str = ""
    accession: str = ""
    study_instance_uid: str = ""
    modality: str = ""

    @classmethod
    def from_study(
        cls,
        *,
        clinic_name: str,
        metadata: dict[str, Any],
        study_description: str,
        study_instance_uid: str,
        modality: str | None,
        custom_metadata: dict[str, str] | None,
    ) -> Header:
        custom = custom_metadata or {}
        accession = next(
            (custom[k] for k in ("accessionNumber", "accession_number", "accession") if custom.get(k)), ""
        )
        sex = str(metadata.get("sex") or "")
        return cls(
            clinic_name=clinic_name,
            facility_name=str(metadata.get("facilityName") or ""),
            patient_name=str(metadata.get("patientName") or ""),
            date_of_birth=str(metadata.get("dateOfBirth") or ""),
            age=str(metadata.get("age") or "")
            or age_text(metadata.get("dateOfBirth"), metadata.get("studyDate")),
            sex=sex.capitalize(),
            mrn=str(metadata.get("mrn") or ""),
            procedure=str(metadata.get("procedure") or ""),
            study_description=study_description,
            study_date=str(metadata.get("studyDate") or ""),
            study_time=str(metadata.get("studyTime") or ""),
            referring_physician=str(metadata.get("referringPhysicianName") or ""),
            accession=accession,
            study_instance_uid=study_instance_uid,
            modality=modality or "",
        )


def age_text(date_of_birth: Any, on: Any) -> str:
    """Age at the study date (today when unknown): "38 years", "7 months", "12 days"."""
    try:
        born = date.fromisoformat(str(date_of_birth))
    except ValueError:
        return ""
    try:
        when = date.fromisoformat(str(on)) if on else date.today()
    except ValueError:
        when = date.today()
    if when < born:
        return ""
    years = when.year - born.year - ((when.month, when.day) < (born.month, born.day))
    if years >= 2:
        return f"{years} years"
    months = (when.year - born.year) * 12 + when.month - born.month - (when.day < born.day)
    if months >= 1:
        return f"{months} month{'s' if months != 1 else ''}"
    days = (when - born).days
    return f"{days} day{'s' if days != 1 else ''}"


@dataclass(frozen=True)
class ReportDocument:
    header: Header
    parts: tuple[Part, ...] = field(default_factory=tuple)

    @property
    def is_critical(self) -> bool:
        return any(p.is_critical for p in self.parts)

    @property
    def is_final(self) -> bool:
        return bool(self.parts) and all(p.signature is not None for p in self.parts)
