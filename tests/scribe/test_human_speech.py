"""The engine on a real human voice, not espeak-ng: a public-domain LibriVox clip that the
pocketsphinx source distribution ships as test data (see data/SOURCES.md)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from autoscribe.scribe import ScribeEngine, StudyContext, transcribe

CLIP = Path(__file__).parent / "data" / "librivox_sense_and_sensibility_0870.wav"
SAID = (
    "and mister john dashwood had then leisure to consider how much there might be prudently in his "
    "power to do for them"
)
# The words that carry the sentence; a loose check, the clip is read speech at a reader's pace.
KEY_WORDS = ("john", "dashwood", "leisure", "consider", "much", "prudently", "power")

pytestmark = pytest.mark.slow


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


def test_the_clip_is_the_recording_the_sources_note_describes() -> None:
    assert CLIP.stat().st_size == 227244 and CLIP.stat().st_size < 1_000_000


def test_a_real_voice_is_heard_by_the_real_model() -> None:
    result = transcribe(CLIP)
    heard = _words(result.text)
    missing = [w for w in KEY_WORDS if w not in heard]
    # Mr/Mister, Dashwood/Dashwood's: at most one key word may come out differently.
    assert len(missing) <= 1, (missing, result.text)
    said = _words(SAID)
    assert len(said & heard) >= 0.8 * len(said), result.text
    assert 6.5 < result.duration < 7.5


def test_a_real_voice_goes_through_the_whole_engine_unharmed() -> None:
    """Through the dictation pipeline (template prompt, corrections, sections): the words are kept."""
    result = ScribeEngine(llm=None).dictate(CLIP, StudyContext(procedure="CT CHEST WITH CONTRAST"))
    heard = _words(" ".join(result.draft.section_texts().values()))
    missing = [w for w in KEY_WORDS if w not in heard]
    assert len(missing) <= 1, (missing, result.text)
