"""The Viewer's reroute URL over real HTTP (no browser): minted with the SDK for no user, opened
once and short-lived like the others, it opens the study's images alone (no report pane, no
dictation; the report routes refuse it), and the images come from study.access_requested, whose
body the fake PACS holds to the SDK's model in strict mode."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import ClinicFixture, Server
from tests.fakepacs import FakePacs, ct_series
from tests.helpers import make_key, make_user, new_uid, sdk, web_login
from tests.workspace.conftest import open_link


@pytest.fixture(scope="module")
def pacs() -> Iterator[FakePacs]:
    with FakePacs.start() as running:
        yield running
    assert not running.invalid_events, running.invalid_events


def _link_row(url: str) -> object:
    from sqlalchemy import select

    from autoscribe.db import session_scope
    from autoscribe.workspace.models import AccessLink

    token = parse_qs(urlsplit(url).query)["token"][0]
    with session_scope() as session:
        return session.scalars(
            select(AccessLink).where(AccessLink.token_hash == hashlib.sha256(token.encode()).hexdigest())
        ).one()


def test_the_viewer_reroute_url_opens_the_images_alone_once(
    server: Server, clinic: ClinicFixture, pacs: FakePacs
) -> None:
    key = make_key(clinic.clinic_id, study_webhook_url=pacs.webhook_url)
    pacs.secret = key.webhook_secret
    client = sdk(server.url, key.api_key)
    uid = new_uid()
    pacs.add_study(uid, series=[ct_series(4, 32)])
    study = client.viewer.studies.create(
        severity="high", study_description="CT Head trauma", study_instance_uid=uid
    )

    url = client.viewer.studies.reroute_url(study_id=study.study_id).url
    assert url.startswith(f"{server.url}/study/{study.study_id}?token=")
    link = _link_row(url)
    assert link.mode == "images" and link.user_id is None  # type: ignore[attr-defined]
    assert link.expires_at - link.created_at == timedelta(seconds=300)  # type: ignore[attr-defined]
    # By UID too.
    assert client.viewer.studies.reroute_url(study_instance_uid=uid).url != url

    browser, opened = open_link(url)
    assert opened.status_code == 303 and opened.headers["location"] == f"/workspace/{study.study_id}"
    page = browser.get(f"/workspace/{study.study_id}")
    assert page.status_code == 200
    html = page.text
    assert 'data-mode="images"' in html and "data-autoscribe-viewer" in html
    assert f'data-source="/workspace/{study.study_id}/images"' in html
    assert "CT Head trauma" in html and "View only" in html
    for report_part in ('id="report-pane"', "report.js", "sign-dialog", "dictation", "csrf-token"):
        assert report_part not in html, report_part

    pacs.clear_log()
    images = browser.get(f"/workspace/{study.study_id}/images")
    assert images.status_code == 200 and images.json()["authorized"] is True
    assert len(images.json()["urls"]) == 4
    (call,) = pacs.webhook_requests()
    assert call.json()["type"] == "study.access_requested"
    assert call.json()["data"] == {"studyId": study.study_id, "studyInstanceUid": uid}

    # No report through this session, whatever is asked.
    report = browser.get(f"/workspace/{study.study_id}/report")
    assert report.status_code == 403 and "images only" in report.json()["error"]["message"]

    # Once only.
    _, again = open_link(url)
    assert again.status_code == 410 and "already been used" in again.text


def test_expired_cancelled_and_refused_viewer_links(
    server: Server, clinic: ClinicFixture, pacs: FakePacs
) -> None:
    key = make_key(clinic.clinic_id, study_webhook_url=pacs.webhook_url)
    client = sdk(server.url, key.api_key)
    study = client.viewer.studies.create(
        severity="normal", study_description="XR Hand", study_instance_uid=new_uid()
    )

    expired = client.viewer.studies.reroute_url(study_id=study.study_id).url
    from autoscribe.db import session_scope, utcnow
    from autoscribe.workspace.models import AccessLink

    with session_scope() as session:
        row = session.get(AccessLink, _link_row(expired).id)  # type: ignore[attr-defined]
        assert row is not None
        row.expires_at = utcnow() - timedelta(seconds=1)
    _, response = open_link(expired)
    assert response.status_code == 410 and "expired" in response.text

    # Cancelling ends an open session and refuses new links.
    browser, _ = open_link(client.viewer.studies.reroute_url(study_id=study.study_id).url)
    assert browser.get(f"/workspace/{study.study_id}").status_code == 200
    client.viewer.studies.cancel(study_id=study.study_id)
    assert browser.get(f"/workspace/{study.study_id}").status_code == 401
    import avara

    with pytest.raises(avara.ConflictError):
        client.viewer.studies.reroute_url(study_id=study.study_id)


def test_dashboard_users_open_viewer_studies_as_images(server: Server, clinic: ClinicFixture) -> None:
    """Anyone with the dashboard who sees a Viewer study on the worklist may look at its images;
    the worklist marks it; nobody gets a report pane for it."""
    client = sdk(server.url, clinic.api_key)
    study = client.viewer.studies.create(
        severity="stat", study_description="CT Angio head", study_instance_uid=new_uid()
    )
    manager = make_user(
        clinic.clinic_id,
        can_create_reports=False,
        npi=None,
        can_manage_studies=True,
        password="viewer-pass-1234",
    )
    web = web_login(server.url, manager_email(manager), "viewer-pass-1234")
    worklist = web.get("/worklist").text
    row = worklist[worklist.index(f'id="study-{study.study_id}"') :]
    row = row[: row.index("</tr>")]
    assert 'data-product="viewer"' in row and "CT Angio head" in row
    page = web.get(f"/worklist/studies/{study.study_id}").text
    assert 'id="study-product"' in page and "View images" in page
    opened = web.get(f"/workspace/{study.study_id}")
    assert opened.status_code == 200 and 'data-mode="images"' in opened.text
    assert 'id="report-pane"' not in opened.text
    # A member who only sees their own assignments does not see it.
    member = make_user(clinic.clinic_id, can_create_reports=False, npi=None, password="viewer-pass-1234")
    other = web_login(server.url, manager_email(member), "viewer-pass-1234")
    assert other.get(f"/workspace/{study.study_id}").status_code == 404


def manager_email(user_id: str) -> str:
    from autoscribe.db import session_scope
    from tests.reporting import user_row

    with session_scope() as session:
        return str(user_row(session, user_id).email)
