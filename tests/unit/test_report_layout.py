"""The report PDF's layout: nothing runs past the page's right margin, whatever the values
(the study block's rule and a long Study UID once did)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from weasyprint import HTML
from weasyprint.formatting_structure import boxes

from autoscribe.documents.model import Header, Part, ReportDocument, Sections
from autoscribe.documents.render import render_html

LONG = "MRN7788990000000000000000000000000000000000000000000000"


def _document() -> ReportDocument:
    header = Header.from_study(
        clinic_name="North Campus Imaging Associates of Greater Springfield",
        metadata={
            "patientName": "Johanna-Maximiliana Testpatient-Longername",
            "mrn": LONG,
            "procedure": "CT abdomen and pelvis with intravenous contrast, portal venous phase",
            "studyDate": "2026-11-20",
            "studyTime": "09:30",
            "referringPhysicianName": "Dr. Maximilian-Alexander Oppenheimer-Wittgenstein",
            "facilityName": "North Campus",
        },
        study_description="CT abdomen and pelvis with IV contrast",
        # The longest a Study Instance UID may be: 64 characters.
        study_instance_uid="1.2.840.113619.2.55.3.604688119.971.1234567890.123456789.1234567",
        modality="CT",
        custom_metadata={"accessionNumber": "ACC-2026-000123456"},
    )
    sections = Sections(findings="Liver: " + LONG + " normal.", impression="No acute abnormality.")
    return ReportDocument(header, (Part("rep_x", False, sections, False, None),))


def _boxes(box: Any) -> Iterator[Any]:
    yield box
    for child in getattr(box, "children", None) or []:
        yield from _boxes(child)


@pytest.mark.parametrize("page_size", ["Letter", "A4"])
def test_nothing_runs_past_the_right_margin(page_size: str) -> None:
    rendered = HTML(string=render_html(_document(), page_size=page_size)).render()
    for page in rendered.pages:
        page_box = page._page_box
        right = page_box.margin_width() - page_box.margin_right
        past = [
            (type(box).__name__, getattr(box, "element_tag", ""), getattr(box, "text", "")[:40])
            for box in _boxes(page_box)
            if box is not page_box and box.position_x + box.margin_width() > right + 0.01
        ]
        assert past == []
        # Within the study and patient blocks, each value stays in its own cell.
        for cell in (b for b in _boxes(page_box) if isinstance(b, boxes.TableCellBox)):
            edge = cell.position_x + cell.margin_width()
            for text in (b for b in _boxes(cell) if isinstance(b, boxes.TextBox)):
                assert text.position_x + text.margin_width() <= edge + 0.01, text.text
