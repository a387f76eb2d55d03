"""The scribe engine's pre-sign checks on a report as written (`ReportContent`), not on a dictation.

The radiologist edits the dictated draft as plain text sections, so the checks that count are
the ones on that text: the sign dialog asks for them (`POST /workspace/api/scribe/checks`, through
`reports.service.presign_checks`) and `reports.service.sign_report` runs them again on the signed
text and stores the results with the report (`Report.sign_checks`), so a reviewer sees which
warnings were signed through. Pure: the caller passes the study context.

Every sentence of a written report is the radiologist's ("dictated"): nothing in it is a
template default any more. Only Findings and Impression must not be empty (the built-in
templates also require indication and technique, but the report service signs without them);
an addendum amends a signed report and need not repeat any section.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from autoscribe.reports.schemas import ReportContent
from autoscribe.scribe.checks import run_checks
from autoscribe.scribe.mapper import split_sentences, strip_enumeration
from autoscribe.scribe.types import (
    FINDINGS,
    IMPRESSION,
    SECTION_TITLES,
    CheckResult,
    Draft,
    Section,
    Sentence,
    StudyContext,
)
from autoscribe.studies.models import Study

_SIMPLE_SECTIONS = ("clinicalIndication", "technique", "comparison")


def _sentences(draft: Draft, text: str, *, items: bool = False) -> list[Sentence]:
    out = []
    for line in text.splitlines():
        for part in split_sentences(line):
            # Impression items are numbered on screen ("1. ..."): the number is not a sentence.
            clean = strip_enumeration(part) if items else part
            if clean.strip():
                out.append(Sentence(draft.new_sentence_id(), clean, "dictated"))
    return out


def draft_from_content(content: ReportContent, *, is_addendum: bool = False) -> Draft:
    """A report's sections as an engine draft; Findings subsections become `findings.subN`."""
    draft = Draft(template_id="report", template_name="Report", sections=[])
    for key in _SIMPLE_SECTIONS:
        section = Section(key, SECTION_TITLES[key])
        section.sentences = _sentences(draft, getattr(content, _attr(key)))
        draft.sections.append(section)
    findings = Section(FINDINGS, SECTION_TITLES[FINDINGS], required=not is_addendum)
    findings.sentences = _sentences(draft, content.findings.text)
    for index, sub in enumerate(content.findings.subsections, 1):
        organ = Section(f"sub{index}", sub.heading.strip() or f"Subsection {index}")
        organ.sentences = _sentences(draft, sub.text)
        findings.subsections.append(organ)
    draft.sections.append(findings)
    impression = Section(IMPRESSION, SECTION_TITLES[IMPRESSION], required=not is_addendum)
    impression.sentences = _sentences(draft, content.impression, items=True)
    draft.sections.append(impression)
    return draft


def _attr(key: str) -> str:
    return "clinical_indication" if key == "clinicalIndication" else key


def _section_label(draft: Draft, where: str | None) -> str | None:
    """ "findings.sub2" → "Findings: Lungs": what the radiologist sees as the field's label."""
    if not where:
        return None
    head, _, tail = where.partition(".")
    title = SECTION_TITLES.get(head, head)
    if not tail:
        return title
    sub = draft.section(where)
    return f"{title}: {sub.title}" if sub is not None else title


def to_wire(results: list[CheckResult], draft: Draft) -> list[dict[str, Any]]:
    """The shape report.js's sign dialog lists (`level` "error" blocks signing there)."""
    return [
        {
            "code": r.code,
            "level": r.severity,
            "message": r.message,
            "section": _section_label(draft, r.where),
        }
        for r in results
    ]


def study_context(study: Study) -> StudyContext:
    """What the engine needs to know of a study: procedure, modality, sex, indication, isCritical."""
    meta = study.report_metadata or {}
    return StudyContext(
        procedure=study.study_description,
        modality=study.modality or "",
        sex=str(meta.get("sex") or "") or None,  # StudyContext reads "F" and "female" alike
        clinical_indication=study.clinical_indication or study.clinical_history or "",
        is_critical=study.is_critical,
    )


def check_content(
    content: ReportContent, context: StudyContext, *, is_addendum: bool = False
) -> list[dict[str, Any]]:
    """Run the checks on a report's text in its study's context (description, sex, isCritical).

    The critical-finding suggestion is left out once the report itself is marked critical.
    """
    if content.is_critical:
        context = replace(context, is_critical=True)
    draft = draft_from_content(content, is_addendum=is_addendum)
    return to_wire(run_checks(draft, context), draft) + _suggested_impression(content)


def _suggested_impression(content: ReportContent) -> list[dict[str, Any]]:
    """A warning while the impression is still the engine's suggestion (nothing was dictated)."""
    if not (content.impression_suggested and content.impression.strip()):
        return []
    return [
        {
            "code": "impression_suggested",
            "level": "warning",
            "message": (
                "The impression is the engine's suggestion, not dictated: read it; signing makes it yours"
            ),
            "section": SECTION_TITLES[IMPRESSION],
        }
    ]
