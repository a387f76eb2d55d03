"""The README's Quick start, run as a new user runs it: its SDK example, against a live server."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

from tests.conftest import ClinicFixture, Server
from tests.helpers import sdk, study_body

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def quick_start() -> str:
    return README.split("## Quick start", 1)[1].split("\n## ", 1)[0]


def sdk_example() -> str:
    blocks = re.findall(r"```sh\n(.*?)```", quick_start(), flags=re.S)
    found = [b for b in blocks if "AVARA_API_KEY" in b]
    assert len(found) == 1, "the Quick start has one SDK example"
    return found[0]


def test_the_readme_sdk_example_runs_as_written(server: Server, clinic: ClinicFixture) -> None:
    study = sdk(server.url, clinic.api_key).auto_scribe.studies.create(**study_body())
    example = sdk_example()
    assert "<the printed key>" in example and "http://127.0.0.1:8000" in example
    assert "client.auto_scribe.users" in example  # where people live
    # Only what a user would type differently: their key, and the test server's address.
    command = example.replace("<the printed key>", clinic.api_key)
    command = command.replace("http://127.0.0.1:8000", server.url)
    done = subprocess.run(
        ["bash", "-c", command], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert study.study_id in done.stdout
    assert clinic.owner_email in done.stdout and "owner" in done.stdout


def test_make_run_installs_the_sdk() -> None:
    """The example's `avara` comes with `make run` (the `sdk` extra), not only with the tests."""
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert any(req.startswith("avara") for req in extras["sdk"])
    recipe = subprocess.run(
        ["make", "-n", "-B", ".venv/.installed"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert re.search(r"pip install .*-e '\.\[sdk\]'", recipe), recipe
    assert "make run" in quick_start()
