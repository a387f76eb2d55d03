"""Storage backends: the local directory and an S3-compatible bucket (moto on loopback)."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from autoscribe.storage.base import ObjectNotFound, check_key
from autoscribe.storage.local import LocalStorage, verify
from tests.s3 import MotoS3, start_moto


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoS3]:
    s3 = start_moto()
    yield s3
    s3.server.stop()


@pytest.mark.parametrize("bad", ["../etc/passwd", "/abs", "a//b", "a/../b", "a/./b", "", "a b", "x/.."])
def test_keys_cannot_escape(bad: str) -> None:
    with pytest.raises(ValueError):
        check_key(bad)


def test_local_backend_roundtrip(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path, "https://scribe.example.org/")
    storage.put("reports/a/b.pdf", b"%PDF-1", content_type="application/pdf")
    assert storage.exists("reports/a/b.pdf") and storage.get("reports/a/b.pdf") == b"%PDF-1"
    storage.put("reports/a/b.pdf", b"%PDF-2", content_type="application/pdf")
    assert storage.get("reports/a/b.pdf") == b"%PDF-2"
    assert [p.name for p in (tmp_path / "reports" / "a").iterdir()] == ["b.pdf"]  # no temp files left
    storage.delete("reports/a/b.pdf")
    storage.delete("reports/a/b.pdf")  # idempotent
    assert not storage.exists("reports/a/b.pdf")
    with pytest.raises(ObjectNotFound):
        storage.get("reports/a/b.pdf")


def test_local_links_are_signed_and_expire(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path, "https://scribe.example.org")
    url = storage.presign("reports/x.pdf", download_name="x.pdf", content_type="application/pdf")
    parts = urlsplit(url)
    assert url.startswith("https://scribe.example.org/files/reports/x.pdf?")
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    expires = int(query["expires"])
    assert 3590 <= expires - time.time() <= 3600  # one hour
    assert verify("reports/x.pdf", expires, "x.pdf", "application/pdf", query["sig"])
    assert not verify("reports/y.pdf", expires, "x.pdf", "application/pdf", query["sig"])
    assert not verify("reports/x.pdf", expires + 1, "x.pdf", "application/pdf", query["sig"])
    assert not verify("reports/x.pdf", expires, "evil.pdf", "application/pdf", query["sig"])
    assert not verify("reports/x.pdf", expires, "x.pdf", "text/html", query["sig"])


def test_s3_backend_against_moto(moto: MotoS3) -> None:
    storage = moto.storage()
    assert not storage.exists("reports/c/d.pdf")
    with pytest.raises(ObjectNotFound):
        storage.get("reports/c/d.pdf")
    storage.put("reports/c/d.pdf", b"%PDF-s3", content_type="application/pdf")
    assert storage.exists("reports/c/d.pdf") and storage.get("reports/c/d.pdf") == b"%PDF-s3"
    url = storage.presign("reports/c/d.pdf", download_name="d.pdf", content_type="application/pdf")
    query = parse_qs(urlsplit(url).query)
    assert query["X-Amz-Expires"] == ["3600"]
    assert urlsplit(url).path == "/autoscribe-test/tenant-files/reports/c/d.pdf"
    download = httpx.get(url)
    assert download.status_code == 200 and download.content == b"%PDF-s3"
    assert download.headers["content-type"] == "application/pdf"
    storage.delete("reports/c/d.pdf")
    assert not storage.exists("reports/c/d.pdf")


def test_settings_choose_the_backend(moto: MotoS3, tmp_path: Path) -> None:
    from autoscribe.config import Settings
    from autoscribe.storage import make_storage
    from autoscribe.storage.s3 import S3Storage

    local = make_storage(Settings(data_dir=tmp_path))
    assert isinstance(local, LocalStorage) and local.root == tmp_path / "files"
    s3 = make_storage(
        Settings(
            data_dir=tmp_path,
            storage_backend="s3",
            s3_bucket="autoscribe-test",
            s3_endpoint_url=moto.endpoint_url,
            s3_region="us-east-1",
            s3_access_key_id="testing",
            s3_secret_access_key="testing",
            s3_addressing_style="path",
        )
    )
    assert isinstance(s3, S3Storage)
    s3.put("probe.txt", b"hello", content_type="text/plain")
    assert s3.get("probe.txt") == b"hello"
    with pytest.raises(RuntimeError, match="AUTOSCRIBE_S3_BUCKET"):
        make_storage(Settings(data_dir=tmp_path, storage_backend="s3"))


def test_links_can_name_the_bucket_by_its_public_address(moto: MotoS3, tmp_path: Path) -> None:
    """Servers reach the bucket at one address, link holders at another (AUTOSCRIBE_S3_PUBLIC_
    ENDPOINT_URL): links name the public one and are signed for it."""
    from autoscribe.config import Settings
    from autoscribe.storage import make_storage

    public = moto.endpoint_url.replace("127.0.0.1", "localhost")
    s3 = make_storage(
        Settings(
            data_dir=tmp_path,
            storage_backend="s3",
            s3_bucket="autoscribe-test",
            s3_endpoint_url=moto.endpoint_url,
            s3_public_endpoint_url=public,
            s3_region="us-east-1",
            s3_access_key_id="testing",
            s3_secret_access_key="testing",
            s3_addressing_style="path",
        )
    )
    s3.put("public/probe.pdf", b"%PDF-public", content_type="application/pdf")
    url = s3.presign("public/probe.pdf", content_type="application/pdf")
    assert url.startswith(public + "/autoscribe-test/public/probe.pdf?")
    download = httpx.get(url)
    assert download.status_code == 200 and download.content == b"%PDF-public"
    # Reads and writes still go to the servers' address (moto does not check signatures, so the
    # host a link is signed for is S3's business: boto3 signs for the endpoint it is given).
    assert s3.client.meta.endpoint_url == moto.endpoint_url


def test_both_backends_list_the_keys_under_a_folder(moto: MotoS3, tmp_path: Path) -> None:
    # A folder of this test's own: moto keeps one bucket state per process, shared with other tests.
    top = f"listing-{secrets.token_hex(4)}"
    for storage in (LocalStorage(tmp_path, "https://scribe.example.org"), moto.storage()):
        for key in ("box/b.eml", "box/a.eml", "boxes/c.eml", "other/x.pdf"):
            storage.put(f"{top}/{key}", b"x", content_type="message/rfc822")
        assert storage.list_keys(f"{top}/box/") == [f"{top}/box/a.eml", f"{top}/box/b.eml"], storage.name
        assert storage.list_keys(f"{top}/nothing/") == []
