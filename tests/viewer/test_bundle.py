"""The committed viewer bundle is what its sources build to, and the app serves it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import httpx

from tests.conftest import Server

FRONTEND = Path(__file__).resolve().parents[2] / "frontend" / "viewer"


def test_committed_bundle_matches_a_fresh_build() -> None:
    node = shutil.which("node")
    assert node, "node is needed to check the viewer bundle (apt-get install nodejs)"
    assert (FRONTEND / "node_modules" / "esbuild").is_dir(), (
        "run `make install-test` (npm ci in frontend/viewer)"
    )
    result = subprocess.run(
        [node, "build.mjs", "--check"], cwd=FRONTEND, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr + result.stdout


def test_app_serves_the_viewer_bundle(server: Server) -> None:
    js = httpx.get(server.url + "/static/viewer/viewer.js")
    assert js.status_code == 200
    assert "javascript" in js.headers["content-type"]
    assert "AutoScribeViewer" in js.text
    css = httpx.get(server.url + "/static/viewer/viewer.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert httpx.get(server.url + "/static/viewer/../../app.py").status_code == 404
