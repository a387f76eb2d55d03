"""External (archive) studies and reports through the official SDK (reference 4.4)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import avara
import httpx
import pytest

from tests.conftest import ClinicFixture, Server
from tests.helpers import make_key, new_uid, sdk

PDF_BYTES = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


class FileHost:
    """A file server on loopback standing in for an integrator's document store."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[int, str, bytes]] = {}
        self.requests: list[str] = []
        host = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                host.requests.append(self.path)
                status, ctype, body = host.files.get(self.path, (404, "text/plain", b"missing"))
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def serve(self, path: str, body: bytes, ctype: str = "application/pdf", status: int = 200) -> str:
        self.files[path] = (status, ctype, body)
        return self.url + path


@pytest.fixture(scope="module")
def file_host() -> Iterator[FileHost]:
    host = FileHost()
    yield host
    host.httpd.shutdown()
    host.httpd.server_close()


def _create(client: avara.Avara, **fields: object) -> avara.types.auto_scribe.studies.ExternalCreateResponse:
    params: dict[str, object] = {
        "severity": "normal",
        "study_description": "CT Chest (2019, outside hospital)",
        "study_instance_uid": new_uid(),
        "report_metadata": {"patient_name": "Archie Archive", "study_date": "2019-02-03"},
        "external_patient_id": "PAT-ARCH-1",
        "modality": "CT",
    }
    params.update(fields)
    return client.auto_scribe.studies.external.create(**params)  # type: ignore[arg-type]


def test_external_study_with_text_and_file(
    server: Server, clinic: ClinicFixture, file_host: FileHost
) -> None:
    client = sdk(server.url, clinic.api_key)
    url = file_host.serve("/docs/report-1.pdf", PDF_BYTES)
    study = _create(
        client,
        report_text="Impression: 4 mm right upper lobe nodule.",
        report_file_url=url,
        report_file_name="report 1 (final).pdf",
        reader_name="Dr. Outside Reader",
        signed_at="2019-02-04 morning",
    )
    assert study.study_type == "external"
    assert study.external_report_id is not None and study.external_report_id.startswith("ext_")
    assert study.study_report_status == "completed"
    assert client.auto_scribe.studies.retrieve(study.study_id).external_report_id == study.external_report_id
    listed = {s.study_id for s in client.auto_scribe.studies.list(study_type="external")}
    assert study.study_id in listed

    report = client.auto_scribe.studies.external.reports.retrieve(study.external_report_id)
    assert report.report_text == "Impression: 4 mm right upper lobe nodule."
    assert report.reader_name == "Dr. Outside Reader" and report.signed_at == "2019-02-04 morning"
    assert report.snapshot_metadata is not None and report.snapshot_metadata.patient_name == "Archie Archive"
    assert report.presigned_url is not None
    download = httpx.get(report.presigned_url)
    assert download.status_code == 200 and download.content == PDF_BYTES
    assert download.headers["content-type"] == "application/pdf"


def test_study_without_report_then_report_created(
    server: Server, clinic: ClinicFixture, file_host: FileHost
) -> None:
    client = sdk(server.url, clinic.api_key)
    study = _create(client)
    assert study.external_report_id is None and study.study_report_status == "unassigned"
    created = client.auto_scribe.studies.external.reports.create(
        study_id=study.study_id, reader_name="Dr. First", signed_at="2019"
    )
    assert created.study_id == study.study_id and created.study_instance_uid == study.study_instance_uid
    # Later creates fill what is missing and overwrite readerName/signedAt when given.
    again = client.auto_scribe.studies.external.reports.create(
        study_instance_uid=study.study_instance_uid,
        reader_name="Dr. Second",
        report_text="Normal chest.",
        report_file_url=file_host.serve("/docs/scan.png", PNG_BYTES, "image/png"),
        report_file_name="scan.png",
    )
    assert again.external_report_id == created.external_report_id
    report = client.auto_scribe.studies.external.reports.retrieve(created.external_report_id)
    assert (report.reader_name, report.signed_at, report.report_text) == (
        "Dr. Second",
        "2019",
        "Normal chest.",
    )
    assert report.presigned_url is not None and httpx.get(report.presigned_url).content == PNG_BYTES
    assert client.auto_scribe.studies.retrieve(study.study_id).study_report_status == "completed"


def test_text_and_file_are_write_once(server: Server, clinic: ClinicFixture, file_host: FileHost) -> None:
    client = sdk(server.url, clinic.api_key)
    reports = client.auto_scribe.studies.external.reports
    study = _create(
        client,
        report_text="Original text.",
        report_file_url=file_host.serve("/docs/once.pdf", PDF_BYTES),
        report_file_name="once.pdf",
    )
    with pytest.raises(avara.ConflictError) as err:
        reports.create(study_id=study.study_id, report_text="Rewritten text.")
    assert err.value.body["error"]["param"] == "reportText"
    with pytest.raises(avara.ConflictError) as err:
        reports.create(
            study_id=study.study_id,
            report_file_url=file_host.serve("/docs/twice.pdf", PDF_BYTES),
            report_file_name="twice.pdf",
        )
    assert err.value.body["error"]["param"] == "reportFileUrl"
    assert "/docs/twice.pdf" not in file_host.requests  # refused before downloading
    # Sending the same text again is a harmless retry.
    reports.create(study_id=study.study_id, report_text="Original text.", signed_at="later")
    assert study.external_report_id is not None
    assert reports.retrieve(study.external_report_id).report_text == "Original text."


def test_file_fetch_is_all_or_nothing(server: Server, clinic: ClinicFixture, file_host: FileHost) -> None:
    client = sdk(server.url, clinic.api_key)
    uid = new_uid()
    cases = [
        (file_host.url + "/docs/missing.pdf", "missing.pdf", avara.UnprocessableEntityError, "HTTP 404"),
        (
            file_host.serve("/docs/page.html", b"<html></html>", "text/html"),
            "page.pdf",
            avara.UnprocessableEntityError,
            "PDF or an image",
        ),
        (
            file_host.serve("/docs/img.pdf", PNG_BYTES, "image/png"),
            "img.pdf",
            avara.UnprocessableEntityError,
            "image/png",
        ),
        (file_host.url + "/docs/x.pdf", "x.docx", avara.BadRequestError, "reportFileName"),
        ("ftp://127.0.0.1/x.pdf", "x.pdf", avara.BadRequestError, "https://"),
    ]
    for url, name, error, words in cases:
        with pytest.raises(error) as err:
            _create(client, study_instance_uid=uid, report_file_url=url, report_file_name=name)
        assert words in err.value.body["error"]["message"]
        # Nothing was written: the UID is still free.
        with pytest.raises(avara.NotFoundError):
            client.auto_scribe.studies.retrieve_by_uid(uid)
    with pytest.raises(avara.BadRequestError) as bad:
        _create(client, report_file_url=file_host.url + "/docs/x.pdf")
    assert "reportFileName is required" in bad.value.body["error"]["message"]
    # Clinical-context fields belong to standard studies only.
    with pytest.raises(avara.BadRequestError) as bad:
        _create(client, extra_body={"clinicalHistory": "smoker"})
    assert bad.value.body["error"]["param"] == "clinicalHistory"


def test_an_unreachable_report_file_url_is_the_clients_error(server: Server, clinic: ClinicFixture) -> None:
    """A reportFileUrl whose host cannot be reached: 422 naming the field, with x-should-retry:
    false, so that the SDK (which retries 5xx) sends the import once and nothing is stored."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    connections: list[socket.socket] = []

    def hang_up() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            connections.append(conn)
            conn.close()  # accepts, then closes without answering

    threading.Thread(target=hang_up, daemon=True).start()
    port = listener.getsockname()[1]
    retrying = avara.Avara(api_key=clinic.api_key, base_url=server.url, max_retries=2, timeout=30)
    uid = new_uid()
    try:
        with pytest.raises(avara.UnprocessableEntityError) as err:
            _create(
                retrying,
                study_instance_uid=uid,
                report_file_url=f"http://127.0.0.1:{port}/docs/scan.pdf",
                report_file_name="scan.pdf",
            )
    finally:
        listener.close()
    error = err.value.body["error"]
    assert error["param"] == "reportFileUrl" and "reportFileUrl could not be fetched" in error["message"]
    assert err.value.response.headers["x-should-retry"] == "false"
    assert len(connections) == 1  # one request: neither the SDK nor the server tried again
    with pytest.raises(avara.NotFoundError):
        retrying.auto_scribe.studies.retrieve_by_uid(uid)

    # A port nobody listens on: the same answer.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    with pytest.raises(avara.UnprocessableEntityError) as err:
        _create(
            retrying,
            study_instance_uid=uid,
            report_file_url=f"http://127.0.0.1:{closed}/scan.pdf",
            report_file_name="scan.pdf",
        )
    assert err.value.body["error"]["param"] == "reportFileUrl"
    assert err.value.response.headers["x-should-retry"] == "false"


def test_delete_is_one_way_and_frees_the_uid(server: Server, clinic: ClinicFixture) -> None:
    client = sdk(server.url, clinic.api_key)
    study = _create(client, report_text="Old report.")
    assert study.external_report_id is not None
    result = client.auto_scribe.studies.external.delete(study_instance_uid=study.study_instance_uid)
    assert result.success is True
    with pytest.raises(avara.NotFoundError):
        client.auto_scribe.studies.retrieve(study.study_id)
    with pytest.raises(avara.NotFoundError):
        client.auto_scribe.studies.external.reports.retrieve(study.external_report_id)
    with pytest.raises(avara.NotFoundError):
        client.auto_scribe.studies.uncancel(study_id=study.study_id)
    with pytest.raises(avara.NotFoundError):
        client.auto_scribe.studies.external.delete(study_id=study.study_id)
    remade = _create(client, study_instance_uid=study.study_instance_uid, report_text="Corrected report.")
    assert remade.study_id != study.study_id


def test_standard_studies_are_not_external(server: Server, clinic: ClinicFixture) -> None:
    client = sdk(server.url, clinic.api_key)
    standard = client.auto_scribe.studies.create(
        severity="normal", study_description="CT", study_instance_uid=new_uid(), report_metadata={}
    )
    with pytest.raises(avara.ConflictError):
        client.auto_scribe.studies.external.delete(study_id=standard.study_id)
    with pytest.raises(avara.ConflictError):
        client.auto_scribe.studies.external.reports.create(study_id=standard.study_id, report_text="x")
    with pytest.raises(avara.ConflictError):
        _create(client, study_instance_uid=standard.study_instance_uid)
    external = _create(client)
    with pytest.raises(avara.BadRequestError) as bad:
        client.auto_scribe.studies.external.reports.create(study_id=external.study_id)
    assert bad.value.body["error"]["param"] == "reportText"


def test_list_external_reports(server: Server, clinic: ClinicFixture, file_host: FileHost) -> None:
    client = sdk(server.url, clinic.api_key)
    with_text = _create(client, report_text="Text only.", reader_name="Dr. T")
    with_file = _create(
        client, report_file_url=file_host.serve("/docs/list.pdf", PDF_BYTES), report_file_name="list.pdf"
    )
    _create(client)  # no report, not listed
    items = list(client.auto_scribe.studies.external.reports.list())
    assert [i.external_report_id for i in items] == [
        with_file.external_report_id,
        with_text.external_report_id,
    ]
    assert (items[0].has_report_text, items[0].report_pdf_present) == (False, True)
    assert (items[1].has_report_text, items[1].report_pdf_present, items[1].reader_name) == (
        True,
        False,
        "Dr. T",
    )
    only = client.auto_scribe.studies.external.reports.list(study_id=with_text.study_id)
    assert [i.study_id for i in only.reports] == [with_text.study_id] and only.has_more is False
    page = client.auto_scribe.studies.external.reports.list(limit=1)
    assert len(page.reports) == 1 and page.has_more is True
    # A "self" key sees only the archive studies it created.
    own = sdk(server.url, make_key(clinic.clinic_id, study_scope="self").api_key)
    assert list(own.auto_scribe.studies.external.reports.list()) == []
    with pytest.raises(avara.NotFoundError):
        assert with_text.external_report_id is not None
        own.auto_scribe.studies.external.reports.retrieve(with_text.external_report_id)


def test_external_reports_feed_priors(server: Server, clinic: ClinicFixture) -> None:
    client = sdk(server.url, clinic.api_key)
    _create(client, report_text="2019: small nodule.", external_patient_id="PAT-PRIORS")
    current = client.auto_scribe.studies.create(
        severity="normal",
        study_description="CT Chest follow-up",
        study_instance_uid=new_uid(),
        report_metadata={},
        external_patient_id="PAT-PRIORS",
    )
    from autoscribe.db import session_scope
    from autoscribe.reports.service import priors_for
    from tests.reporting import study_row

    with session_scope() as session:
        priors = priors_for(session, study_row(session, current.study_id))
    assert [(p.source, p.report_text) for p in priors] == [("external", "2019: small nodule.")]
