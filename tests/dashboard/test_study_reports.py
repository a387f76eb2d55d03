"""A study's signed report on the dashboard: who may read it and download its PDFs, and that
every download is audited."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from tests.browser.dashboard.test_first_hour_browser import signed_with_addendum
from tests.conftest import ClinicFixture, Server
from tests.dashboard.conftest import owner_client, sign_in_as
from tests.helpers import sdk
from tests.reporting import IMPRESSION, create_study, dictate_and_sign, pdf_text


def _pdf(study_id: str, report_id: str) -> str:
    return f"/worklist/studies/{study_id}/reports/{report_id}/pdf"


def test_who_reads_signed_reports_and_their_pdfs(
    server: Server, clinic: ClinicFixture, other_clinic: ClinicFixture
) -> None:
    rad = sign_in_as(server, clinic, first_name="Ada", last_name="Amender")
    study_id, original, addendum, _ = signed_with_addendum(server, clinic, rad.user_id)

    # Those who manage studies read it (here a technologist without report rights)...
    tech = sign_in_as(server, clinic, can_create_reports=False, npi=None, can_manage_studies=True)
    shown = tech.client.get(f"/worklist/studies/{study_id}")
    assert shown.status_code == 200 and 'id="signed-report"' in shown.text and IMPRESSION in shown.text
    got = tech.client.get(_pdf(study_id, original))
    assert got.status_code == 200 and got.headers["content-type"] == "application/pdf"
    assert got.headers["content-disposition"] == f'attachment; filename="{original}.pdf"'
    assert "high-grade glioma" in pdf_text(got.content)
    # ...and so does the radiologist it is assigned to.
    assert rad.client.get(_pdf(study_id, addendum)).status_code == 200

    # Someone with neither right gets no PDF; another radiologist does not see a study assigned
    # to someone else, nor does another clinic.
    plain = sign_in_as(server, clinic, can_create_reports=False, npi=None)
    assert plain.client.get(_pdf(study_id, original)).status_code == 403
    other_rad = sign_in_as(server, clinic)
    assert other_rad.client.get(_pdf(study_id, original)).status_code == 404
    assert owner_client(server, other_clinic).get(_pdf(study_id, original)).status_code == 404

    # A draft has no PDF; a report is found under its own study only.
    owner = owner_client(server, clinic)
    client = sdk(server.url, clinic.api_key)
    draft = (client.auto_scribe.studies.retrieve(study_id).report_ids or [])[-1]
    assert draft.status == "in_progress"
    assert owner.get(_pdf(study_id, draft.report_id)).status_code == 404
    elsewhere = create_study(client, rad.user_id)
    dictate_and_sign(elsewhere, rad.user_id)
    assert owner.get(_pdf(elsewhere, original)).status_code == 404
    assert owner.get(_pdf(study_id, "rep_not-an-id")).status_code == 404

    # Every download is a read in the audit log: who, which report, from the dashboard.
    from autoscribe.audit.models import AuditEvent
    from autoscribe.db import session_scope

    with session_scope() as session:
        rows = session.scalars(
            select(AuditEvent).where(
                AuditEvent.clinic_id == uuid.UUID(clinic.clinic_id), AuditEvent.action == "read.report_pdf"
            )
        ).all()
        assert sorted((r.actor_id, r.details["reportIds"], r.details["via"]) for r in rows) == sorted(
            [(tech.user_id, [original], "dashboard"), (rad.user_id, [addendum], "dashboard")]
        )


def test_the_report_view_costs_three_queries(server: Server, clinic: ClinicFixture) -> None:
    from sqlalchemy import event

    from autoscribe.db import get_engine, session_scope
    from autoscribe.studies import service as studies
    from autoscribe.users.models import User
    from autoscribe.web.dashboard.study_reports import reports_view

    study_id, *_ = signed_with_addendum(server, clinic)
    seen: list[str] = []
    with session_scope() as session:
        owner = session.get(User, uuid.UUID(hex=clinic.owner_id.split("_", 1)[1]))
        assert owner is not None
        study = studies.get_study(session, studies.scope_for_user(session, owner), study_id)

        def record(*args: object) -> None:
            seen.append(str(args[2]))

        event.listen(get_engine(), "before_cursor_execute", record)
        try:
            view = reports_view(session, owner, study)
        finally:
            event.remove(get_engine(), "before_cursor_execute", record)
    assert view is not None and [v.label for v in view.versions] == ["Report", "Addendum 1"]
    assert len(seen) == 3, seen  # the reports, the document's addenda, its clinic name
