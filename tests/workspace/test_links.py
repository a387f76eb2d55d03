"""Opening temporary access links over real HTTP (no browser): once only, token-free afterwards,
sessions scoped to one study, refused when reused, expired, tampered, revoked; the server's own
refusals of view-only edits and stale saves; the dashboard entry; the images endpoint."""

from __future__ import annotations

import re
import threading
import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx

from tests.conftest import ClinicFixture
from tests.fakepacs import Series
from tests.helpers import make_key, make_user, sdk, start_workspace_report, web_client, web_login
from tests.workspace.conftest import Integration, open_link, uuid_of


def _token(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")


def _draft(html: str) -> tuple[str, int]:
    report = re.search(r'data-report-id="(rep_[0-9a-f]{32})"', html)
    version = re.search(r'data-version="(\d+)"', html)
    assert report and version, "the page has no editable draft"
    return report.group(1), int(version.group(1))


def _csrf(html: str) -> str:
    match = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
    assert match
    return match.group(1)


def _content(findings: str = "", impression: str = "") -> dict[str, Any]:
    return {
        "clinicalIndication": "Cough.",
        "technique": "CT chest.",
        "comparison": "",
        "findings": {"text": findings, "subsections": []},
        "impression": impression,
        "isCritical": False,
    }


def _link(url: str) -> Any:
    import hashlib

    from sqlalchemy import select

    from autoscribe.db import session_scope
    from autoscribe.workspace.models import AccessLink

    with session_scope() as session:
        row = session.scalars(
            select(AccessLink).where(
                AccessLink.token_hash == hashlib.sha256(_token(url).encode()).hexdigest()
            )
        ).one()
        session.expunge(row)
        return row


def _expire(url: str) -> None:
    from sqlalchemy import update

    from autoscribe.db import session_scope, utcnow
    from autoscribe.workspace.models import AccessLink

    with session_scope() as session:
        session.execute(
            update(AccessLink)
            .where(AccessLink.id == _link(url).id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )


def _cookie_name(study_id: str) -> str:
    return f"as_ws_{study_id[4:]}"


def _with_cookie(integration: Integration, name: str, value: str) -> httpx.Client:
    """Another browser that sends this cookie value to every path."""
    client = web_client(integration.server.url)
    client.cookies.set(name, value)
    return client


def _opened(integration: Integration, series: list[Series] | None = None) -> tuple[httpx.Client, str, str]:
    """A study opened through its reroute URL and its report started as the page's script does:
    (client with the session cookie, studyId, the page's html with the draft)."""
    study_id, _ = integration.study(series)
    client, response = open_link(integration.reroute(study_id))
    assert response.status_code == 303, response.text
    page = client.get(response.headers["location"])
    assert page.status_code == 200, page.text
    started = start_workspace_report(client, study_id, page.text)
    assert started.status_code == 200, started.text
    page = client.get(response.headers["location"])
    assert page.status_code == 200, page.text
    return client, study_id, page.text


# ---- opening ----------------------------------------------------------------------------------------


def test_a_link_opens_once_and_leaves_no_token_behind(integration: Integration) -> None:
    study_id, _ = integration.study()
    url = integration.reroute(study_id)
    token = _token(url)

    client, response = open_link(url)
    assert response.status_code == 303
    assert response.headers["location"] == f"/workspace/{study_id}"  # token-free address
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{_cookie_name(study_id)}=")  # one cookie per study
    attributes = {a.strip().lower() for a in cookie.split(";")[1:]}
    assert "path=/workspace" in attributes  # the workspace's paths only
    assert {"httponly", "samesite=lax"} <= attributes
    assert "secure" not in attributes  # served over http here; https public URLs get Secure
    assert token not in cookie

    page = client.get(f"/workspace/{study_id}")
    assert page.status_code == 200
    assert 'id="report-starting"' in page.text and "Rita Reader" in page.text
    assert token not in page.text
    assert page.headers["cache-control"] == "no-store"

    # The same link again, from any browser: refused with a page that says why.
    again = web_client(integration.server.url).get(_path(url), headers={"Accept": "text/html"})
    assert again.status_code == 410
    assert "text/html" in again.headers["content-type"]
    assert "already been used" in again.text

    row = _link(url)
    assert row.used_at is not None and row.used_address is not None

    from sqlalchemy import select

    from autoscribe.audit.models import AuditEvent
    from autoscribe.db import session_scope

    with session_scope() as session:
        opened = session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "workspace.opened", AuditEvent.target_id == study_id
            )
        ).all()
        assert len(opened) == 1
        assert opened[0].actor_id == integration.radiologist
        assert opened[0].details["mode"] == "dictate" and opened[0].details["via"] == "link"
        assert token not in str(opened[0].details)

    # The access log has the path, never the token.
    opened_line, refused_line = f"GET /study/{study_id} 303", f"GET /study/{study_id} 410"
    log = integration.server.log_with(opened_line, refused_line)
    assert opened_line in log and refused_line in log
    assert token not in log and quote(token) not in log


def test_expired_tampered_and_misdirected_links(integration: Integration) -> None:
    study_id, _ = integration.study()
    other_id, _ = integration.study()
    browser = web_client(integration.server.url)
    html = {"Accept": "text/html"}

    expired = integration.reroute(study_id)
    _expire(expired)
    response = browser.get(_path(expired), headers=html)
    assert response.status_code == 410 and "expired" in response.text
    assert _link(expired).used_at is None

    url = integration.reroute(study_id)
    token = _token(url)
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    response = browser.get(f"/study/{study_id}?token={tampered}", headers=html)
    assert response.status_code == 404 and "not valid" in response.text
    # A token for one study opened under another study's address, or as an ephemeral session.
    assert browser.get(f"/study/{other_id}?token={token}", headers=html).status_code == 404
    assert browser.get(f"/ephemeral?token={token}", headers=html).status_code == 404
    assert browser.get("/ephemeral", headers=html).status_code == 404
    # None of this spent the token.
    _, response = open_link(url)
    assert response.status_code == 303

    # Without a token, /study/<id> is only another address of the workspace page.
    response = browser.get(f"/study/{study_id}")
    assert response.status_code == 303 and response.headers["location"] == f"/workspace/{study_id}"
    assert browser.get("/study/nonsense", headers=html).status_code == 404


def test_two_browsers_racing_on_one_link_only_one_gets_in(integration: Integration) -> None:
    study_id, _ = integration.study()
    url = integration.reroute(study_id)
    statuses: list[int] = []
    barrier = threading.Barrier(5)

    def attempt() -> None:
        client = web_client(integration.server.url)
        barrier.wait()
        statuses.append(client.get(_path(url)).status_code)

    threads = [threading.Thread(target=attempt) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [303, 410, 410, 410, 410]


def _reports_of(integration: Integration, study_id: str) -> list[str]:
    return [r.report_id for r in integration.client.auto_scribe.reports.list(study_id=study_id).reports]


def _report_reads(study_id: str) -> int:
    from sqlalchemy import func, select

    from autoscribe.audit.models import AuditEvent
    from autoscribe.db import session_scope

    with session_scope() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "read.workspace_report", AuditEvent.target_id == study_id)
            )
            or 0
        )


def test_opening_the_page_only_reads_and_the_report_starts_with_a_post(integration: Integration) -> None:
    study_id, _ = integration.study()
    client, response = open_link(integration.reroute(study_id))
    page = client.get(response.headers["location"])
    assert page.status_code == 200 and 'data-start="true"' in page.text

    # The page and its JSON reload read: no draft, the study still waits for its reader.
    assert 'id="report-form"' not in page.text and "Opening the report" in page.text
    assert client.get(f"/workspace/{study_id}/report").json()["reportId"] is None
    assert client.get(f"/workspace/{study_id}").status_code == 200
    assert integration.client.auto_scribe.studies.retrieve(study_id).study_report_status == "assigned"
    assert _reports_of(integration, study_id) == []

    # Starting it is a POST with the page's CSRF token; its answer (the draft, the priors) is an
    # audited read like the JSON reload.
    assert client.post(f"/workspace/{study_id}/report/start").status_code == 403
    assert _reports_of(integration, study_id) == []
    reads = _report_reads(study_id)
    started = start_workspace_report(client, study_id, page.text)
    assert started.status_code == 200, started.text
    assert _report_reads(study_id) == reads + 1
    pane = started.json()
    assert pane["status"] == "in_progress" and pane["version"] == 1
    assert f'data-report-id="{pane["reportId"]}"' in pane["html"]
    assert integration.client.auto_scribe.studies.retrieve(study_id).study_report_status == "in_progress"
    assert _reports_of(integration, study_id) == [pane["reportId"]]

    # Again (a reload, a second tab): the same draft, nothing new.
    again = start_workspace_report(client, study_id, page.text)
    assert again.status_code == 200
    assert (again.json()["reportId"], again.json()["version"]) == (pane["reportId"], 1)
    assert _reports_of(integration, study_id) == [pane["reportId"]]
    reloaded = client.get(f"/workspace/{study_id}")
    assert f'data-report-id="{pane["reportId"]}"' in reloaded.text


def test_a_view_only_session_never_starts_the_report(integration: Integration) -> None:
    study_id, _ = integration.study()
    integration.reroute(study_id)  # assigned to the radiologist, who has not opened it yet
    viewer, response = open_link(integration.viewer_only(study_id))
    assert response.status_code == 303
    page = viewer.get(f"/workspace/{study_id}")
    assert page.status_code == 200 and 'data-start="true"' not in page.text
    assert "Opening the report" not in page.text and "No report has been written" in page.text

    refused = start_workspace_report(viewer, study_id, page.text)
    assert refused.status_code == 403 and "view-only" in refused.json()["error"]["message"]
    assert integration.client.auto_scribe.studies.retrieve(study_id).study_report_status == "assigned"
    assert _reports_of(integration, study_id) == []


# ---- sessions -----------------------------------------------------------------------------------------


def test_a_workspace_session_opens_only_its_study_and_never_the_dashboard(integration: Integration) -> None:
    client, study_id, _ = _opened(integration)
    other_id, _ = integration.study()
    value = client.cookies.get(_cookie_name(study_id))
    assert value

    # As a dashboard cookie, it opens nothing.
    home = _with_cookie(integration, "as_session", value).get("/")
    assert home.status_code == 303 and home.headers["location"].startswith("/login")
    # Sent as another study's cookie (same clinic, same radiologist): refused.
    stranger = _with_cookie(integration, _cookie_name(other_id), value)
    page = stranger.get(f"/workspace/{other_id}", headers={"Accept": "text/html"})
    assert page.status_code == 401 and "session" in page.text
    images = stranger.get(f"/workspace/{other_id}/images")
    assert images.status_code == 401 and images.json()["error"]["type"] == "authentication_error"
    # It is no API key either.
    api = httpx.get(
        f"{integration.server.url}/v1/autoScribe/studies", headers={"Authorization": f"Bearer {value}"}
    )
    assert api.status_code == 401
    # The browser that holds it has a session for its own study only.
    elsewhere = client.get(f"/workspace/{other_id}", headers={"Accept": "text/html"})
    assert elsewhere.status_code == 303 and elsewhere.headers["location"].startswith("/login")
    assert client.get(f"/workspace/{study_id}").status_code == 200


def test_revoking_the_user_ends_the_workspace_session_at_once(integration: Integration) -> None:
    client, study_id, html = _opened(integration)
    report_id, version = _draft(html)
    headers = {"X-CSRF-Token": _csrf(html)}
    body = {"reportId": report_id, "baseVersion": version, "content": _content("Typed before.")}
    assert client.put(f"/workspace/{study_id}/report/draft", json=body, headers=headers).status_code == 200

    integration.client.auto_scribe.users.revoke_access(user_id=integration.radiologist)

    page = client.get(f"/workspace/{study_id}", headers={"Accept": "text/html"})
    assert page.status_code == 401 and "ended" in page.text
    body = {"reportId": report_id, "baseVersion": version + 1, "content": _content("Typed after.")}
    saved = client.put(f"/workspace/{study_id}/report/draft", json=body, headers=headers)
    assert saved.status_code == 401
    assert client.get(f"/workspace/{study_id}/images").status_code == 401

    # Reactivating does not bring an ended session back.
    integration.client.auto_scribe.users.reactivate(user_id=integration.radiologist)
    assert client.get(f"/workspace/{study_id}").status_code == 401


def test_revoking_the_api_key_ends_its_sessions(integration: Integration) -> None:
    client, study_id, _ = _opened(integration)
    from autoscribe.audit.service import Actor
    from autoscribe.auth.service import get_api_key, revoke_api_key
    from autoscribe.db import session_scope

    with session_scope() as session:
        key = get_api_key(session, uuid.UUID(integration.key.api_key_id))
        revoke_api_key(session, key, actor=Actor.system())
    assert client.get(f"/workspace/{study_id}", headers={"Accept": "text/html"}).status_code == 401


def test_reassigning_the_study_ends_the_reading_session(integration: Integration) -> None:
    client, study_id, html = _opened(integration)
    report_id, version = _draft(html)
    other = make_user(integration.clinic.clinic_id, first_name="Otto", npi="1234567893")

    integration.client.auto_scribe.studies.update(study_id, assigned_to=other)

    page = client.get(f"/workspace/{study_id}", headers={"Accept": "text/html"})
    assert page.status_code == 401 and "ended" in page.text
    assert client.get(f"/workspace/{study_id}/report").status_code == 401
    assert client.get(f"/workspace/{study_id}/images").status_code == 401
    saved = client.put(
        f"/workspace/{study_id}/report/draft",
        json={"reportId": report_id, "baseVersion": version, "content": _content("Typed after.")},
        headers={"X-CSRF-Token": _csrf(html)},
    )
    assert saved.status_code == 401
    # Assigning it back does not revive the ended session: the radiologist needs a new link.
    integration.client.auto_scribe.studies.update(study_id, assigned_to=integration.radiologist)
    assert client.get(f"/workspace/{study_id}").status_code == 401


def test_cancelling_the_study_ends_reading_and_viewing_sessions(integration: Integration) -> None:
    client, study_id, _ = _opened(integration)
    referrer = make_user(integration.clinic.clinic_id, can_create_reports=False, npi=None, first_name="Ref")
    viewer, response = open_link(integration.viewer_only(study_id, referrer))
    assert response.status_code == 303
    assert viewer.get(f"/workspace/{study_id}").status_code == 200

    integration.client.auto_scribe.studies.cancel(study_id=study_id)

    for browser in (client, viewer):
        page = browser.get(f"/workspace/{study_id}", headers={"Accept": "text/html"})
        assert page.status_code == 401 and "ended" in page.text
    integration.client.auto_scribe.studies.uncancel(study_id=study_id)
    assert viewer.get(f"/workspace/{study_id}").status_code == 401


# ---- what the server refuses ---------------------------------------------------------------------------


def test_a_view_only_session_cannot_change_the_report(integration: Integration) -> None:
    # The radiologist has a draft in progress.
    rad_client, study_id, rad_html = _opened(integration)
    report_id, version = _draft(rad_html)
    rad_headers = {"X-CSRF-Token": _csrf(rad_html)}
    body = {
        "reportId": report_id,
        "baseVersion": version,
        "content": _content("Draft findings.", "Draft impression."),
    }
    assert (
        rad_client.put(f"/workspace/{study_id}/report/draft", json=body, headers=rad_headers).status_code
        == 200
    )

    referrer = make_user(integration.clinic.clinic_id, can_create_reports=False, npi=None, first_name="Ref")
    viewer, response = open_link(integration.viewer_only(study_id, referrer))
    assert response.status_code == 303 and response.headers["location"] == f"/workspace/{study_id}"
    page = viewer.get(f"/workspace/{study_id}")
    assert page.status_code == 200
    assert 'id="report-form"' not in page.text and "<textarea" not in page.text
    assert 'data-action="sign"' not in page.text and "View only" in page.text
    assert 'data-start="true"' not in page.text  # its script does not start the report
    assert "Draft findings." in page.text  # the report, read-only (marked as not signed)
    assert "DRAFT" in page.text

    headers = {"X-CSRF-Token": _csrf(page.text)}
    refused = [
        viewer.put(
            f"/workspace/{study_id}/report/draft",
            json={"reportId": report_id, "baseVersion": version + 1, "content": _content("Overwritten!")},
            headers=headers,
        ),
        viewer.post(
            f"/workspace/{study_id}/report/sign",
            json={"reportId": report_id, "baseVersion": version + 1, "isCritical": False},
            headers=headers,
        ),
        viewer.post(f"/workspace/{study_id}/report/start", headers=headers),
        viewer.post(f"/workspace/{study_id}/report/addendum", headers=headers),
        viewer.post(
            f"/workspace/{study_id}/report/addendum/cancel", json={"reportId": report_id}, headers=headers
        ),
    ]
    for response in refused:
        assert response.status_code == 403, response.text
        assert "view-only" in response.json()["error"]["message"]
    # Nothing changed.
    assert "Overwritten!" not in rad_client.get(f"/workspace/{study_id}/report").json()["html"]
    assert integration.client.auto_scribe.studies.retrieve(study_id).study_report_status == "in_progress"


def test_a_stale_save_is_refused_and_nothing_is_overwritten(integration: Integration) -> None:
    client, study_id, html = _opened(integration)
    report_id, version = _draft(html)
    headers = {"X-CSRF-Token": _csrf(html)}
    url = f"/workspace/{study_id}/report/draft"

    first = client.put(
        url,
        json={"reportId": report_id, "baseVersion": version, "content": _content("First.")},
        headers=headers,
    )
    assert first.status_code == 200 and first.json()["version"] == version + 1
    stale = client.put(
        url,
        json={"reportId": report_id, "baseVersion": version, "content": _content("Stale.")},
        headers=headers,
    )
    assert stale.status_code == 409
    assert stale.json()["error"]["param"] == "baseVersion"
    current = client.get(f"/workspace/{study_id}/report").json()
    assert current["version"] == version + 1 and current["content"]["findings"]["text"] == "First."

    # Bad content names the field; a missing CSRF token is refused.
    bad = client.put(
        url,
        json={"reportId": report_id, "baseVersion": version + 1, "content": {**_content(), "impression": 5}},
        headers=headers,
    )
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "impression"
    no_csrf = client.put(
        url, json={"reportId": report_id, "baseVersion": version + 1, "content": _content("x")}
    )
    assert no_csrf.status_code == 403


# ---- dashboard entry -----------------------------------------------------------------------------------


def test_dashboard_radiologists_open_studies_assigned_to_them(integration: Integration) -> None:
    clinic: ClinicFixture = integration.clinic
    password = "dashboard-password-1"
    email = f"dash-{clinic.clinic_id[:8]}@example.test"
    rad = make_user(clinic.clinic_id, email=email, password=password, first_name="Dana", last_name="Dash")
    mine, _ = integration.study(assigned_to=rad)
    theirs, _ = integration.study(assigned_to=integration.radiologist)

    anonymous = web_client(integration.server.url)
    response = anonymous.get(f"/workspace/{mine}")
    assert (
        response.status_code == 303 and response.headers["location"] == f"/login?next=%2Fworkspace%2F{mine}"
    )

    client = web_login(integration.server.url, email, password)
    page = client.get(f"/workspace/{mine}")
    assert page.status_code == 200 and 'data-start="true"' in page.text and "Dana Dash" in page.text
    started = start_workspace_report(client, mine, page.text)
    assert started.status_code == 200 and 'id="report-form"' in started.json()["html"]
    assert integration.client.auto_scribe.studies.retrieve(mine).study_report_status == "in_progress"
    # The dashboard user edits like a link user does.
    report_id, version = _draft(started.json()["html"])
    saved = client.put(
        f"/workspace/{mine}/report/draft",
        headers={"X-CSRF-Token": _csrf(page.text)},
        json={"reportId": report_id, "baseVersion": version, "content": _content("Dash.")},
    )
    assert saved.status_code == 200

    other = client.get(f"/workspace/{theirs}", headers={"Accept": "text/html"})
    assert other.status_code == 403 and "not assigned to you" in other.text
    assert client.get(f"/workspace/{theirs}/images").status_code == 403

    scheduler_email = f"sched-{clinic.clinic_id[:8]}@example.test"
    make_user(clinic.clinic_id, email=scheduler_email, password=password, can_create_reports=False, npi=None)
    scheduler = web_login(integration.server.url, scheduler_email, password)
    refused = scheduler.get(f"/workspace/{mine}", headers={"Accept": "text/html"})
    assert refused.status_code == 403 and "canCreateReports" in refused.text

    # Dashboard access withdrawn while signed in: the "restricted access" page, not the study.
    from autoscribe.db import session_scope
    from autoscribe.users.models import User

    with session_scope() as session:
        user = session.get(User, uuid_of(rad))
        assert user is not None
        user.has_dashboard_access = False
    response = client.get(f"/workspace/{mine}", headers={"Accept": "text/html"})
    assert response.status_code == 403 and 'id="report-form"' not in response.text
    assert "restricted" in response.text.lower()


# ---- images ----------------------------------------------------------------------------------------------


def test_the_images_endpoint_relays_the_integrator(integration: Integration, series: list[Series]) -> None:
    client, study_id, _ = _opened(integration, series)
    answer = client.get(f"/workspace/{study_id}/images")
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert body["authorized"] is True and len(body["urls"]) == 80
    assert body["manifest"]["series"][0]["sops"]
    event = integration.pacs.webhook_requests()[-1].json()
    assert event["type"] == "study.access_requested"
    assert event["data"]["studyId"] == study_id

    integration.pacs.webhook_response = {"authorized": False, "error": "Patient consent withdrawn"}
    refused = client.get(f"/workspace/{study_id}/images")
    assert refused.status_code == 200
    assert refused.json() == {
        "authorized": False,
        "urls": [],
        "mediaUrls": [],
        "error": "Patient consent withdrawn",
    }

    integration.pacs.webhook_response = None
    integration.pacs.webhook_status = 500
    failed = client.get(f"/workspace/{study_id}/images")
    assert failed.status_code == 502 and "HTTP 500" in failed.json()["error"]["message"]


def _images_through_a_link(client: Any, reader: str, study_id: str) -> httpx.Response:
    """Mint a reading link with `client`'s key, open it, and ask for the study's images."""
    url = client.auto_scribe.studies.reroute_url(assigned_to_user_id=reader, study_id=study_id).url
    browser, response = open_link(url)
    return browser.get(response.headers["location"] + "/images")


def test_images_without_a_study_webhook_say_so(integration: Integration, series: list[Series]) -> None:
    key = make_key(integration.clinic.clinic_id, description="no webhooks")
    client = sdk(integration.server.url, key.api_key)
    study_id, _ = integration.study(series[1:])
    answer = _images_through_a_link(client, integration.radiologist, study_id)
    # The study's own key (the one that created it) has the webhook: it is asked instead.
    assert answer.status_code == 200 and answer.json()["authorized"] is True, answer.text

    # A study made in the dashboard (no creating key): whoever receives its study events is asked,
    # the clinic's key with the study webhook, as for every other study event.
    from autoscribe.db import session_scope
    from autoscribe.studies.models import Study

    dashboard_study, _ = integration.study(series[1:])
    with session_scope() as session:
        row = session.get(Study, uuid_of(dashboard_study))
        assert row is not None
        row.created_by_api_key_id = None
    asked = len(integration.pacs.webhook_requests())
    answer = _images_through_a_link(client, integration.radiologist, dashboard_study)
    assert answer.status_code == 200 and answer.json()["authorized"] is True, answer.text
    assert integration.pacs.webhook_requests()[asked:][-1].json()["data"]["studyId"] == dashboard_study

    lone = make_key(integration.clinic.clinic_id, description="lonely", study_scope="self")
    lone_client = sdk(integration.server.url, lone.api_key)
    from tests.helpers import new_uid

    own = lone_client.auto_scribe.studies.create(
        severity="normal", study_description="X", study_instance_uid=new_uid(), report_metadata={}
    ).study_id
    answer = _images_through_a_link(lone_client, integration.radiologist, own)
    assert answer.status_code == 422
    assert answer.json()["error"]["param"] == "studyWebhookUrl"


# ---- ephemeral sessions ------------------------------------------------------------------------------


def test_an_ephemeral_session_over_http(integration: Integration, series: list[Series]) -> None:
    first = integration.pacs.add_study(series=series[:1], retrieval_id="order-777")
    second = integration.pacs.add_study(series=series[1:], retrieval_id="order-777")
    url = integration.client.auto_scribe.ephemeral_sessions.create(
        retrieval_id="order-777", options={"studyInstanceUids": [first.study_instance_uid]}
    ).url
    client, response = open_link(url)
    assert response.status_code == 303
    location = response.headers["location"]
    assert re.fullmatch(r"/ephemeral/[0-9a-f]{32}", location)
    cookie = response.headers["set-cookie"].lower()
    assert cookie.startswith("as_ws_ephemeral=") and f"path={location}" in cookie

    page = client.get(location)
    assert page.status_code == 200 and "order-777" in page.text and "report-form" not in page.text
    images = client.get(location + "/images").json()
    assert images["authorized"] is True and len(images["urls"]) == 80
    assert [m["studyInstanceUID"] for m in images["manifests"]] == [
        first.study_instance_uid,
        second.study_instance_uid,
    ]
    event = integration.pacs.webhook_requests()[-1].json()
    assert event["type"] == "ephemeral.access_requested"
    assert event["data"] == {
        "retrievalId": "order-777",
        "options": {"studyInstanceUids": [first.study_instance_uid]},
    }

    _, again = open_link(url)
    assert again.status_code == 410
    # The session is not a study session, nor a dashboard one.
    value = client.cookies.get("as_ws_ephemeral")
    assert value
    assert _with_cookie(integration, "as_session", value).get("/").status_code == 303
    study_id, _ = integration.study()
    refused = _with_cookie(integration, _cookie_name(study_id), value).get(f"/workspace/{study_id}")
    assert refused.status_code == 401
    assert web_client(integration.server.url).get(location + "/images").status_code == 401


def test_an_expired_ephemeral_link_is_refused(integration: Integration) -> None:
    url = integration.client.auto_scribe.ephemeral_sessions.create(retrieval_id="late").url
    _expire(url)
    _, response = open_link(url)
    assert response.status_code == 410 and "expired" in response.text


def test_the_page_shows_the_study_header_and_priors(integration: Integration) -> None:
    from tests.reporting import content, dictate_and_sign

    prior_id, _ = integration.study(
        external_patient_id="PAT-42", assigned_to=integration.radiologist, study_description="CT Chest 2025"
    )
    dictate_and_sign(
        prior_id, integration.radiologist, body=content(findings="Calcified granuloma, left lower lobe.")
    )
    study_id, _ = integration.study(
        external_patient_id="PAT-42",
        clinical_history="Former smoker, 30 pack-years.",
        technologist_notes=["Patient moved on series 3.", "Contrast not given (renal function)."],
        prior_reports=[
            {
                "report_text": "Outside CXR: no focal consolidation.",
                "modality": "CR",
                "study_date": "2024-05-01",
            }
        ],
    )
    client, response = open_link(integration.reroute(study_id))
    html = client.get(response.headers["location"]).text
    for text in (
        "Johanna Testpatient",
        "1971-04-12",
        "Female",
        "MRN-778899",
        "Dr. Alan Referrer",
        "Cough for six weeks.",
        "Former smoker, 30 pack-years.",
        "Axial CT of the chest without contrast, 2.5 mm.",
        "Patient moved on series 3.",
        "Contrast not given (renal function).",
    ):
        assert text in html, text
    priors = re.findall(r'<details class="ws-prior">(.*?)</details>', html, re.S)
    assert len(priors) == 2
    assert "CT Chest 2025" in priors[0] and "Calcified granuloma, left lower lobe." in priors[0]
    assert "2024-05-01" in priors[1] and "Outside CXR: no focal consolidation." in priors[1]


# ---- the scribe engine's routes -----------------------------------------------------------------------


def test_dictation_routes_use_the_workspace_session(integration: Integration) -> None:
    client, study_id, _ = _opened(integration)
    other_id, _ = integration.study()
    header = {"X-Workspace-Study": study_id}

    templates = client.get("/workspace/api/scribe/templates", headers=header)
    assert templates.status_code == 200 and templates.json()["data"]
    created = client.post("/workspace/api/dictations", json={}, headers=header)
    assert created.status_code == 201, created.text
    dictation_id = created.json()["dictationId"]
    assert client.get(f"/workspace/api/dictations/{dictation_id}", headers=header).status_code == 200

    # The study must be named, and be the session's own.
    missing = client.post("/workspace/api/dictations", json={})
    assert missing.status_code == 400 and missing.json()["error"]["param"] == "X-Workspace-Study"
    other = client.post("/workspace/api/dictations", json={}, headers={"X-Workspace-Study": other_id})
    assert other.status_code == 401
    assert (
        web_client(integration.server.url)
        .post("/workspace/api/dictations", json={}, headers=header)
        .status_code
        == 401
    )

    # View-only sessions cannot dictate.
    viewer, response = open_link(integration.viewer_only(study_id))
    assert response.status_code == 303
    refused = viewer.post("/workspace/api/dictations", json={}, headers=header)
    assert refused.status_code == 403 and "view-only" in refused.json()["error"]["message"]
