"""The scribe engine: dictation audio → transcript → structured, checked draft report.

Public API (what the workspace, the worker and the CLI call):

    transcribe(audio, *, prompt_terms=(), template=None) -> Transcript
    transcribe_stream(chunks, transcriber, prompt=...) -> Iterator[PartialTranscript]
    normalize(text) -> str
    correct_terms(text, extra_vocabulary) -> str   (medical spelling; run before normalize)
    choose_template(procedure, description="", modality="", templates=None) -> Template
    build_draft(transcript_text, template, study_context, macros=None) -> Draft
    generate_impression(draft, llm=None) -> list[str]
    run_checks(draft, study_context) -> list[CheckResult]
    move_sentence(draft, sentence_id, target_section) -> Draft
    ScribeEngine(transcriber=None, templates=(), macros=None).dictate(audio, context) -> DictationResult

Heavy imports (faster-whisper, numpy, PyAV) happen only when audio is transcribed.
"""

from __future__ import annotations

from collections.abc import Iterable

from autoscribe.scribe.checks import CHECK_CODES, run_checks
from autoscribe.scribe.engine import DictationResult, ScribeEngine
from autoscribe.scribe.impression import LlmConfig, generate_impression
from autoscribe.scribe.mapper import (
    build_draft,
    draft_from_template,
    expand_macros,
    move_sentence,
    set_impression,
)
from autoscribe.scribe.normalize import normalize
from autoscribe.scribe.templates import (
    BUILTIN_TEMPLATES,
    builtin_template,
    choose_template,
    from_mrrt,
    to_mrrt,
    vocabulary_prompt,
)
from autoscribe.scribe.transcribe import (
    AudioInput,
    FakeTranscriber,
    StreamingTranscription,
    Transcriber,
    TranscriptionError,
    WhisperTranscriber,
    default_transcriber,
    transcribe_stream,
)
from autoscribe.scribe.types import (
    CheckResult,
    Draft,
    PartialTranscript,
    Section,
    Segment,
    Sentence,
    StudyContext,
    Template,
    Transcript,
)
from autoscribe.scribe.vocabulary import correct_terms


def transcribe(
    audio: AudioInput,
    *,
    prompt_terms: Iterable[str] = (),
    template: Template | None = None,
    transcriber: Transcriber | None = None,
) -> Transcript:
    """Speech to text with the radiology vocabulary prompt (plus the template's and the given terms)."""
    engine = transcriber or default_transcriber()
    return engine.transcribe(audio, prompt=vocabulary_prompt(template, prompt_terms))


__all__ = [
    "BUILTIN_TEMPLATES",
    "CHECK_CODES",
    "AudioInput",
    "CheckResult",
    "DictationResult",
    "Draft",
    "FakeTranscriber",
    "LlmConfig",
    "PartialTranscript",
    "ScribeEngine",
    "Section",
    "Segment",
    "Sentence",
    "StreamingTranscription",
    "StudyContext",
    "Template",
    "Transcriber",
    "Transcript",
    "TranscriptionError",
    "WhisperTranscriber",
    "build_draft",
    "builtin_template",
    "choose_template",
    "correct_terms",
    "default_transcriber",
    "draft_from_template",
    "expand_macros",
    "from_mrrt",
    "generate_impression",
    "move_sentence",
    "normalize",
    "run_checks",
    "set_impression",
    "to_mrrt",
    "transcribe",
    "transcribe_stream",
    "vocabulary_prompt",
]
