"""The outbound safety rules for reportFileUrl downloads."""

from __future__ import annotations

import pytest

from autoscribe.archive.fetch import check_target, file_type_for_name, sniff
from autoscribe.errors import InvalidRequest


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/x.pdf",
        "https://localhost/x.pdf",
        "https://10.1.2.3/x.pdf",
        "https://192.168.0.10/x.pdf",
        "https://172.16.5.5/x.pdf",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/x.pdf",
        "https://[::ffff:127.0.0.1]/x.pdf",
        "https://0.0.0.0/x.pdf",
        "https://100.64.0.1/x.pdf",
    ],
)
def test_private_targets_are_refused(url: str) -> None:
    with pytest.raises(InvalidRequest) as err:
        check_target(url, allow_private=False)
    assert err.value.param == "reportFileUrl"
    assert "private" in err.value.message


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://93.184.216.34/x.pdf", "https://"),
        ("ftp://93.184.216.34/x.pdf", "https://"),
        ("file:///etc/passwd", "https://"),
        ("https://user:pw@93.184.216.34/x.pdf", "credentials"),
        ("https://[zz/x.pdf", "not a valid URL"),
    ],
)
def test_only_plain_https_urls(url: str, words: str) -> None:
    with pytest.raises(InvalidRequest) as err:
        check_target(url, allow_private=False)
    assert words in err.value.message


def test_public_address_is_accepted() -> None:
    target = check_target("https://93.184.216.34:8443/a/b.pdf?sig=1", allow_private=False)
    assert (target.address, target.port, target.scheme) == ("93.184.216.34", 8443, "https")


def test_loopback_and_http_allowed_only_by_setting() -> None:
    target = check_target("http://localhost:9/x.pdf", allow_private=True)
    assert target.address in ("127.0.0.1", "::1")


def test_file_types() -> None:
    assert file_type_for_name("a.PDF") == "application/pdf"
    assert file_type_for_name("scan.jpeg") == "image/jpeg"
    for bad in ("a.docx", "noext", "a.pdf.exe"):
        with pytest.raises(InvalidRequest):
            file_type_for_name(bad)
    assert sniff(b"%PDF-1.7") == "application/pdf"
    assert sniff(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert sniff(b"GIF89a...") == "image/gif"
    assert sniff(b"<html>") is None


def test_download_caps_size_refuses_redirects_and_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    import threading
    import time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from autoscribe.archive.fetch import fetch_file
    from autoscribe.config import get_settings
    from autoscribe.errors import Unprocessable

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/redirect.pdf":
                self.send_response(302)
                self.send_header("Location", "http://169.254.169.254/")
                self.end_headers()
                return
            if self.path == "/slow.pdf":
                time.sleep(10)
            body = b"%PDF-1.4\n" + b"0" * (5000 if self.path == "/big.pdf" else 10)
            self.send_response(200)
            self.send_header("Content-Type", "application/pdf")
            if self.path != "/big.pdf":  # no Content-Length: the cap must hold while streaming
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    settings = get_settings()
    monkeypatch.setattr(settings, "webhook_allow_private", True)
    monkeypatch.setattr(settings, "external_file_max_bytes", 1000)
    monkeypatch.setattr(settings, "external_file_timeout_seconds", 2.0)
    try:
        assert fetch_file(base + "/ok.pdf", "ok.pdf").data.startswith(b"%PDF-")
        with pytest.raises(Unprocessable, match="larger than 1000 bytes"):
            fetch_file(base + "/big.pdf", "big.pdf")
        with pytest.raises(Unprocessable, match="redirect"):
            fetch_file(base + "/redirect.pdf", "redirect.pdf")
        with pytest.raises(Unprocessable, match="reportFileUrl could not be fetched: its host did not"):
            fetch_file(base + "/slow.pdf", "slow.pdf")
        monkeypatch.setattr(settings, "webhook_allow_private", False)
        with pytest.raises(InvalidRequest):
            fetch_file(base + "/ok.pdf", "ok.pdf")
    finally:
        httpd.shutdown()
