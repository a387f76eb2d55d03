"""The impression: positive findings, most important first; optionally written by an LLM.

Rule-based by default: every sentence of Findings that affirms an abnormality (NegEx, see
findings.py) becomes one item, critical findings first, then by weight, and last the sentences
that say something is wrong in words the lexicon does not list; "No acute abnormality." when
nothing is positive. Given an `LlmConfig` (the app builds one when `AUTOSCRIBE_LLM_BASE_URL`
points at an OpenAI-compatible server), that server writes the impression from the Findings text
instead; any failure falls back to the rules, so dictation never waits on or breaks because of it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Protocol

import httpx

from autoscribe.scribe.findings import analyze, measurement_only_positive, unlisted_finding
from autoscribe.scribe.section_names import LABEL_SECTION_NAMES
from autoscribe.scribe.types import FINDINGS, Draft, sentence_label
from autoscribe.scribe.wordlists import data_rows

log = logging.getLogger("autoscribe.scribe")

NO_ACUTE_ABNORMALITY = "No acute abnormality."
# A normal study's impression as its kind of report writes it (data/normal_impressions.tsv).
_NORMAL_IMPRESSIONS: dict[str, str] = {
    template: text for template, text in data_rows("normal_impressions.tsv", 2)
}

_LEADING = re.compile(
    r"^(there (is|are)( again)?|again (seen|noted) (is|are)|redemonstrated (is|are)|note is made of|"
    r"re-demonstration of|redemonstration of|there has been|there appears to be|is seen)\s+",
    re.I,
)


class LlmSettings(Protocol):
    """The settings an LLM endpoint is read from (the engine does not import the app's config)."""

    @property
    def llm_base_url(self) -> str | None: ...
    @property
    def llm_model(self) -> str: ...
    @property
    def llm_api_key(self) -> str | None: ...
    @property
    def llm_timeout_seconds(self) -> float: ...


@dataclass(frozen=True)
class LlmConfig:
    base_url: str
    model: str
    api_key: str | None = None
    timeout: float = 20.0

    @classmethod
    def from_settings(cls, settings: LlmSettings) -> LlmConfig | None:
        """The endpoint the app's settings name (`autoscribe.config.Settings`), or None (rules only)."""
        if not settings.llm_base_url:
            return None
        return cls(
            base_url=settings.llm_base_url.rstrip("/"),
            model=settings.llm_model,
            api_key=settings.llm_api_key,
            timeout=settings.llm_timeout_seconds,
        )


def _condense(sentence: str) -> str:
    text = _LEADING.sub("", sentence.strip())
    text = re.sub(r"^(a|an)\s+", "", text, flags=re.I)
    return text[0].upper() + text[1:] if text else text


def _procedure_record(sentence: str) -> bool:
    """ "Complications: None.", "Estimated blood loss: 5 mL.": what a procedure did, not a finding."""
    label = sentence_label(sentence)
    return label is not None and label.lower() in LABEL_SECTION_NAMES


def positive_findings(draft: Draft) -> list[tuple[str, str, int, bool]]:
    """(path, sentence, weight, critical) for every affirmed finding in Findings, in report order."""
    out = []
    for path, sentence in draft.iter_sentences():
        if path.split(".")[0] != FINDINGS or sentence.source == "default" or _procedure_record(sentence.text):
            continue
        analysis = analyze(sentence.text)
        if analysis.is_positive:
            out.append((path, sentence.text, analysis.weight, analysis.critical))
        elif not analysis.mentions and measurement_only_positive(sentence.text):
            out.append((path, sentence.text, 20, False))
        elif unlisted_finding(analysis):
            out.append((path, sentence.text, 10, False))
    return out


def rule_based_impression(draft: Draft) -> list[str]:
    found = positive_findings(draft)
    if not found:
        return [_NORMAL_IMPRESSIONS.get(draft.template_id, NO_ACUTE_ABNORMALITY)]
    ranked = sorted(enumerate(found), key=lambda item: (not item[1][3], -item[1][2], item[0]))
    items: list[str] = []
    seen: set[str] = set()
    for _, (_, sentence, _, _) in ranked:
        item = _condense(sentence)
        if item.lower() not in seen:
            seen.add(item.lower())
            items.append(item)
    return items


_SYSTEM_PROMPT = (
    "You are a radiologist writing the IMPRESSION of a radiology report. Given the FINDINGS, reply "
    "with a numbered list, one item per line, most important (critical) finding first. Mention only "
    "findings present in the text, keep laterality, measurements and negations exactly, and write "
    "'No acute abnormality.' when every finding is normal. No other text."
)


def _findings_text(draft: Draft) -> str:
    lines = []
    for path, sentence in draft.iter_sentences():
        if path.split(".")[0] == FINDINGS:
            section = draft.section(path)
            title = section.title if section is not None else path
            lines.append(f"{title}: {sentence.text}")
    return "\n".join(lines)


def _parse_items(content: str) -> list[str]:
    items = []
    for line in content.splitlines():
        line = re.sub(r"^\s*(?:\d{1,2}[.)]|[-*•])\s*", "", line).strip()
        if line and not line.lower().startswith("impression"):
            items.append(line if line[-1] in ".?!" else line + ".")
    return items


def llm_impression(draft: Draft, config: LlmConfig, *, client: httpx.Client | None = None) -> list[str]:
    """Ask an OpenAI-compatible chat-completions endpoint; raises on any failure or empty answer."""
    headers = {"Authorization": f"Bearer {config.api_key}"} if config.api_key else {}
    body = {
        "model": config.model,
        "temperature": 0,
        "messages": [
            {"role": "system", "content": _SYSTEM_PROMPT},
            {"role": "user", "content": f"FINDINGS:\n{_findings_text(draft)}"},
        ],
    }
    own = client is None
    http = client or httpx.Client(timeout=config.timeout)
    try:
        response = http.post(f"{config.base_url}/chat/completions", json=body, headers=headers)
        response.raise_for_status()
        content = response.json()["choices"][0]["message"]["content"]
    finally:
        if own:
            http.close()
    if not isinstance(content, str):
        raise ValueError("LLM answer has no text content")
    items = _parse_items(content)
    if not items:
        raise ValueError("LLM answer holds no impression items")
    return items


def impression_with_source(draft: Draft, *, llm: LlmConfig | None = None) -> tuple[list[str], str]:
    """(items, source): source is "llm" when the endpoint answered, "rules" otherwise."""
    if llm is not None:
        try:
            return llm_impression(draft, llm), "llm"
        except Exception as exc:  # any failure: the rules still give a correct impression
            log.warning("LLM impression failed (%s); using the rule-based impression", type(exc).__name__)
    return rule_based_impression(draft), "rules"


def generate_impression(draft: Draft, *, llm: LlmConfig | None = None) -> list[str]:
    """Impression items (unnumbered; the report numbers them) for the draft's findings."""
    return impression_with_source(draft, llm=llm)[0]
