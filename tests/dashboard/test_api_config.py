"""API Config over HTTP: the key is shown once and works with the SDK, errors appear next to
their fields, endpoints, the JWT secret (viewed, rotated), revocation, test events."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import uuid
from collections.abc import Callable

import avara
import pytest
from avara import Avara

from tests.conftest import ClinicFixture, Server
from tests.dashboard.conftest import field_error, flash_of, owner_client, sign_in_as, submit
from tests.helpers import new_uid, sdk
from tests.webhooks.conftest import Received, Receiver


def _new_key(owner: object, **fields: str) -> tuple[str, str]:
    """Create a key through the form: (the key shown once, the API key id)."""
    data = {"studyScope": "all", "userAccess": "none", "expressAccess": "none", **fields}
    response = submit(owner, "/api-config/new", "/api-config/new", data)  # type: ignore[arg-type]
    assert response.status_code == 200, response.text[:3000]
    shown = re.search(r'id="new-api-key"[^>]*value="([^"]+)"', response.text)
    assert shown
    assert "you will not be able to view it again" in response.text
    from autoscribe.auth.crypto import hash_token
    from autoscribe.auth.models import ApiKey
    from autoscribe.db import session_scope

    with session_scope() as session:
        key = session.query(ApiKey).filter(ApiKey.key_hash == hash_token(shown.group(1))).one()
        return shown.group(1), str(key.id)


def _secret_on_page(html: str) -> str:
    match = re.search(r'id="jwt-secret"[^>]*value="([^"]+)"', html)
    assert match, html[:2000]
    return match.group(1)


def test_create_key_shown_once_and_usable_with_the_sdk(server: Server, clinic: ClinicFixture) -> None:
    owner = owner_client(server, clinic)
    # Errors in plain words next to their fields, and what was typed is kept.
    page = submit(
        owner,
        "/api-config/new",
        "/api-config/new",
        {"description": "  ", "studyScope": "self", "userAccess": "none", "expressAccess": "none"},
    )
    assert page.status_code == 400
    assert field_error(page.text, "description") == "description must be 1 to 200 characters"
    page = submit(
        owner,
        "/api-config/new",
        "/api-config/new",
        {
            "description": "Main PACS",
            "studyScope": "self",
            "userAccess": "none",
            "expressAccess": "none",
            "reportWebhookUrl": "ftp://files.example.test/in",
        },
    )
    assert page.status_code == 400
    assert "must be an absolute http:// or https:// URL" in (field_error(page.text, "reportWebhookUrl") or "")
    assert 'value="Main PACS"' in page.text and re.search(r'id="studyScope-self"[^>]*checked', page.text)

    plaintext, key_id = _new_key(owner, description="Main PACS", studyScope="self", userAccess="read")
    # It works with the official SDK, with the scope chosen: "self" sees only its own studies.
    mine = sdk(server.url, plaintext).auto_scribe.studies.create(
        severity="normal", study_description="CT head", study_instance_uid=new_uid(), report_metadata={}
    )
    sdk(server.url, clinic.api_key).auto_scribe.studies.create(
        severity="normal", study_description="Not mine", study_instance_uid=new_uid(), report_metadata={}
    )
    assert [s.study_id for s in sdk(server.url, plaintext).auto_scribe.studies.list().studies] == [
        mine.study_id
    ]
    assert sdk(server.url, plaintext).auto_scribe.users.list().users  # user access "read"
    with pytest.raises(avara.PermissionDeniedError):
        sdk(server.url, plaintext).express.list()

    # Never shown again: not on the list, not anywhere.
    listing = owner.get("/api-config").text
    assert plaintext not in listing and "Main PACS" in listing
    card = listing[listing.index(f'id="key-{key_id}"') :]
    card = card[: card.index("</li>")]
    assert "Self" in card and "Read" in card and "Never" not in card  # used just now
    from autoscribe.auth.models import ApiKey
    from autoscribe.db import session_scope
    from autoscribe.users.models import User

    with session_scope() as session:
        key = session.get(ApiKey, uuid.UUID(key_id))
        assert key is not None and key.created_by_user_id is not None
        owner_row = session.get(User, key.created_by_user_id)
        assert owner_row is not None and owner_row.email == clinic.owner_email


def test_the_viewer_is_switched_per_key(server: Server, clinic: ClinicFixture) -> None:
    """Create API Key has "Viewer enabled" (on by default); each key's card shows it and a button
    switches it; a key without it gets 403 from /v1/viewer."""
    owner = owner_client(server, clinic)
    assert re.search(r'id="isViewerEnabled"[^>]*checked', owner.get("/api-config/new").text)
    plaintext, key_id = _new_key(owner, description="Reporting only")  # the box left unticked
    client = sdk(server.url, plaintext)
    with pytest.raises(avara.PermissionDeniedError) as refused:
        client.viewer.studies.list()
    assert "isViewerEnabled is false" in refused.value.body["error"]["message"]

    def card() -> str:
        listing = owner.get("/api-config").text
        start = listing.index(f'id="key-{key_id}"')
        return listing[start : listing.index("</li>", start)]

    assert f'id="key-{key_id}-viewer">Disabled' in card() and "Enable Viewer" in card()
    on = submit(owner, "/api-config", f"/api-config/keys/{key_id}/viewer", {"enabled": "on"})
    assert "Viewer enabled" in flash_of(owner, on)
    assert f'id="key-{key_id}-viewer">Enabled' in card() and "Disable Viewer" in card()
    assert client.viewer.studies.list().studies == []
    off = submit(owner, "/api-config", f"/api-config/keys/{key_id}/viewer", {})
    assert "Viewer disabled" in flash_of(owner, off)
    with pytest.raises(avara.PermissionDeniedError):
        client.viewer.users.list()

    ticked, _ = _new_key(owner, description="Viewer too", isViewerEnabled="on")
    assert sdk(server.url, ticked).viewer.studies.list().studies == []


def test_edit_endpoints_view_and_rotate_secret_revoke(
    server: Server, clinic: ClinicFixture, receivers: Callable[..., Receiver]
) -> None:
    owner = owner_client(server, clinic)
    key_id = clinic.api_key_id
    page = f"/api-config/keys/{key_id}/endpoints"
    response = submit(owner, page, page, {"studyWebhookUrl": "not a url", "reportWebhookUrl": ""})
    assert response.status_code == 400
    assert "absolute http:// or https:// URL" in (field_error(response.text, "studyWebhookUrl") or "")
    assert 'value="not a url"' in response.text

    receiver = receivers()
    response = submit(owner, page, page, {"studyWebhookUrl": "", "reportWebhookUrl": receiver.url})
    assert flash_of(owner, response) == "Webhook endpoints saved for “First API key”."
    assert receiver.url in owner.get("/api-config").text

    # View JWT Secret: the key's secret, any time; who looked is in the audit log.
    viewed = owner.get(f"/api-config/keys/{key_id}/secret")
    assert _secret_on_page(viewed.text) == clinic.webhook_secret
    assert "AVARA_JWT_WEBHOOK_SECRET" in viewed.text
    assert _secret_on_page(owner.get(f"/api-config/keys/{key_id}/secret").text) == clinic.webhook_secret
    audit = owner.get("/audit-log?action=api_key.").text
    assert audit.count("JWT secret viewed") == 2 and "Webhook endpoints changed" in audit

    # Rotate (after a confirmation page): a new secret, shown at once; the API key itself still works.
    confirm = owner.get(f"/api-config/keys/{key_id}/rotate-secret")
    assert "Rotate the webhook secret?" in confirm.text
    rotated = submit(owner, confirm.request.url.path, f"/api-config/keys/{key_id}/rotate-secret", {})
    new_secret = _secret_on_page(rotated.text)
    assert new_secret.startswith("whsec_") and new_secret != clinic.webhook_secret
    assert _secret_on_page(owner.get(f"/api-config/keys/{key_id}/secret").text) == new_secret
    assert sdk(server.url, clinic.api_key).auto_scribe.studies.list() is not None

    # The next webhook is signed with the new secret (send a test event and check the signature).
    result = submit(
        owner,
        f"/api-config/keys/{key_id}/test",
        f"/api-config/keys/{key_id}/test",
        {"event": "report.delivered"},
    )
    assert 'id="test-status">200<' in result.text
    got = receiver.requests[-1]
    expected = hmac.new(
        new_secret.encode(), (got.headers["x-avara-timestamp"] + got.body.decode()).encode(), hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(got.headers["x-avara-signature"], expected)
    Avara(api_key="unused", webhook_key=new_secret).webhooks.unwrap(got.body.decode(), headers=got.headers)

    # Revoke: confirmation, then the key stops working and its actions disappear.
    confirm = owner.get(f"/api-config/keys/{key_id}/revoke")
    assert "Revoke “First API key”?" in confirm.text
    response = submit(owner, f"/api-config/keys/{key_id}/revoke", f"/api-config/keys/{key_id}/revoke", {})
    assert "revoked" in flash_of(owner, response)
    with pytest.raises(avara.AuthenticationError):
        sdk(server.url, clinic.api_key).auto_scribe.studies.list()
    listing = owner.get("/api-config").text
    assert "Revoked" in listing and f"/api-config/keys/{key_id}/secret" not in listing
    assert owner.get(f"/api-config/keys/{key_id}/secret").status_code == 404
    assert owner.get("/api-config/keys/not-a-key/secret").status_code == 404


def test_send_test_events_show_what_the_receiver_answered(
    server: Server, clinic: ClinicFixture, receivers: Callable[..., Receiver]
) -> None:
    def answer(request: Received) -> tuple[int, dict[str, str], bytes]:
        if request.event["type"] == "study.access_requested":
            body = {
                "authorized": True,
                "urls": ["https://pacs.example.test/1.dcm", "https://pacs.example.test/2.dcm"],
            }
            return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()
        return 503, {}, b"maintenance until 10:00"

    receiver = receivers(answer)
    owner = owner_client(server, clinic)
    key_id = clinic.api_key_id
    test_page = f"/api-config/keys/{key_id}/test"
    # Nothing configured yet: said in words, nothing sent.
    result = submit(owner, test_page, test_page, {"event": "study.access_requested"})
    assert "has no study data webhook endpoint configured" in result.text and receiver.requests == []

    page = f"/api-config/keys/{key_id}/endpoints"
    submit(owner, page, page, {"studyWebhookUrl": receiver.url, "reportWebhookUrl": receiver.url})
    result = submit(owner, test_page, test_page, {"event": "study.access_requested"})
    assert 'id="test-status">200<' in result.text
    assert "authorized, 2 image URLs" in result.text and "https://pacs.example.test/2.dcm" in result.text
    result = submit(owner, test_page, test_page, {"event": "report.delivered"})
    assert "Not delivered" in result.text and 'id="test-status">503<' in result.text
    assert "maintenance until 10:00" in result.text
    assert [r.event["type"] for r in receiver.requests] == ["study.access_requested", "report.delivered"]
    # Both are in the delivery log, as test events.
    deliveries = owner.get("/deliveries").text
    assert deliveries.count("Test event") == 2


def test_edit_endpoints_warns_about_urls_the_server_would_refuse(
    guarded_server: Server, server: Server, clinic: ClinicFixture
) -> None:
    owner = owner_client(guarded_server, clinic)
    page = f"/api-config/keys/{clinic.api_key_id}/endpoints"
    loopback, private = "http://127.0.0.1:9/hook", "http://10.1.2.3/hook"
    # Checked as the field changes, by the webhook guard itself: loopback is refused, a public
    # address is not (an IP literal: no name lookup in the test).
    check = owner.get("/api-config/endpoint-check", params={"studyWebhookUrl": loopback})
    assert "This server will refuse to call this URL" in check.text and "127.0.0.1" in check.text
    assert "AUTOSCRIBE_WEBHOOK_ALLOW_PRIVATE=1" in check.text
    public = owner.get(
        "/api-config/endpoint-check", params={"reportWebhookUrl": "https://93.184.215.14/hook"}
    )
    assert public.status_code == 200 and public.text == ""
    # Saving is allowed (the setting may be about to change), and says what will happen.
    saved = submit(owner, page, page, {"studyWebhookUrl": loopback, "reportWebhookUrl": private})
    message = flash_of(owner, saved)
    assert message.startswith("Webhook endpoints saved for")
    assert "Warning: this server will refuse to call the study data and report data endpoints" in message
    # Opened again, the dialog shows the warning under each field.
    form = owner.get(page).text
    for field in ("studyWebhookUrl", "reportWebhookUrl"):
        warning = re.search(rf'id="{field}-warning"[^>]*>(.*?)</p>', form, flags=re.S)
        assert warning and "refuse to call" in warning.group(1), form
    # A local server (AUTOSCRIBE_WEBHOOK_ALLOW_PRIVATE=1, as with `make run`) calls them: no warning.
    local = owner_client(server, clinic)
    assert local.get("/api-config/endpoint-check", params={"studyWebhookUrl": loopback}).text == ""
    assert "refuse to call" not in local.get(page).text
    # Like the rest of API Config, for the owner only.
    admin = sign_in_as(server, clinic, level="admin", can_create_reports=False, npi=None)
    refused = admin.client.get("/api-config/endpoint-check", params={"studyWebhookUrl": loopback})
    assert refused.status_code == 403
