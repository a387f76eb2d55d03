"""The whole pipeline: audio → transcript → normalized text → draft → impression → checks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from autoscribe.scribe.checks import run_checks
from autoscribe.scribe.confusions import fix_confusions
from autoscribe.scribe.impression import LlmConfig, impression_with_source
from autoscribe.scribe.lexicon import correct_radiology_terms, hint_terms, regions_for_study
from autoscribe.scribe.mapper import build_draft, expand_macros, set_impression
from autoscribe.scribe.normalize import normalize
from autoscribe.scribe.templates import (
    BUILTIN_TEMPLATES,
    GENERIC_ID,
    choose_template,
    template_from_dictation,
    vocabulary_prompt,
)
from autoscribe.scribe.transcribe import AudioInput, Transcriber, default_transcriber
from autoscribe.scribe.types import CheckResult, Draft, StudyContext, Template, Transcript
from autoscribe.scribe.vocabulary import correct_terms


@dataclass
class DictationResult:
    transcript: Transcript
    text: str  # normalized dictation
    template: Template
    draft: Draft
    checks: list[CheckResult] = field(default_factory=list)

    @property
    def impression(self) -> list[str]:
        return self.draft.impression

    def to_dict(self) -> dict[str, Any]:
        return {
            "transcript": self.transcript.to_dict(),
            "text": self.text,
            "template": {"id": self.template.id, "name": self.template.name},
            "draft": self.draft.to_dict(),
            "sections": self.draft.section_texts(),
            "impression": self.impression,
            # "dictated": the radiologist's words; "rules"/"llm": a suggestion (none was dictated).
            "impressionSource": self.draft.impression_source,
            "impressionSuggested": self.draft.impression_suggested,
            "checks": [c.to_dict() for c in self.checks],
        }


class ScribeEngine:
    """Runs the pipeline with one transcriber, a clinic's templates and macros, and an optional LLM.

    The transcriber is created lazily (the real model loads on first use), so an engine used only
    for text (`from_text`, `refresh`) never loads a model.
    """

    def __init__(
        self,
        transcriber: Transcriber | None = None,
        *,
        templates: Sequence[Template] = (),
        macros: Mapping[str, str] | None = None,
        llm: LlmConfig | None = None,
    ) -> None:
        self._transcriber = transcriber
        self.templates = list(templates)
        self.macros = dict(macros or {})
        # None: rule-based impressions. The app passes `LlmConfig.from_settings(get_settings())`, which
        # is None unless AUTOSCRIBE_LLM_BASE_URL is set: the engine does not read the app's settings.
        self.llm = llm
        # Contextual biasing: the speech model's prompt and hotwords carry the radiology terms of the
        # study's body regions (data/radiology_lexicon.txt); off: the template's prompt only. Off by
        # default: on the bench's dev set it did not lower WER (prompt terms: +-1 point, noise; hotwords
        # raised noisy WER by 2 points), see README "Scribe engine".
        self.biasing = False
        # The phonetic radiology correction pass after the spelling correction (lexicon.py).
        self.lexicon_correction = True

    @property
    def transcriber(self) -> Transcriber:
        if self._transcriber is None:
            self._transcriber = default_transcriber()
        return self._transcriber

    def template_for(self, context: StudyContext, template_id: str | None = None) -> Template:
        if template_id:
            for template in (*self.templates, *BUILTIN_TEMPLATES):
                if template.id == template_id:
                    return template
        return choose_template(context.procedure, "", context.modality, self.templates)

    def vocabulary_for(self, template: Template) -> list[str]:
        """Words the spelling correction may restore: the template's own (clinic templates included)."""
        return [*template.terms, *(k for o in template.organs() for k in (o.title, o.normal, *o.keywords))]

    def regions_for(self, template: Template | None, context: StudyContext | None = None) -> set[str]:
        """Body regions of the lexicon this study is about: from its description, modality and
        the template's name."""
        return regions_for_study(
            context.procedure if context else "",
            context.modality if context else "",
            f"{template.name} {template.modality}" if template else "",
        )

    def prompt_for(self, template: Template, context: StudyContext | None = None) -> str:
        if not self.biasing:
            return vocabulary_prompt(template, self.macros.keys())
        # The study's region terms lead the vocabulary line: a generic template has none of its own.
        regions = self.regions_for(template, context) - {"general"}
        return vocabulary_prompt(
            template, [*self.macros.keys(), *template.terms, *hint_terms(regions, limit=12)]
        )

    def hotwords_for(self, template: Template | None, context: StudyContext | None = None) -> str | None:
        """Hint phrases for the decoder (faster-whisper `hotwords`): the region terms after those in
        the prompt, kept short (they share the 224-token prompt window with the prompt)."""
        if not self.biasing or template is None:
            return None
        regions = self.regions_for(template, context)
        terms = hint_terms(regions - {"general"}, limit=30)[12:] or hint_terms(regions, limit=12)
        text = ""
        for term in terms:
            if len(text) + len(term) > 160:
                break
            text += (", " if text else "") + term
        return text or None

    def asr_options_for(
        self, template: Template | None, context: StudyContext | None = None
    ) -> dict[str, Any]:
        if template is None:
            return {"prompt": None}
        options: dict[str, Any] = {"prompt": self.prompt_for(template, context)}
        hotwords = self.hotwords_for(template, context)
        if hotwords and getattr(self.transcriber, "accepts_hotwords", False):
            options["hotwords"] = hotwords
        return options

    def transcribe(
        self, audio: AudioInput, template: Template | None = None, context: StudyContext | None = None
    ) -> Transcript:
        return self.transcriber.transcribe(audio, **self.asr_options_for(template, context))

    def hear(
        self, audio: AudioInput, template: Template, context: StudyContext, *, guess: bool = True
    ) -> tuple[Transcript, Template]:
        """The transcript, and the template whose vocabulary it was heard with.

        A study that says nothing about itself (no description, no modality) gets the general
        template, whose prompt knows no body part: "pleural effusion" is heard as "plural infusion".
        Then, unless a template was asked for (`guess` off), the dictation tells what it is about
        (`template_from_dictation`) and is heard again with that template's vocabulary. The draft
        keeps the general template: the guess is about words, not the report's layout."""
        transcript = self.transcribe(audio, template, context)
        if not guess or template.id != GENERIC_ID or context.procedure.strip() or context.modality.strip():
            return transcript, template
        about = template_from_dictation(transcript.text, self.templates)
        if about is None:
            return transcript, template
        again = self.transcribe(audio, about, context)
        spent = transcript.processing_seconds + again.processing_seconds
        return replace(again, processing_seconds=spent), about

    def corrected_text(self, dictation: str, template: Template, context: StudyContext | None = None) -> str:
        """The transcript with medical spelling corrected and misheard radiology terms restored."""
        text = correct_terms(dictation, self.vocabulary_for(template))
        if self.lexicon_correction:
            text, _ = correct_radiology_terms(
                text, regions=self.regions_for(template, context), known=self.vocabulary_for(template)
            )
            text = fix_confusions(text)
        return text

    def from_text(
        self,
        dictation: str,
        context: StudyContext | None = None,
        *,
        template: Template | None = None,
        transcript: Transcript | None = None,
        heard_with: Template | None = None,
    ) -> DictationResult:
        """`heard_with`: the template whose vocabulary the dictation was heard with (`hear`), when
        not the draft's: the spelling and radiology corrections use its words."""
        context = context or StudyContext()
        template = template or self.template_for(context)
        corrected = self.corrected_text(dictation, heard_with or template, context)
        text = expand_macros(normalize(corrected), self.macros)
        draft = build_draft(text, template, context, macros=self.macros, normalized=True)
        result = DictationResult(transcript or Transcript(dictation), text, template, draft)
        self.refresh(result.draft, context, regenerate_impression=not draft.impression)
        result.checks = run_checks(result.draft, context)
        return result

    def dictate(
        self, audio: AudioInput, context: StudyContext | None = None, *, template: Template | None = None
    ) -> DictationResult:
        context = context or StudyContext()
        chosen = template or self.template_for(context)
        transcript, heard_with = self.hear(audio, chosen, context, guess=template is None)
        return self.from_text(
            transcript.text, context, template=chosen, transcript=transcript, heard_with=heard_with
        )

    def refresh(
        self, draft: Draft, context: StudyContext | None = None, *, regenerate_impression: bool = False
    ) -> list[CheckResult]:
        """After an edit: optionally rewrite the impression, then re-run the checks."""
        context = context or StudyContext()
        if regenerate_impression:
            items, source = impression_with_source(draft, llm=self.llm)
            set_impression(draft, items, source)
        return run_checks(draft, context)
