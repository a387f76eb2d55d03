"""The owners' and admins' home page: studies by status, today's report turnaround, the 14-day
volume and turnaround per modality, next steps; its queries are few and indexed."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

from sqlalchemy import event, text

from tests.conftest import TEST_DB, ClinicFixture, Server
from tests.dashboard.conftest import owner_client, sign_in_as
from tests.helpers import force_study_state, make_user, sdk
from tests.reporting import content, create_study, dictate_and_sign, save, sign, start


@dataclass
class History:
    radiologist: str
    yesterday: datetime


def reading_history(server: Server, clinic: ClinicFixture, scale: int = 1) -> History:
    """Today: `scale` x 3 CT studies signed 20, 40 and 60 minutes after arrival (one with a signed
    addendum, not counted); yesterday: 2 MR studies signed an hour after arrival; 5 days ago an
    unread US study; a cancelled one today (not counted)."""
    api = sdk(server.url, clinic.api_key)
    rad = make_user(clinic.clinic_id, first_name="Ada", last_name="Amender")
    now = datetime.now(UTC)
    for _ in range(scale):
        for minutes in (20, 40, 60):
            study = create_study(api, rad, modality="CT")
            force_study_state(study, created_at=now - timedelta(minutes=minutes))
            report = dictate_and_sign(study, rad)
        api.auto_scribe.reports.addendum(report)
        addendum, version = start(study, rad)
        save(addendum, rad, {"findings": "Addendum."}, version)
        sign(addendum, rad)
    yesterday = now - timedelta(days=1)
    for _ in range(2):
        study = create_study(api, rad, modality="mr ")  # modalities are compared trimmed, upper case
        force_study_state(study, created_at=yesterday - timedelta(hours=1))
        report, version = start(study, rad)
        save(report, rad, content(), version)
        with mock.patch("autoscribe.reports.service.utcnow", return_value=yesterday):
            sign(report, rad)
    unread = create_study(api, None, modality="US")
    force_study_state(unread, created_at=now - timedelta(days=5))
    cancelled = create_study(api, None, modality="CT")
    api.auto_scribe.studies.cancel(study_id=cancelled)
    return History(rad, yesterday)


def _overview(clinic: ClinicFixture) -> Any:
    from autoscribe.db import session_scope
    from autoscribe.studies.service import StudyScope
    from autoscribe.web.dashboard.home import overview

    with session_scope() as session:
        return overview(session, StudyScope(clinic_id=uuid.UUID(clinic.clinic_id)))


def test_overview_numbers(server: Server, clinic: ClinicFixture, other_clinic: ClinicFixture) -> None:
    history = reading_history(server, clinic)
    reading_history(server, other_clinic)  # another clinic's work is not counted
    seen = _overview(clinic)
    assert seen.counts["completed"] == 5 and seen.counts["unassigned"] == 1 and seen.counts["cancelled"] == 1
    assert seen.today.reports == 3  # originals only
    assert round(seen.today.median_hours * 60) == 40
    assert round(seen.today.p90_hours * 60) == 56  # between 40 and 60, nine tenths of the way
    assert seen.modalities == ["CT", "MR", "US"]
    assert sum(seen.volume["CT"]) == 3 and sum(seen.volume["MR"]) == 2 and sum(seen.volume["US"]) == 1
    day = seen.days.index(history.yesterday.date())
    assert seen.turnaround["MR"][day] == 1.0 and seen.turnaround["CT"][day] is None
    assert seen.turnaround["US"] == [None] * 14


def test_more_than_five_modalities_share_other(server: Server, clinic: ClinicFixture) -> None:
    api = sdk(server.url, clinic.api_key)
    for modality, count in (("CT", 5), ("MR", 4), ("US", 3), ("CR", 2), ("DX", 1), ("MG", 1), ("NM", 1)):
        for _ in range(count):
            create_study(api, None, modality=modality)
    create_study(api, None)  # no modality given
    seen = _overview(clinic)
    assert seen.modalities == ["CT", "MR", "US", "CR", "Other"]
    assert sum(seen.volume["Other"]) == 4  # DX, MG, NM and the one without a modality
    assert dict(seen.legend)["Other"] == "s5"


def _statements(clinic: ClinicFixture) -> list[str]:
    from autoscribe.db import get_engine, session_scope
    from autoscribe.studies.service import scope_for_user
    from autoscribe.users.models import User
    from autoscribe.web.dashboard.home import next_steps, overview

    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    with session_scope() as session:
        owner = session.get(User, uuid.UUID(hex=clinic.owner_id.split("_", 1)[1]))
        assert owner is not None
        event.listen(get_engine(), "before_cursor_execute", record)
        try:
            overview(session, scope_for_user(session, owner))
            next_steps(session, owner)
        finally:
            event.remove(get_engine(), "before_cursor_execute", record)
    return seen


def test_overview_queries_are_few_whatever_the_volume(
    server: Server, clinic: ClinicFixture, other_clinic: ClinicFixture
) -> None:
    reading_history(server, clinic)
    reading_history(server, other_clinic, scale=3)
    few, more = _statements(clinic), _statements(other_clinic)
    assert len(few) == len(more) == 6, few  # no query per study or report


def test_overview_queries_use_indexes(server: Server, clinic: ClinicFixture) -> None:
    from autoscribe.db import get_engine
    from autoscribe.studies.service import StudyScope
    from autoscribe.web.dashboard.home import received_query, signed_query

    reading_history(server, clinic)
    scope = StudyScope(clinic_id=uuid.UUID(clinic.clinic_id))
    since = datetime.now(UTC) - timedelta(days=14)
    engine = get_engine()
    for query in (received_query(scope, since), signed_query(scope, since)):
        compiled = query.compile(engine, compile_kwargs={"literal_binds": True})
        with engine.connect() as conn:
            if TEST_DB == "sqlite":
                rows = conn.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))
                plan = " | ".join(str(row[-1]) for row in rows)
                assert "SCAN studies" not in plan and "SCAN reports" not in plan, plan
                assert "ix_studies_clinic_" in plan, plan
            else:
                # With sequential scans priced out, a plan still holding one has no index to use.
                conn.execute(text("SET enable_seqscan = off"))
                plan = " | ".join(row[0] for row in conn.execute(text(f"EXPLAIN {compiled}")))
                assert "Seq Scan" not in plan, plan


def test_home_for_owners_admins_and_others(server: Server, clinic: ClinicFixture) -> None:
    owner = owner_client(server, clinic)
    page = owner.get("/").text
    # A new clinic: the bootstrap made a key; endpoints and a radiologist are still to come.
    assert 'id="next-steps"' in page
    steps = ("Create an API key for your PACS or RIS", "Set the webhook endpoints", "Invite a radiologist")
    assert all(step in page for step in steps)
    assert page.count('<span class="badge ok">Done</span>') == 1 and "Add your name" in page
    assert "No report signed yet today." in page and "No study has arrived in the last 14 days" in page

    make_user(clinic.clinic_id)  # a radiologist
    admin = sign_in_as(server, clinic, level="admin", can_create_reports=False, npi=None)
    page = admin.client.get("/").text
    assert 'id="status-counts"' in page and "Invite a radiologist" not in page  # done: no steps left
    assert "API key" not in page  # the owner's steps

    member = sign_in_as(server, clinic, can_create_reports=True)
    page = member.client.get("/").text
    assert 'id="status-counts"' not in page and 'class="tiles"' in page
