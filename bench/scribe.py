"""Scribe engine benchmark: WER per voice (clean and noisy), real-time factor, section placement,
critical-finding recall and false alarms, on a development and a held-out test set.

    .venv/bin/python bench/scribe.py                          # dev and test sets, all voices, clean + noisy
    .venv/bin/python bench/scribe.py --set test               # the held-out test set only
    .venv/bin/python bench/scribe.py --set dev --voices en-us --conditions clean --every 3   # quick
    .venv/bin/python bench/scribe.py --set dev --cases dev-cta-pe,dev-mr-knee --verbose
    .venv/bin/python bench/scribe.py --text-only              # no audio: placement and checks on the scripts
    .venv/bin/python bench/scribe.py --set legacy             # the original corpus (bench/scribe_corpus.py)

Sets (bench/data/, see README.md there): `dev` is tuned on; `test` is only ever scored: it was
written together with dev, before any change it measures, and nothing in the engine (lexicon,
prompts, rules) is taken from it. Each is one dictation per line, with the section each sentence
belongs in and the critical findings it contains.

Audio: espeak-ng voices en-us, en-gb and en-us+f3, each dictation at a speed between 130 and 175
words a minute (fixed per dictation and voice), and a noisy copy of each (sox: room reverb, then
pink noise at 20 dB SNR). Nothing is downloaded. Audio and transcripts are cached under
$AUTOSCRIBE_DATA_DIR/bench-scribe (default ./var/bench-scribe); a transcript is reused only for the
same audio, the same transcribe.py and the same prompt, hotwords and decoder settings.

Figures:
  WER         word errors of the engine's text (after correction and normalisation) against the
              normalised script, per set, voice and condition; `raw` is before any correction
  RTF         transcription seconds / audio seconds (model threads: AUTOSCRIBE_ASR_THREADS, default 2)
  placement   share of dictated sentences that land in their expected section (clinical indication,
              technique, comparison, findings, impression); spoken headings are not scored
  script WER  the script (correct text) through the same corrections: words the engine changed
              that were right
  critical    recall: share of dictations with a critical finding on which the critical_finding check
              fires; false alarms: share of dictations without one on which it fires
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from autoscribe.scribe import ScribeEngine, StudyContext, WhisperTranscriber, normalize
from autoscribe.scribe.engine import DictationResult
from autoscribe.scribe.normalize import NEXT_SECTION_MARK
from autoscribe.scribe.templates import template_from_dictation
from autoscribe.scribe.transcribe import FALLBACK_TEMPERATURES

DATA = Path(__file__).resolve().parent / "data"
SETS = {"dev": DATA / "scribe_dev.jsonl", "test": DATA / "scribe_test.jsonl"}
VOICES = ("en-us", "en-gb", "en-us+f3")
CONDITIONS = ("clean", "noisy")
SPEEDS = (130, 145, 160, 175)  # words a minute; one per dictation and voice, spread over the range
SNR_DB = 20.0
REVERB = ["reverb", "40", "50", "60"]  # reverberance %, HF damping %, room scale %: a small reading room
# transcribe.py as it was before issue 14 (commit 5c1ef3c): --before-transcripts reuses what it heard.
BEFORE_TRANSCRIBE_HASH = "403b54dc5a63ab16"
TRANSCRIBE_SOURCE = Path(__file__).resolve().parents[1] / "src" / "autoscribe" / "scribe" / "transcribe.py"

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


# ---- the sets -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dictation:
    id: str
    procedure: str
    modality: str
    types: tuple[str, ...]
    sex: str
    indication: str
    critical: tuple[str, ...]
    lines: tuple[tuple[str, str], ...]  # (section or "heading", spoken text)

    @property
    def context(self) -> StudyContext:
        return StudyContext(
            procedure=self.procedure,
            modality=self.modality,
            sex=self.sex,
            clinical_indication=self.indication,
        )

    def spoken(self) -> str:
        """What the radiologist says: a heading alone, each sentence with its spoken full stop."""
        parts = []
        for section, text in self.lines:
            parts.append(f"{text}." if section == "heading" else f"{text} period.")
        return " ".join(parts)

    @property
    def sentences(self) -> list[tuple[str, str]]:
        return [(s, t) for s, t in self.lines if s != "heading"]


def load_set(name: str) -> list[Dictation]:
    out = []
    for line in SETS[name].read_text().splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        if "id" not in row:  # the header comment
            continue
        out.append(
            Dictation(
                row["id"],
                row["procedure"],
                row.get("modality", ""),
                tuple(row.get("types", ())),
                row.get("sex", ""),
                row.get("indication", ""),
                tuple(row.get("critical", ())),
                tuple((s, t) for s, t in row["lines"]),
            )
        )
    return out


# ---- scoring ---------------------------------------------------------------------------------------------


def words_for_wer(text: str) -> list[str]:
    """Scoring form: lower case, no punctuation, hyphens as spaces ("L4-L5" and "L4 L5" score
    alike), small numbers as digits."""
    text = text.replace(NEXT_SECTION_MARK, " ").lower()
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


def _tokens(text: str) -> set[str]:
    return set(words_for_wer(text))


def placement(case: Dictation, result: DictationResult) -> tuple[int, int, list[str]]:
    """(correct, total, misses): each dictated sentence is matched to the most similar draft
    sentence the radiologist said (not a template default or a generated impression) and counts
    when that sentence is in the expected section."""
    said = [
        (path.split(".")[0], s)
        for path, s in result.draft.iter_sentences()
        if s.source not in ("default", "context", "generated")
    ]
    used: set[str] = set()
    correct = 0
    misses = []
    for section, spoken in case.sentences:
        want = _tokens(normalize(spoken + " period"))
        best = max(
            [item for item in said if item[1].id not in used],
            key=lambda item: len(want & _tokens(item[1].text)) / max(1, len(want | _tokens(item[1].text))),
            default=None,
        )
        if best is not None and not want & _tokens(best[1].text):
            best = None
        if best is not None:
            used.add(best[1].id)
        if best is not None and best[0] == section:
            correct += 1
        else:
            where = best[0] if best else "nowhere"
            misses.append(f"{case.id}: {spoken!r} expected in {section}, found in {where}")
    return correct, len(case.sentences), misses


def critical_fired(result: DictationResult) -> list[str]:
    return [c.message for c in result.checks if c.code == "critical_finding"]


# ---- audio -----------------------------------------------------------------------------------------------


def _speed(case_id: str, voice: str) -> int:
    return SPEEDS[zlib.crc32(f"{case_id}|{voice}".encode()) % len(SPEEDS)]


def synthesize(text: str, voice: str, speed: int, out_dir: Path) -> Path:
    args = ["espeak-ng", "-v", voice, "-s", str(speed)]
    key = hashlib.sha256(json.dumps([args, text]).encode()).hexdigest()[:20]
    path = out_dir / "clean" / f"{key}.wav"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.wav")
        subprocess.run([*args, "-w", str(tmp), text], check=True)
        tmp.rename(path)
    return path


def _rms(path: Path) -> float:
    out = subprocess.run(["sox", str(path), "-n", "stat"], capture_output=True, text=True, check=True).stderr
    match = re.search(r"RMS\s+amplitude:\s+([0-9.eE+-]+)", out)
    if match is None:
        raise RuntimeError(f"sox stat: no RMS for {path}")
    return float(match.group(1))


def noisy_copy(clean: Path, out_dir: Path) -> Path:
    """Room reverb, then pink noise at SNR_DB below the reverberant speech (both measured as RMS
    over the whole clip, pauses included)."""
    path = out_dir / "noisy" / f"{clean.stem}-r{'-'.join(REVERB[1:])}-snr{SNR_DB:g}.wav"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    rev = path.with_suffix(".rev.wav")
    noise = path.with_suffix(".noise.wav")
    # -R on every step: sox otherwise dithers its 16-bit output at random, so two machines would
    # score slightly different noisy copies of the same dictation.
    subprocess.run(["sox", "-R", str(clean), str(rev), *REVERB], check=True)
    info = subprocess.run(["soxi", "-D", str(rev)], capture_output=True, text=True, check=True).stdout
    rate = subprocess.run(["soxi", "-r", str(rev)], capture_output=True, text=True, check=True).stdout
    subprocess.run(  # -R: the same noise every run
        [
            "sox",
            "-R",
            "-n",
            "-r",
            rate.strip(),
            "-c",
            "1",
            "-b",
            "16",
            str(noise),
            "synth",
            info.strip(),
            "pinknoise",
            "vol",
            "0.3",
        ],
        check=True,
    )
    gain = _rms(rev) / (10 ** (SNR_DB / 20)) / max(_rms(noise), 1e-9)
    tmp = path.with_suffix(".tmp.wav")
    subprocess.run(
        ["sox", "-R", "-m", "-v", "1", str(rev), "-v", f"{gain:.6f}", str(noise), str(tmp)], check=True
    )
    tmp.rename(path)
    rev.unlink(missing_ok=True)
    noise.unlink(missing_ok=True)
    return path


# ---- transcription with a cache ----------------------------------------------------------------------


def _file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


class Heard:
    """Transcripts by audio, engine settings and prompt, kept on disk between runs."""

    def __init__(self, engine: ScribeEngine, out_dir: Path, use_cache: bool, before: bool = False) -> None:
        self.engine = engine
        self.before = before
        self.dir = out_dir / "transcripts"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.use_cache = use_cache
        self.code = _file_hash(TRANSCRIBE_SOURCE)
        self.audio_seconds = 0.0
        self.asr_seconds = 0.0
        self.cpu_seconds = 0.0  # process CPU time: what the model costs whatever else the machine runs
        self.fresh = 0
        self.cached = 0

    def _settings(self, template: Any, context: StudyContext | None) -> dict[str, Any]:
        t = self.engine.transcriber
        if self.before:
            # The cache key the bench gave the engine before issue 14 (commit 5c1ef3c): its prompt,
            # no hotwords, its transcribe.py.
            from autoscribe.scribe.templates import vocabulary_prompt

            return {
                "code": BEFORE_TRANSCRIBE_HASH,
                "model": getattr(t, "model_spec", ""),
                "beam": 5,
                "extra": dict.fromkeys(
                    ("temperatures", "hotwords_enabled", "check_pass", "best_of", "patience")
                ),
                "options": {"prompt": vocabulary_prompt(template, self.engine.macros.keys())},
            }
        plan = getattr(self.engine, "asr_options_for", None)
        options = plan(template, context) if plan else {"prompt": self.engine.prompt_for(template)}
        return {
            "code": self.code,
            "model": getattr(t, "model_spec", getattr(t, "name", "")),
            "beam": getattr(t, "beam_size", None),
            "extra": {
                k: getattr(t, k, None)
                for k in ("temperatures", "hotwords_enabled", "check_pass", "best_of", "patience")
            },
            "options": options,
        }

    def __call__(
        self, wav: Path, template: Any, context: StudyContext | None = None
    ) -> tuple[str, float, float]:
        settings = self._settings(template, context)
        key = hashlib.sha256(json.dumps([_file_hash(wav), settings], sort_keys=True).encode()).hexdigest()[
            :24
        ]
        cache = self.dir / f"{key}.json"
        if self.use_cache and cache.exists():
            row = json.loads(cache.read_text())
            self.cached += 1
        elif self.before:
            raise SystemExit(
                f"--before-transcripts: no transcript of {wav.name} from the engine before issue 14"
            )
        else:
            cpu = time.process_time()
            transcript = (
                self.engine.transcribe(wav, template, context)
                if context
                else self.engine.transcribe(wav, template)
            )
            row = {
                "text": transcript.text,
                "duration": transcript.duration,
                "seconds": transcript.processing_seconds,
                "cpu": time.process_time() - cpu,
                "wav": wav.name,
            }
            cache.write_text(json.dumps(row))
            self.fresh += 1
        self.audio_seconds += row["duration"]
        self.asr_seconds += row["seconds"]
        self.cpu_seconds += row.get("cpu", float("nan"))
        return row["text"], row["duration"], row["seconds"]


# ---- the run ---------------------------------------------------------------------------------------------


@dataclass
class Cell:
    """One set, voice and condition."""

    errors: int = 0
    raw_errors: int = 0
    words: int = 0
    audio: float = 0.0
    asr: float = 0.0

    def add(self, errors: int, raw: int, words: int, audio: float, asr: float) -> None:
        self.errors += errors
        self.raw_errors += raw
        self.words += words
        self.audio += audio
        self.asr += asr

    def figures(self) -> dict[str, Any]:
        return {
            "wer": round(100 * self.errors / max(1, self.words), 2),
            "werRaw": round(100 * self.raw_errors / max(1, self.words), 2),
            "rtf": round(self.asr / self.audio, 3) if self.audio else None,
            "words": self.words,
            "audioSeconds": round(self.audio, 1),
        }


@dataclass
class SetTally:
    cells: dict[str, Cell] = field(default_factory=dict)
    placed: dict[str, list[int]] = field(default_factory=dict)  # mode → [correct, total]
    recall: dict[str, list[int]] = field(default_factory=dict)  # mode → [flagged, critical cases]
    alarms: dict[str, list[int]] = field(default_factory=dict)  # mode → [flagged, clean cases]
    notes: list[str] = field(default_factory=list)
    script_errors: int = 0
    script_words: int = 0

    def bump(self, table: dict[str, list[int]], mode: str, hit: bool) -> None:
        pair = table.setdefault(mode, [0, 0])
        pair[0] += int(hit)
        pair[1] += 1


def _pct(pair: list[int] | None) -> float | None:
    return round(100.0 * pair[0] / pair[1], 1) if pair and pair[1] else None


def make_engine(args: argparse.Namespace) -> ScribeEngine:
    transcriber = None
    if not args.text_only:
        options: dict[str, Any] = {}
        if args.beam is not None:
            options["beam_size"] = args.beam
        if args.patience is not None:
            options["patience"] = args.patience
        if args.model:
            options["model"] = args.model
        for name in ("hotwords", "check_pass"):
            value = getattr(args, name)
            if value is not None:
                options[name] = value == "on"
        if args.fallback == "on":
            options["temperatures"] = FALLBACK_TEMPERATURES
        base = WhisperTranscriber.from_settings()
        if options:
            kwargs = {
                "device": base.device,
                "compute_type": base.compute_type,
                "cpu_threads": base.cpu_threads,
                "beam_size": base.beam_size,
                "patience": base.patience,
            }
            model = options.pop("model", None)
            hot = options.pop("hotwords", None)
            check = options.pop("check_pass", None)
            kwargs.update(options)
            if hot is not None:
                kwargs["hotwords_enabled"] = hot
            if check is not None:
                kwargs["check_pass"] = check
            transcriber = WhisperTranscriber(model or os.environ.get("AUTOSCRIBE_ASR_MODEL"), **kwargs)
        else:
            transcriber = base
    engine = ScribeEngine(transcriber, llm=None)
    if args.bias is not None and hasattr(engine, "biasing"):
        engine.biasing = args.bias == "on"
    if args.correction is not None and hasattr(engine, "lexicon_correction"):
        engine.lexicon_correction = args.correction == "on"
    return engine


def engine_text(engine: ScribeEngine, heard: str, template: Any, context: StudyContext) -> str:
    """The engine's text for WER: its corrections, then normalisation (no macro expansion)."""
    clean = getattr(engine, "corrected_text", None)
    if clean is not None:
        return normalize(clean(heard, template, context))
    from autoscribe.scribe.vocabulary import correct_terms

    return normalize(correct_terms(heard, engine.vocabulary_for(template)))


def run_set(name: str, args: argparse.Namespace, engine: ScribeEngine, heard: Heard | None) -> dict[str, Any]:
    cases = load_set(name)
    if args.cases:
        wanted = set(args.cases.split(","))
        cases = [c for c in cases if c.id in wanted]
    if args.every > 1:
        cases = cases[:: args.every]
    out_dir = Path(os.environ.get("AUTOSCRIBE_DATA_DIR", "var")) / "bench-scribe"
    tally = SetTally()
    voices = args.voices.split(",")
    conditions = args.conditions.split(",")
    for case in cases:
        # --no-context: the study says nothing (no description, modality, sex or indication), as
        # `autoscribe dictate AUDIO` without options; the engine then guesses what the dictation is
        # about from a first hearing and hears it again with that template's words (--guess off: not).
        context = StudyContext() if args.no_context else case.context
        template = engine.template_for(context)
        script = case.spoken()
        ref = words_for_wer(normalize(script))
        # The script itself through the corrections: every word changed is one the engine got wrong
        # in text that was right (a correction pass must leave correct report language alone).
        as_written = words_for_wer(engine_text(engine, script, template, context))
        tally.script_errors += edit_distance(ref, as_written)
        tally.script_words += len(ref)
        runs: list[tuple[str, str | None, str, Any]] = [("text", None, script, None)]
        if heard is not None:
            for voice in voices:
                clean = synthesize(script, voice, _speed(case.id, voice), out_dir)
                for condition in conditions:
                    wav = clean if condition == "clean" else noisy_copy(clean, out_dir)
                    text, duration, seconds = heard(wav, template, context)
                    heard_with = None
                    if args.no_context and args.guess == "on":
                        heard_with = template_from_dictation(text, engine.templates)
                        if heard_with is not None:
                            text, _, again = heard(wav, heard_with, context)
                            seconds += again
                    hyp = words_for_wer(engine_text(engine, text, heard_with or template, context))
                    raw = words_for_wer(normalize(text))
                    errors = edit_distance(ref, hyp)
                    tally.cells.setdefault(f"{voice}/{condition}", Cell()).add(
                        errors, edit_distance(ref, raw), len(ref), duration, seconds
                    )
                    if args.verbose and errors:
                        tally.notes.append(
                            f"{case.id} [{voice}/{condition}] WER {errors}/{len(ref)}\n"
                            f"   ref: {' '.join(ref)}\n   hyp: {' '.join(hyp)}"
                        )
                    runs.append(("audio", f"{voice}/{condition}", text, heard_with))
        for mode, label, text, heard_with in runs:
            result = engine.from_text(text, context, template=template, heard_with=heard_with)
            correct, total, misses = placement(case, result)
            pair = tally.placed.setdefault(mode, [0, 0])
            pair[0] += correct
            pair[1] += total
            tally.notes.extend(f"[{label or mode}] placement {m}" for m in misses)
            fired = critical_fired(result)
            if case.critical:
                tally.bump(tally.recall, mode, bool(fired))
                if not fired:
                    tally.notes.append(
                        f"[{label or mode}] {case.id}: critical {list(case.critical)} not flagged"
                    )
            else:
                tally.bump(tally.alarms, mode, bool(fired))
                if fired:
                    tally.notes.append(f"[{label or mode}] {case.id}: false alarm: {'; '.join(fired)}")
    figures: dict[str, Any] = {
        "set": name,
        "dictations": len(cases),
        "sentences": sum(len(c.sentences) for c in cases),
        "criticalDictations": sum(1 for c in cases if c.critical),
        "procedureTypes": sorted({t for c in cases for t in c.types}),
        "placementPctText": _pct(tally.placed.get("text")),
        "werPctScript": round(100 * tally.script_errors / max(1, tally.script_words), 2),
        "criticalRecallPctText": _pct(tally.recall.get("text")),
        "criticalFalseAlarmPctText": _pct(tally.alarms.get("text")),
    }
    if heard is not None:
        cells = {k: v.figures() for k, v in sorted(tally.cells.items())}
        figures["byVoice"] = cells
        for condition in conditions:
            mine = [v for k, v in tally.cells.items() if k.endswith("/" + condition)]
            if mine:
                figures[f"werPct{condition.capitalize()}"] = round(
                    sum(100 * c.errors / max(1, c.words) for c in mine) / len(mine), 2
                )
                figures[f"werRawPct{condition.capitalize()}"] = round(
                    sum(100 * c.raw_errors / max(1, c.words) for c in mine) / len(mine), 2
                )
        audio = sum(c.audio for c in tally.cells.values())
        figures["rtf"] = round(sum(c.asr for c in tally.cells.values()) / audio, 3) if audio else None
        figures["audioMinutes"] = round(audio / 60, 1)
        figures["placementPctAudio"] = _pct(tally.placed.get("audio"))
        figures["criticalRecallPctAudio"] = _pct(tally.recall.get("audio"))
        figures["criticalFalseAlarmPctAudio"] = _pct(tally.alarms.get("audio"))
    figures["notes"] = tally.notes
    return figures


def print_set(figures: dict[str, Any], verbose: bool) -> None:
    name = figures["set"].upper()
    print(
        f"== {name} SET ({figures['dictations']} dictations, {figures['sentences']} sentences, "
        f"{figures['criticalDictations']} with a critical finding, "
        f"{len(figures['procedureTypes'])} procedure types)"
    )
    if "byVoice" in figures:
        print(f"  {'voice/condition':22} {'WER%':>7} {'raw WER%':>9} {'RTF':>6} {'words':>6} {'audio s':>8}")
        for key, cell in figures["byVoice"].items():
            print(
                f"  {name.lower() + ' ' + key:22} {cell['wer']:7.2f} {cell['werRaw']:9.2f} "
                f"{cell['rtf'] if cell['rtf'] is not None else '-':>6} {cell['words']:6d} "
                f"{cell['audioSeconds']:8.1f}"
            )
        for condition in CONDITIONS:
            if f"werPct{condition.capitalize()}" in figures:
                print(
                    f"  [{name.lower()}] WER {condition}, mean over voices: "
                    f"{figures[f'werPct{condition.capitalize()}']}% "
                    f"(raw {figures[f'werRawPct{condition.capitalize()}']}%)"
                )
        print(f"  [{name.lower()}] RTF {figures['rtf']} over {figures['audioMinutes']} min of audio")
        print(f"  [{name.lower()}] placement (audio) {figures['placementPctAudio']}%")
        print(
            f"  [{name.lower()}] critical recall (audio) {figures['criticalRecallPctAudio']}%, "
            f"false alarms {figures['criticalFalseAlarmPctAudio']}%"
        )
    print(
        f"  [{name.lower()}] WER of the script text itself through the corrections: "
        f"{figures['werPctScript']}% (words changed in correct text)"
    )
    print(f"  [{name.lower()}] placement (script text) {figures['placementPctText']}%")
    print(
        f"  [{name.lower()}] critical recall (script text) {figures['criticalRecallPctText']}%, "
        f"false alarms {figures['criticalFalseAlarmPctText']}%"
    )
    if verbose:
        for note in figures["notes"]:
            print("   " + note)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--set", default="dev,test", help="dev, test, legacy, comma-separated (default dev,test)"
    )
    parser.add_argument("--voices", default=",".join(VOICES))
    parser.add_argument("--conditions", default=",".join(CONDITIONS), help="clean, noisy")
    parser.add_argument("--cases", help="comma-separated dictation ids")
    parser.add_argument("--every", type=int, default=1, help="every Nth dictation only (a quick subset)")
    parser.add_argument(
        "--text-only", action="store_true", help="skip audio: placement and checks on the scripts"
    )
    parser.add_argument(
        "--no-cache", action="store_true", help="transcribe again even when a transcript is cached"
    )
    parser.add_argument(
        "--model", help="ASR model directory or cached size name (default: AUTOSCRIBE_ASR_MODEL)"
    )
    parser.add_argument("--beam", type=int, help="beam size")
    parser.add_argument(
        "--bias", choices=("on", "off"), help="per-template prompt and hotwords (engine default: on)"
    )
    parser.add_argument("--hotwords", choices=("on", "off"), help="pass hotwords to the decoder")
    parser.add_argument(
        "--check-pass", dest="check_pass", choices=("on", "off"), help="unprompted check pass"
    )
    parser.add_argument(
        "--fallback",
        choices=("on", "off"),
        help="re-decode at higher temperatures when the output looks degenerate (default: off)",
    )
    parser.add_argument(
        "--no-context",
        dest="no_context",
        action="store_true",
        help="dictate as for a study that says nothing about itself (no description, no modality)",
    )
    parser.add_argument(
        "--guess",
        choices=("on", "off"),
        default="on",
        help="with --no-context: hear again with the template the dictation is about (default: on)",
    )
    parser.add_argument(
        "--patience", type=float, help="beam search patience (default: AUTOSCRIBE_ASR_PATIENCE)"
    )
    parser.add_argument("--correction", choices=("on", "off"), help="radiology lexicon correction pass")
    parser.add_argument(
        "--before-transcripts",
        action="store_true",
        help="score what the speech model heard before issue 14 (cached by a run at commit 5c1ef3c) "
        "through today's corrections, mapping and checks",
    )
    parser.add_argument("--verbose", action="store_true", help="print every miss and transcription error")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    names = args.set.split(",")
    if "legacy" in names:
        import scribe_legacy

        legacy = scribe_legacy.run(args)
        if not args.json:
            print("== LEGACY CORPUS (bench/scribe_corpus.py: tuned on)")
            for key, value in legacy.items():
                print(f"  {key:22} {value}")
        names.remove("legacy")
    else:
        legacy = None
    engine = make_engine(args)
    heard = None
    if not args.text_only:
        out_dir = Path(os.environ.get("AUTOSCRIBE_DATA_DIR", "var")) / "bench-scribe"
        heard = Heard(engine, out_dir, use_cache=not args.no_cache, before=args.before_transcripts)
    results = []
    for name in names:
        figures = run_set(name, args, engine, heard)
        results.append(figures)
        if not args.json:
            print_set(figures, args.verbose)
    summary: dict[str, Any] = {"benchSeconds": round(time.perf_counter() - started, 1)}
    if heard is not None:
        summary.update(transcribed=heard.fresh, fromCache=heard.cached)
        if heard.audio_seconds and heard.cpu_seconds == heard.cpu_seconds:  # not NaN: all timed here
            # CPU seconds per audio second, halved: the real-time factor on 2 free cores if both
            # model threads were busy all the time (a lower bound; wall-clock RTF is per set above).
            summary["cpuRtf2Cores"] = round(heard.cpu_seconds / heard.audio_seconds / 2, 3)
        if isinstance(engine.transcriber, WhisperTranscriber):
            summary.update(
                model=engine.transcriber.name,
                asrThreads=engine.transcriber.cpu_threads,
                beam=engine.transcriber.beam_size,
            )
    if args.json:
        for figures in results:
            figures.pop("notes", None) if not args.verbose else None
        print(json.dumps({"sets": results, "legacy": legacy, **summary}))
        return
    print("  " + ", ".join(f"{k} {v}" for k, v in summary.items()))


if __name__ == "__main__":
    main()
