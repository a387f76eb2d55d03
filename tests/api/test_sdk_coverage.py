"""Every method of the official `avara` SDK 0.3.0, called against this server, and every answer
validated with the SDK's own return model in pydantic's strict mode; the README's table of SDK
resources ("SDK coverage") must say exactly what this test finds.

The SDK's resources are walked (`Avara()` and its sub-resources, their public methods), so a
method the SDK has and this test does not call fails the test, as does a method it calls that
the SDK does not have. HTTP methods are called through `.with_raw_response` and their bodies
validated with the method's return annotation (a model, a page of models, or a union);
`webhooks.unwrap` / `unsafe_unwrap` are given real webhooks this server sent (a
study.access_requested verified with the key's secret, a real signing's report.delivered).
"""

from __future__ import annotations

import inspect
import json
import re
import secrets
import threading
import typing
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import avara
import pytest
from avara import Avara
from avara._resource import SyncAPIResource
from pydantic import TypeAdapter

from tests.conftest import ClinicFixture, Server
from tests.helpers import make_key, make_user, new_uid, sdk, web_client
from tests.reporting import PATIENT, Receiver, content, dictate_and_sign

README = Path(__file__).resolve().parents[2] / "README.md"
NPI = "1003000126"


def sdk_methods(client: Avara) -> dict[str, list[str]]:
    """{resource path ("viewer.users.invitations"): its public methods}, walked from the client."""
    found: dict[str, list[str]] = {}

    def walk(resource: SyncAPIResource, path: str) -> None:
        for name, member in inspect.getmembers(type(resource)):
            if name.startswith("_") or name in ("with_raw_response", "with_streaming_response"):
                continue
            if inspect.isfunction(member):
                found.setdefault(path, []).append(name)
            elif isinstance(getattr(resource, name, None), SyncAPIResource):
                walk(getattr(resource, name), f"{path}.{name}")

    for name in dir(client):
        value = getattr(client, name, None) if not name.startswith("_") else None
        if isinstance(value, SyncAPIResource):
            walk(value, name)
    return {path: sorted(methods) for path, methods in sorted(found.items())}


class Calls:
    """Calls SDK methods, validating each answer strictly, and remembers which were called."""

    def __init__(self, client: Avara) -> None:
        self.paths: dict[int, str] = {}
        self.called: set[str] = set()
        self._index(client)

    def _index(self, client: Avara) -> None:
        def walk(resource: SyncAPIResource, path: str) -> None:
            self.paths[id(resource)] = path
            for name in dir(resource):
                if not name.startswith("_") and isinstance(
                    child := getattr(resource, name, None), SyncAPIResource
                ):
                    walk(child, f"{path}.{name}")

        for name in dir(client):
            if not name.startswith("_") and isinstance(value := getattr(client, name, None), SyncAPIResource):
                walk(value, name)

    def __call__(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        resource = method.__self__  # type: ignore[attr-defined]
        self.called.add(f"{self.paths[id(resource)]}.{method.__name__}")
        raw = getattr(resource.with_raw_response, method.__name__)(*args, **kwargs)
        model = typing.get_type_hints(method)["return"]
        return TypeAdapter(model).validate_json(raw.http_response.content, strict=True)


class Capture:
    """A study data endpoint that records each webhook (body and headers) and grants access."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []
        capture = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                capture.requests.append((body, dict(self.headers)))
                reply = b'{"authorized": true, "urls": ["https://pacs.example.test/1.dcm"]}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/avara/studies"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def capture() -> Iterator[Capture]:
    endpoint = Capture()
    yield endpoint
    endpoint.httpd.shutdown()
    endpoint.httpd.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    rec.start()
    yield rec
    rec.stop()


def _open_images(server: Server, url: str) -> None:
    """Open a reroute URL as a browser does and load the images (study.access_requested)."""
    browser = web_client(server.url)
    opened = browser.get(url.removeprefix(server.url))
    assert opened.status_code == 303, opened.text
    images = browser.get(opened.headers["location"] + "/images")
    assert images.status_code == 200, images.text


def _invite(**extra: Any) -> dict[str, Any]:
    return {
        "can_manage_studies": False,
        "clinic_role": "Other",
        "email": f"sdk-{secrets.token_hex(4)}@example.test",
        "first_name": "Sam",
        "last_name": "Dekay",
        "has_dashboard_access": False,
        "level": "member",
        **extra,
    }


def test_every_sdk_method_works_here(
    server: Server, clinic: ClinicFixture, capture: Capture, receiver: Receiver
) -> None:
    key = make_key(clinic.clinic_id, study_webhook_url=capture.url, report_webhook_url=receiver.url)
    receiver.secret = key.webhook_secret
    client = sdk(server.url, key.api_key)
    call = Calls(client)
    a, v, x = client.auto_scribe, client.viewer, client.express
    radiologist = make_user(clinic.clinic_id, npi=NPI)

    # ---- Express ----
    customer = call(x.create, express_customer_name="Coverage Imaging", metadata={"tier": "gold"})
    cus = customer.express_customer_id
    call(x.retrieve, cus)
    call(x.update, cus, express_customer_name="Coverage Imaging Group")
    call(x.list, limit=5)
    call(x.users.add, cus, user_id=radiologist)
    call(x.users.remove, cus, user_id=radiologist)
    call(x.deactivate, cus)
    call(x.reactivate, cus)

    # ---- AutoScribe: clinical references ----
    ref = call(
        a.clinical_references.create, name="North Campus", type="facility", external_reference_id="fac-1"
    )
    call(a.clinical_references.retrieve, ref.clinical_reference_id)
    call(a.clinical_references.update, ref.clinical_reference_id, metadata={"floor": "2"})
    call(a.clinical_references.list, type="facility")
    call(a.clinical_references.retrieve_by_external_reference_id, "fac-1")
    call(a.clinical_references.delete, ref.clinical_reference_id)

    # ---- AutoScribe: users and invitations ----
    person = call(a.users.invite, **_invite(can_create_reports=True, npi_number="1245319599"))
    call(a.users.retrieve, person.user_id)
    call(a.users.update, person.user_id, first_name="Samantha")
    call(a.users.list, limit=5)
    invitation = call(a.users.invitations.list, user_id=person.user_id).invitations[0]
    call(a.users.invitations.retrieve, invitation.invitation_id)
    call(a.users.invitations.update, invitation.invitation_id, last_name="Decay")
    call(a.users.invitations.revoke, invitation_id=invitation.invitation_id)
    call(a.users.revoke_access, user_id=radiologist)
    call(a.users.reactivate, user_id=radiologist)

    # ---- AutoScribe: studies, links, reports ----
    uid = new_uid()
    study = call(
        a.studies.create,
        severity="high",
        study_description="Brain MRI with Contrast",
        study_instance_uid=uid,
        report_metadata=PATIENT,
        external_patient_id="PAT-SDK-1",
        clinical_indication="Headache.",
    )
    stu = study.study_id
    call(a.studies.retrieve, stu)
    call(a.studies.retrieve_by_uid, uid)
    call(a.studies.update, stu, modality="MR")
    call(a.studies.list, study_report_status=["unassigned"])
    spare = a.studies.create(
        severity="normal", study_description="CT", study_instance_uid=new_uid(), report_metadata={}
    )
    call(a.studies.cancel, study_id=spare.study_id)
    call(a.studies.uncancel, study_id=spare.study_id)
    call(a.studies.viewer_only_reroute_url, study_id=stu)
    reroute = call(a.studies.reroute_url, study_id=stu, assigned_to_user_id=radiologist)
    _open_images(server, reroute.url)  # a real study.access_requested, for webhooks.unwrap below
    call(a.ephemeral_sessions.create, retrieval_id="order-1", options={"studyInstanceUids": [uid]})

    report_id = dictate_and_sign(stu, radiologist, body=content())
    receiver.wait(1)
    call(a.reports.list, study_id=stu)
    call(a.reports.text, report_id=report_id)
    call(a.reports.pdf, study_instance_uid=uid)
    call(a.reports.addendum, report_id)
    call(a.reports.cancel_addendum, report_id)

    # ---- AutoScribe: external (archive) studies ----
    archive = call(
        a.studies.external.create,
        severity="normal",
        study_description="CT Head 2019",
        study_instance_uid=new_uid(),
        report_metadata={},
        external_patient_id="PAT-SDK-1",
    )
    external = call(
        a.studies.external.reports.create, study_id=archive.study_id, report_text="No acute findings."
    )
    call(a.studies.external.reports.retrieve, external.external_report_id)
    call(a.studies.external.reports.list, study_id=archive.study_id)
    call(a.studies.external.delete, study_id=archive.study_id)

    # ---- Viewer ----
    viewer_user = call(v.users.invite, **_invite())
    call(v.users.retrieve, viewer_user.user_id)
    call(v.users.update, viewer_user.user_id, suffix1="RT")
    call(v.users.list, limit=5)
    viewer_invitation = call(v.users.invitations.list, user_id=viewer_user.user_id).invitations[0]
    call(v.users.invitations.retrieve, viewer_invitation.invitation_id)
    call(v.users.invitations.update, viewer_invitation.invitation_id, middle_name="Q")
    call(v.users.invitations.revoke, user_id=viewer_user.user_id)
    call(v.users.revoke_access, user_id=radiologist)
    call(v.users.reactivate, user_id=radiologist)
    viewed_uid = new_uid()
    viewed = call(
        v.studies.create,
        severity="stat",
        study_description="CT Chest PE",
        study_instance_uid=viewed_uid,
        assigned_to=radiologist,
        express_customer_id=cus,
        metadata={"accession": "A-9"},
    )
    call(v.studies.retrieve, viewed.study_id)
    call(v.studies.retrieve_by_uid, viewed_uid)
    call(v.studies.update, viewed.study_id, study_viewer_status="complete")
    call(v.studies.list, study_viewer_status="complete")
    call(v.studies.cancel, study_instance_uid=viewed_uid)
    call(v.studies.uncancel, study_id=viewed.study_id)
    call(v.studies.reroute_url, study_id=viewed.study_id)
    call(
        v.ephemeral_sessions.create,
        retrieval_id="order-2",
        hanging_protocol={"layout": "1x1", "viewportAssignments": [None]},
    )

    # ---- webhooks: real events from this server ----
    body, headers = capture.requests[0]
    verifier = Avara(api_key="unused", base_url=server.url, webhook_key=key.webhook_secret)
    event = verifier.webhooks.unwrap(body, headers=headers)
    call.called.add("webhooks.unwrap")
    assert type(event).model_validate_json(body, strict=True).type == "study.access_requested"
    delivered = verifier.webhooks.unsafe_unwrap(receiver.bodies[0])
    call.called.add("webhooks.unsafe_unwrap")
    assert type(delivered).model_validate_json(receiver.bodies[0], strict=True).data.report_id == report_id

    methods = sdk_methods(client)
    everything = {f"{path}.{name}" for path, names in methods.items() for name in names}
    assert len(everything) == 65
    assert call.called == everything, {
        "never called": sorted(everything - call.called),
        "not in the SDK": sorted(call.called - everything),
    }
    _check_readme(methods)


ROW = re.compile(r"^\| `client\.([a-z_.]+)` \| ([a-z_, ]+) \| (.+?) \|$")


def _check_readme(methods: dict[str, list[str]]) -> None:
    """The README's "SDK coverage" table lists every resource with its methods, all working."""
    text = README.read_text()
    start = text.index("<!-- sdk-coverage:start -->")
    table = text[start : text.index("<!-- sdk-coverage:end -->")]
    rows = {m.group(1): (m.group(2), m.group(3)) for line in table.splitlines() if (m := ROW.match(line))}
    assert {path: sorted(n.strip() for n in names.split(",")) for path, (names, _) in rows.items()} == methods
    assert all(status.startswith("works") for _, status in rows.values()), rows
    total = sum(len(names) for names in methods.values())
    assert f"all {total} methods" in table, "the table's summary line names the count the test found"


def test_the_readme_table_lists_what_the_sdk_has() -> None:
    """The same check without a server, so a stale table fails fast (and on every run)."""
    _check_readme(sdk_methods(Avara(api_key="unused", base_url="http://127.0.0.1:9")))


def test_errors_are_the_sdks_error_classes(server: Server, clinic: ClinicFixture) -> None:
    """The error shape maps onto the SDK's exceptions on both products (a quick smoke test; the
    per-product tests go further)."""
    client = sdk(server.url, clinic.api_key)
    with pytest.raises(avara.NotFoundError):
        client.viewer.studies.retrieve("stu_" + "0" * 32)
    with pytest.raises(avara.BadRequestError):
        client.viewer.studies.create(severity="normal", study_description="x", study_instance_uid="1.02")
    with pytest.raises(avara.AuthenticationError):
        sdk(server.url, "as_live_wrong").viewer.users.list()
    assert (
        json.loads(client.viewer.studies.with_raw_response.list().http_response.content)["hasMore"] is False
    )
