"""The original scribe benchmark on bench/scribe_corpus.py (the corpus the engine was tuned on),
run by `bench/scribe.py --set legacy`: WER, real-time factor, section placement, check recall /
false alarms.

    .venv/bin/python bench/scribe.py                 # everything, through espeak-ng audio and the model
    .venv/bin/python bench/scribe.py --text-only     # skip audio: mapping and checks on the scripts
    .venv/bin/python bench/scribe.py --cases cxr-normal,cth-sdh --verbose

The corpus is bench/scribe_corpus.py. Audio is synthesized by espeak-ng (en-us, 120 words a minute,
60 ms between words) into
$AUTOSCRIBE_DATA_DIR/bench-scribe (default ./var/bench-scribe) and cached by script hash.
Figures:
  WER         word error rate of the normalized transcript (after medical spelling correction)
              against the normalized script; also given without the spelling correction
  RTF         transcription seconds / audio seconds (model threads: AUTOSCRIBE_ASR_THREADS, default 2)
  placement   share of dictated sentences that land in the expected section/organ
  recall      share of injected errors whose check fires
  false alarm share of clean dictations on which a check fires that the dictation does not warrant
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from autoscribe.scribe import ScribeEngine, StudyContext, WhisperTranscriber, correct_terms, normalize
from autoscribe.scribe.engine import DictationResult
from autoscribe.scribe.normalize import NEXT_SECTION_MARK
from scribe_corpus import CASES, Case, V

_SMALL_NUMBERS = {
    "zero": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "ten": "10",
}


def words_for_wer(text: str) -> list[str]:
    """Scoring form: lower case, no punctuation or headings colons, small numbers as digits, x for by."""
    text = text.replace(NEXT_SECTION_MARK, " ").lower()
    text = re.sub(
        r"(?<=\d)-(?=[a-z])|(?<=[a-z])-(?=\d)", "", text
    )  # l4-l5 stays one token, hill-sachs splits
    text = re.sub(r"(?<![a-z0-9])-|-(?![a-z0-9])", " ", text)
    text = text.replace("-", " ")
    text = re.sub(r"(?<!\d)\.|\.(?!\d)", " ", text)
    text = re.sub(r"[^a-z0-9.%\s]", " ", text)
    return [_SMALL_NUMBERS.get(w, w) for w in text.split()]


def edit_distance(ref: list[str], hyp: list[str]) -> int:
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1]


ESPEAK = ["espeak-ng", "-v", "en-us", "-s", "120", "-g", "6"]


def synthesize(text: str, out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha256(json.dumps([ESPEAK, text]).encode()).hexdigest()[:20]
    path = out_dir / f"{key}.wav"
    if not path.exists():
        tmp = path.with_suffix(".tmp.wav")
        subprocess.run([*ESPEAK, "-w", str(tmp), text], check=True)
        tmp.rename(path)
    return path


def apply_variant(case: Case, variant: V) -> tuple[str, StudyContext]:
    script = case.script()
    if variant.old:
        if variant.old not in script:
            raise SystemExit(f"{case.id}: variant text {variant.old!r} is not in the script")
        script = script.replace(variant.old, variant.new, 1)
    context = context_for(case)
    if variant.sex is not None:
        context = StudyContext(**{**context.__dict__, "sex": variant.sex})
    if variant.procedure is not None:
        context = StudyContext(**{**context.__dict__, "procedure": variant.procedure})
    if variant.indication is not None:
        context = StudyContext(**{**context.__dict__, "clinical_indication": variant.indication})
    return script, context


def context_for(case: Case) -> StudyContext:
    return StudyContext(
        procedure=case.procedure, modality=case.modality, sex=case.sex, clinical_indication=case.indication
    )


def _tokens(text: str) -> set[str]:
    return set(words_for_wer(text))


def placement(case: Case, result: DictationResult) -> tuple[int, int, list[str]]:
    """(correct, total, misses) for the case's expected sentence paths."""
    sentences = [
        (path, s) for path, s in result.draft.iter_sentences() if s.source not in ("default", "context")
    ]
    used: set[str] = set()
    correct = 0
    total = 0
    misses = []
    for path, spoken in case.sentences:
        if path is None:
            continue
        total += 1
        expected = normalize(spoken + " period")
        expected = re.sub(r"^[A-Za-z ]+:\s*", "", expected)
        want = _tokens(expected)
        best = max(
            [item for item in sentences if item[1].id not in used],
            key=lambda item: len(want & _tokens(item[1].text)) / max(1, len(want | _tokens(item[1].text))),
            default=None,
        )
        if best is not None:
            used.add(best[1].id)
        if best is not None and best[0] == path:
            correct += 1
        else:
            misses.append(f"{case.id}: {expected!r} expected in {path}, found in {best[0] if best else None}")
    return correct, total, misses


@dataclass
class Tally:
    wer_errors: int = 0
    wer_raw_errors: int = 0
    wer_words: int = 0
    audio_seconds: float = 0.0
    asr_seconds: float = 0.0
    placed: dict[str, list[int]] = field(default_factory=lambda: {"text": [0, 0], "audio": [0, 0]})
    recall: dict[str, list[int]] = field(default_factory=lambda: {"text": [0, 0], "audio": [0, 0]})
    per_code: dict[str, list[int]] = field(default_factory=dict)
    false_alarm_cases: dict[str, list[int]] = field(default_factory=lambda: {"text": [0, 0], "audio": [0, 0]})
    notes: list[str] = field(default_factory=list)


def run(args: argparse.Namespace) -> dict[str, Any]:
    cases = [c for c in CASES if not args.cases or c.id in args.cases.split(",")]
    engine = ScribeEngine(None if args.text_only else WhisperTranscriber.from_settings(), llm=None)
    out_dir = Path(os.environ.get("AUTOSCRIBE_DATA_DIR", "var")) / "bench-scribe"
    tally = Tally()
    modes = ["text"] if args.text_only else ["text", "audio"]
    transcripts: dict[str, str] = {}

    def heard(script: str, context: StudyContext) -> str:
        if script not in transcripts:
            wav = synthesize(script, out_dir)
            template = engine.template_for(context)
            transcript = engine.transcribe(wav, template)
            tally.audio_seconds += transcript.duration
            tally.asr_seconds += transcript.processing_seconds
            transcripts[script] = transcript.text
        return transcripts[script]

    if not args.text_only:
        # Load the model and warm it up outside the timed runs.
        engine.transcribe(synthesize("warm up period", out_dir))

    for case in cases:
        context = context_for(case)
        script = case.script()
        for mode in modes:
            text = script if mode == "text" else heard(script, context)
            result = engine.from_text(text, context)
            if mode == "audio":
                template = engine.template_for(context)
                ref = words_for_wer(normalize(script))
                fixed = (
                    engine.corrected_text(text, template, context)
                    if hasattr(engine, "corrected_text")
                    else correct_terms(text, engine.vocabulary_for(template))
                )
                hyp = words_for_wer(normalize(fixed))
                errors = edit_distance(ref, hyp)
                tally.wer_raw_errors += edit_distance(ref, words_for_wer(normalize(text)))
                tally.wer_errors += errors
                tally.wer_words += len(ref)
                if args.verbose and errors:
                    tally.notes.append(
                        f"{case.id}: WER {errors}/{len(ref)}\n   ref: {' '.join(ref)}"
                        f"\n   hyp: {' '.join(hyp)}"
                    )
            correct, total, misses = placement(case, result)
            tally.placed[mode][0] += correct
            tally.placed[mode][1] += total
            tally.notes.extend(f"[{mode}] placement {m}" for m in misses)
            unexpected = {c.code for c in result.checks} - case.checks
            missing = case.checks - {c.code for c in result.checks}
            tally.false_alarm_cases[mode][1] += 1
            if unexpected:
                tally.false_alarm_cases[mode][0] += 1
                tally.notes.append(
                    f"[{mode}] false alarm {case.id}: "
                    + "; ".join(f"{c.code}: {c.message}" for c in result.checks if c.code in unexpected)
                )
            if missing:
                tally.notes.append(f"[{mode}] {case.id}: expected check(s) {sorted(missing)} did not fire")
        for variant in case.variants:
            vscript, vcontext = apply_variant(case, variant)
            for mode in modes:
                text = vscript if mode == "text" else heard(vscript, vcontext)
                codes = {c.code for c in engine.from_text(text, vcontext).checks}
                hit = variant.code in codes
                tally.recall[mode][0] += hit
                tally.recall[mode][1] += 1
                per = tally.per_code.setdefault(f"{variant.code} [{mode}]", [0, 0])
                per[0] += hit
                per[1] += 1
                if not hit:
                    tally.notes.append(
                        f"[{mode}] missed {variant.code} in {case.id} ({variant.old!r} -> {variant.new!r})"
                    )

    def pct(pair: list[int]) -> float | None:
        return round(100.0 * pair[0] / pair[1], 1) if pair[1] else None

    figures: dict[str, Any] = {
        "cases": len(cases),
        "variants": sum(len(c.variants) for c in cases),
        "placementPctText": pct(tally.placed["text"]),
        "checkRecallPctText": pct(tally.recall["text"]),
        "falseAlarmPctText": pct(tally.false_alarm_cases["text"]),
    }
    if not args.text_only:
        figures.update(
            werPct=round(100.0 * tally.wer_errors / max(1, tally.wer_words), 2),
            werPctWithoutSpellingCorrection=round(100.0 * tally.wer_raw_errors / max(1, tally.wer_words), 2),
            rtf=round(tally.asr_seconds / max(1e-9, tally.audio_seconds), 3),
            audioSeconds=round(tally.audio_seconds, 1),
            asrSeconds=round(tally.asr_seconds, 1),
            asrThreads=engine.transcriber.cpu_threads
            if isinstance(engine.transcriber, WhisperTranscriber)
            else None,
            placementPctAudio=pct(tally.placed["audio"]),
            checkRecallPctAudio=pct(tally.recall["audio"]),
            falseAlarmPctAudio=pct(tally.false_alarm_cases["audio"]),
        )
    figures["recallByCheck"] = {k: f"{v[0]}/{v[1]}" for k, v in sorted(tally.per_code.items())}
    if args.verbose:
        for note in tally.notes:
            print(note)
    return figures
