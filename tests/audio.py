"""Audio fixtures made by espeak-ng (and ffmpeg for WebM/Opus and MP3), once per test session."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

DICTATION = (
    "findings colon the liver is normal period there is a small right pleural effusion period "
    "no pneumothorax period"
)


@pytest.fixture(scope="session")
def audio_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="scribe-audio-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def dictation_wav(audio_dir: Path) -> Path:
    wav = audio_dir / "dictation.wav"
    subprocess.run(
        ["espeak-ng", "-v", "en-us", "-s", "120", "-g", "6", "-w", str(wav), DICTATION], check=True
    )
    return wav


@pytest.fixture(scope="session")
def dictation_webm(audio_dir: Path, dictation_wav: Path) -> Path:
    """What a browser's MediaRecorder uploads: Opus in WebM."""
    webm = audio_dir / "dictation.webm"
    subprocess.run(
        [
            "ffmpeg",
            "-loglevel",
            "error",
            "-y",
            "-i",
            str(dictation_wav),
            "-c:a",
            "libopus",
            "-b:a",
            "32k",
            str(webm),
        ],
        check=True,
    )
    return webm


@pytest.fixture(scope="session")
def dictation_mp3(audio_dir: Path, dictation_wav: Path) -> Path:
    mp3 = audio_dir / "dictation.mp3"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(dictation_wav), str(mp3)], check=True)
    return mp3
