"""Listing studies: every filter (with the null forms), validation of filters, pagination."""

from __future__ import annotations

from dataclasses import dataclass

import avara
import pytest
from avara import Avara

from tests.conftest import ClinicFixture, Server
from tests.helpers import error_param, force_study_state, make_user, sdk, study_body


@dataclass
class Catalogue:
    client: Avara
    r1: str
    r2: str
    c1: str
    c2: str
    ids: dict[str, str]


@pytest.fixture
def catalogue(server: Server, clinic: ClinicFixture) -> Catalogue:
    """Six studies that differ in every filtered attribute."""
    client = sdk(server.url, clinic.api_key)
    r1, r2 = make_user(clinic.clinic_id), make_user(clinic.clinic_id)
    c1 = client.express.create(express_customer_name="North Hospital").express_customer_id
    c2 = client.express.create(express_customer_name="South Hospital").express_customer_id
    specs = {
        "s1": {
            "assigned_to": r1,
            "express_customer_id": c1,
            "severity": "stat",
            "study_description": "CT Head 100% fast_track",
        },
        "s2": {
            "assigned_to": r2,
            "express_customer_id": c2,
            "severity": "high",
            "study_description": "MRI Knee",
        },
        "s3": {"study_description": "ct chest"},
        "s4": {"express_customer_id": c1, "study_description": "X-Ray Hand"},
        "s5": {"assigned_to": r1, "study_description": "Ultrasound Abdomen"},
        "s6": {"study_description": "Archive CT"},
    }
    ids = {
        name: client.auto_scribe.studies.create(**study_body(**spec)).study_id for name, spec in specs.items()
    }
    client.auto_scribe.studies.cancel(study_id=ids["s4"])
    force_study_state(ids["s5"], study_report_status="completed")
    force_study_state(ids["s6"], study_type="external")
    return Catalogue(client, r1, r2, c1, c2, ids)


def names(cat: Catalogue, **filters: object) -> set[str]:
    by_id = {v: k for k, v in cat.ids.items()}
    return {by_id[s.study_id] for s in cat.client.auto_scribe.studies.list(**filters)}


def test_no_filter_lists_everything_newest_first(catalogue: Catalogue) -> None:
    listed = [s.study_id for s in catalogue.client.auto_scribe.studies.list()]
    assert listed == [catalogue.ids[n] for n in ("s6", "s5", "s4", "s3", "s2", "s1")]


def test_assigned_to_filter_and_its_null_form(catalogue: Catalogue) -> None:
    assert names(catalogue, assigned_to=catalogue.r1) == {"s1", "s5"}
    assert names(catalogue, assigned_to=catalogue.r2) == {"s2"}
    # The SDK drops None from query strings; the literal null selects unassigned studies.
    assert names(catalogue, extra_query={"assignedTo": "null"}) == {"s3", "s4", "s6"}
    assert names(catalogue, assigned_to="usr_" + "0" * 32) == set()


def test_express_customer_filter_and_its_null_form(catalogue: Catalogue) -> None:
    assert names(catalogue, express_customer_id=catalogue.c1) == {"s1", "s4"}
    assert names(catalogue, express_customer_id=catalogue.c2) == {"s2"}
    assert names(catalogue, extra_query={"expressCustomerId": "null"}) == {"s3", "s5", "s6"}


def test_is_cancelled_filter(catalogue: Catalogue) -> None:
    assert names(catalogue, is_cancelled=True) == {"s4"}
    assert names(catalogue, is_cancelled=False) == {"s1", "s2", "s3", "s5", "s6"}


def test_severity_filter(catalogue: Catalogue) -> None:
    assert names(catalogue, severity="stat") == {"s1"}
    assert names(catalogue, severity="high") == {"s2"}
    assert names(catalogue, severity="normal") == {"s3", "s4", "s5", "s6"}


def test_study_description_contains_is_case_insensitive_and_literal(catalogue: Catalogue) -> None:
    assert names(catalogue, study_description="ct") == {"s1", "s3", "s6"}
    assert names(catalogue, study_description="KNEE") == {"s2"}
    # % and _ are ordinary characters, not wildcards.
    assert names(catalogue, study_description="100%") == {"s1"}
    assert names(catalogue, study_description="_") == {"s1"}
    assert names(catalogue, study_description="%") == {"s1"}
    assert names(catalogue, study_description="nothing like this") == set()


def test_study_report_status_comma_list(catalogue: Catalogue) -> None:
    assert names(catalogue, study_report_status=["assigned"]) == {"s1", "s2"}
    assert names(catalogue, study_report_status=["completed", "unassigned"]) == {"s3", "s4", "s5", "s6"}
    assert names(catalogue, study_report_status=["in_progress", "addendum_active"]) == set()


def test_study_type_filter(catalogue: Catalogue) -> None:
    assert names(catalogue, study_type="external") == {"s6"}
    assert names(catalogue, study_type="standard") == {"s1", "s2", "s3", "s4", "s5"}


def test_filters_combine(catalogue: Catalogue) -> None:
    assert names(catalogue, assigned_to=catalogue.r1, study_report_status=["completed"]) == {"s5"}
    assert names(catalogue, express_customer_id=catalogue.c1, is_cancelled=False) == {"s1"}
    assert names(catalogue, extra_query={"assignedTo": "null", "expressCustomerId": "null"}) == {"s3", "s6"}
    assert names(catalogue, severity="normal", study_description="ct", study_type="standard") == {"s3"}


@pytest.mark.parametrize(
    ("filters", "param"),
    [
        ({"severity": "urgent"}, "severity"),
        ({"study_report_status": ["assigned", "done"]}, "studyReportStatus"),
        ({"study_type": "archive"}, "studyType"),
        ({"assigned_to": "bob"}, "assignedTo"),
        ({"express_customer_id": "cus_123"}, "expressCustomerId"),
        ({"extra_query": {"isCancelled": "maybe"}}, "isCancelled"),
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"extra_query": {"limit": "ten"}}, "limit"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"study_description": "x" * 1001}, "studyDescription"),
    ],
)
def test_invalid_filters_name_the_parameter(
    server: Server, clinic: ClinicFixture, filters: dict[str, object], param: str
) -> None:
    client = sdk(server.url, clinic.api_key)
    with pytest.raises(avara.BadRequestError) as err:
        client.auto_scribe.studies.list(**filters)
    assert error_param(err.value) == param


def test_pagination_walks_every_study_once_in_order(server: Server, clinic: ClinicFixture) -> None:
    client = sdk(server.url, clinic.api_key)
    created = [client.auto_scribe.studies.create(**study_body()).study_id for _ in range(23)]
    newest_first = list(reversed(created))

    walked = [s.study_id for s in client.auto_scribe.studies.list(limit=5)]
    assert walked == newest_first

    page = client.auto_scribe.studies.list(limit=5)
    sizes = []
    while True:
        sizes.append(len(page.studies))
        if not page.has_next_page():
            break
        assert page.has_more is True and page.cursor
        page = page.get_next_page()
    assert sizes == [5, 5, 5, 5, 3]
    assert page.has_more is False and page.cursor is None

    default_page = client.auto_scribe.studies.list()
    assert len(default_page.studies) == 20 and default_page.has_more is True

    exact = client.auto_scribe.studies.list(limit=23)
    assert len(exact.studies) == 23 and exact.has_more is False and exact.cursor is None
    assert exact.has_next_page() is False


def test_pagination_is_stable_while_studies_are_created(server: Server, clinic: ClinicFixture) -> None:
    client = sdk(server.url, clinic.api_key)
    created = [client.auto_scribe.studies.create(**study_body()).study_id for _ in range(12)]
    page = client.auto_scribe.studies.list(limit=4)
    seen = [s.study_id for s in page.studies]
    added = 0
    while page.has_next_page():
        # New studies are newer than the cursor: they appear on a fresh first page, not mid-walk.
        client.auto_scribe.studies.create(**study_body())
        added += 1
        page = page.get_next_page()
        seen.extend(s.study_id for s in page.studies)
    assert seen == list(reversed(created))
    assert len(set(seen)) == len(seen)
    fresh = [s.study_id for s in client.auto_scribe.studies.list(limit=100)]
    assert added == 2
    assert len(fresh) == 12 + added and fresh[added:] == list(reversed(created))


def test_filtered_pagination_crosses_pages(server: Server, clinic: ClinicFixture) -> None:
    client = sdk(server.url, clinic.api_key)
    stat = []
    for i in range(14):
        study = client.auto_scribe.studies.create(**study_body(severity="stat" if i % 2 else "normal"))
        if i % 2:
            stat.append(study.study_id)
    walked = [s.study_id for s in client.auto_scribe.studies.list(severity="stat", limit=3)]
    assert walked == list(reversed(stat))
