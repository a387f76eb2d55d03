"""Modality Worklist: a C-FIND from a modality becomes `modality_worklist.requested` to the
clinic's DICOM API key; each item of the answer (PascalCase DICOM keywords) becomes a data set,
matched against the query's keys (PS3.4 C.2.2.2) and reduced to the keys the query asked for.

    outcome = query_worklist(session, clinic, query_ds, calling_ae="CT01", address="10.0.0.5")
    outcome.failure -> (status, comment) for the modality; else outcome.datasets
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from pydicom import Dataset
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataelem import DataElement
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence
from sqlalchemy.orm import Session

from autoscribe.clinics.models import Clinic
from autoscribe.dicom.schemas import WorklistAnswer
from autoscribe.dicom.service import dicom_api_key
from autoscribe.errors import APIError, UpstreamTimeout
from autoscribe.webhooks.sync import call_sync

log = logging.getLogger("autoscribe.dicom")

WORKLIST_EVENT = "modality_worklist.requested"

# C-FIND failure statuses (PS3.4 C.4.1.1.4: 0xCxxx "unable to process").
STATUS_UNAUTHORIZED = 0xC001
STATUS_UPSTREAM_FAILED = 0xC002
STATUS_UPSTREAM_TIMEOUT = 0xC003

# Open-ended or absent date ranges in a query become this many days around the given end.
OPEN_RANGE_DAYS = 30


@dataclass
class WorklistOutcome:
    datasets: list[Dataset] = field(default_factory=list)
    failure: tuple[int, str] | None = None


def _da(value: str) -> date | None:
    digits = value.strip().replace(".", "")
    if not re.fullmatch(r"\d{8}", digits):
        return None
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return None


def date_window(value: str | None, today: date) -> tuple[date, date]:
    """The query's Scheduled Procedure Step Start Date as an inclusive window: empty -> today,
    `A` -> A..A, `A-B` -> A..B, `A-` / `-B` -> 30 days from A / up to B."""
    text = (value or "").strip()
    if not text:
        return today, today
    if "-" not in text:
        day = _da(text) or today
        return day, day
    start_text, _, end_text = text.partition("-")
    start, end = _da(start_text), _da(end_text)
    if start and end:
        return (start, end) if start <= end else (end, start)
    if start:
        return start, start + timedelta(days=OPEN_RANGE_DAYS)
    if end:
        return end - timedelta(days=OPEN_RANGE_DAYS), end
    return today, today


def _text(ds: Dataset, keyword: str) -> str:
    try:
        value = ds.get(keyword)
    except Exception:
        return ""
    return "" if value is None else str(value).strip()


def request_data(
    clinic: Clinic, query: Dataset, calling_ae: str, address: str | None, today: date
) -> dict[str, Any]:
    step = Dataset()
    steps = query.get("ScheduledProcedureStepSequence")
    if steps:
        step = steps[0]
    start, end = date_window(_text(step, "ScheduledProcedureStepStartDate"), today)
    data: dict[str, Any] = {
        "callingAe": calling_ae.strip(),
        "clinicId": str(clinic.id),
        "dateStart": start.isoformat(),
        "dateEnd": end.isoformat(),
        "sourceIp": address or "",
    }
    modality = _text(step, "Modality") or _text(query, "Modality")
    if modality and "*" not in modality and "?" not in modality:
        data["modality"] = modality
    return data


def query_worklist(
    session: Session,
    clinic: Clinic,
    query: Dataset,
    *,
    calling_ae: str,
    address: str | None,
    today: date | None = None,
) -> WorklistOutcome:
    key = dicom_api_key(session, clinic)
    if key is None:
        return WorklistOutcome(failure=(STATUS_UPSTREAM_FAILED, "No worklist configured for this AE title"))
    data = request_data(clinic, query, calling_ae, address, today or date.today())
    session.rollback()

    try:
        answer = call_sync(session, key, WORKLIST_EVENT, data, answer_model=WorklistAnswer)
    except UpstreamTimeout as exc:
        log.warning("%s for %s timed out: %s", WORKLIST_EVENT, calling_ae, exc.message)
        return WorklistOutcome(failure=(STATUS_UPSTREAM_TIMEOUT, "Worklist provider timed out"))
    except APIError as exc:
        log.warning("%s for %s failed: %s", WORKLIST_EVENT, calling_ae, exc.message)
        return WorklistOutcome(failure=(STATUS_UPSTREAM_FAILED, "Worklist provider failed"))
    finally:
        session.rollback()
    if not answer.authorized:
        return WorklistOutcome(failure=(STATUS_UNAUTHORIZED, (answer.error or "Not authorized")[:64]))
    out: list[Dataset] = []
    for item in answer.items:
        ds = item_dataset(item)
        if matches(ds, query):
            out.append(project(ds, query))
    return WorklistOutcome(datasets=out)


# ---- items -> data sets --------------------------------------------------------------------------


def item_dataset(item: dict[str, Any]) -> Dataset:
    """PascalCase DICOM keywords -> a data set; unknown keywords and unusable values are skipped."""
    ds = Dataset()
    for keyword, value in item.items():
        if not isinstance(keyword, str) or tag_for_keyword(keyword) is None:
            continue
        try:
            vr = dictionary_VR(keyword)
            tag = tag_for_keyword(keyword)
            if tag is not None and vr == "SQ":
                items = value if isinstance(value, list) else [value]
                ds[keyword] = DataElement(
                    tag,
                    "SQ",
                    Sequence([item_dataset(i) for i in items if isinstance(i, dict)]),
                )
            elif value is None:
                setattr(ds, keyword, None)
            elif isinstance(value, list):
                setattr(ds, keyword, [str(v) for v in value])
            else:
                setattr(ds, keyword, str(value) if not isinstance(value, str) else value)
        except Exception:
            log.warning("worklist item: ignoring an unusable %s", keyword)
            continue
    return ds


# ---- matching (PS3.4 C.2.2.2) --------------------------------------------------------------------

_SKIP = {"SpecificCharacterSet", "QueryRetrieveLevel"}


def _is_universal(query: Dataset) -> bool:
    for elem in query:
        if elem.keyword in _SKIP:
            continue
        if elem.VR == "SQ":
            if elem.value and not all(_is_universal(item) for item in elem.value):
                return False
        elif elem.value not in (None, "", b"") and str(elem.value).strip():
            return False
    return True


def _wildcard(pattern: str, value: str, fold: bool) -> bool:
    if fold:
        pattern, value = pattern.lower(), value.lower()
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, flags=re.DOTALL) is not None


def _in_range(query: str, value: str) -> bool:
    low, _, high = query.partition("-")
    low, high, value = low.strip(), high.strip(), value.strip()
    if not value:
        return False
    width = max(len(low), len(high))
    value = value[:width] if width else value
    return (not low or value >= low[: len(value)]) and (not high or value <= high[: len(value)])


def element_matches(vr: str, query: str, value: str) -> bool:
    if vr in ("DA", "TM", "DT") and "-" in query:
        return _in_range(query.replace(":", "").replace(".", "") if vr == "DA" else query, value)
    if vr == "UI" and "\\" in query:
        return value in query.split("\\")
    fold = vr == "PN"  # person names match case-insensitively (common practice)
    if "*" in query or "?" in query:
        return _wildcard(query, value, fold)
    return (query.lower() == value.lower()) if fold else query == value


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, MultiValue | list | tuple):
        return "\\".join(str(v) for v in value).strip()
    return str(value).strip()


def matches(ds: Dataset, query: Dataset) -> bool:
    for elem in query:
        if elem.keyword in _SKIP:
            continue
        if elem.VR == "SQ":
            if not elem.value or all(_is_universal(item) for item in elem.value):
                continue
            sub = elem.value[0]
            items = ds.get(elem.keyword) or []
            if not any(matches(item, sub) for item in items):
                return False
            continue
        wanted = _as_text(elem.value)
        if not wanted or wanted == "*":
            continue
        if elem.keyword not in ds:
            return False
        have = _as_text(ds.get(elem.keyword))
        if not element_matches(elem.VR, wanted, have):
            return False
    return True


def project(ds: Dataset, query: Dataset) -> Dataset:
    """The item reduced to the keys the query asked for (empty when the item has no value)."""
    out = Dataset()
    for elem in query:
        if elem.keyword == "QueryRetrieveLevel":
            continue
        if elem.keyword == "SpecificCharacterSet":
            continue
        if elem.VR == "SQ":
            sub = elem.value[0] if elem.value else Dataset()
            items = ds.get(elem.keyword) or []
            out[elem.tag] = DataElement(elem.tag, "SQ", Sequence([project(item, sub) for item in items]))
        elif elem.tag in ds:
            out[elem.tag] = ds[elem.tag]
        else:
            out[elem.tag] = DataElement(elem.tag, elem.VR, None)
    out.SpecificCharacterSet = "ISO_IR 192"  # UTF-8: names from the integrator may be anything
    return out
