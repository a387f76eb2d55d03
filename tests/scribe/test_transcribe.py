"""Real speech through the real model (espeak-ng audio, Whisper base int8), decoding, streaming, CLI,
the choice of model."""

from __future__ import annotations

import hashlib
import importlib
import itertools
import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from autoscribe.scribe import (
    FakeTranscriber,
    StreamingTranscription,
    TranscriptionError,
    WhisperTranscriber,
    builtin_template,
    default_transcriber,
    transcribe,
    transcribe_stream,
    vocabulary_prompt,
)
from autoscribe.scribe.transcribe import (
    assembled_base_model,
    bundled_model_path,
    decode_audio,
    has_avx512,
    model_label,
    resolve_model,
    use_avx512_where_the_cpu_has_it,
)

# The module (the package's `transcribe` is a function of the same name).
transcribe_module = importlib.import_module("autoscribe.scribe.transcribe")

EXPECTED_WORDS = ("liver", "pleural", "effusion", "pneumothorax")


def _heard(text: str) -> set[str]:
    low = text.lower()
    return {w for w in EXPECTED_WORDS if w in low}


def test_the_packaged_models_are_local_directories_and_base_is_the_default() -> None:
    path = bundled_model_path()
    assert (path / "model.bin").exists() and (path / "tokenizer.json").exists()
    assert resolve_model("tiny.en") == str(path) and model_label(str(path)) == "tiny.en"
    base = assembled_base_model()
    assert base is not None and (base / "model.bin").stat().st_size == transcribe_module.BASE_MODEL_SIZE
    assert resolve_model(None) == resolve_model("base") == str(base) and model_label(str(base)) == "base"
    assert WhisperTranscriber().name == "faster-whisper:base"
    with pytest.raises(TranscriptionError):
        resolve_model("/nonexistent/whisper-model")


def _fake_base_parts(monkeypatch: pytest.MonkeyPatch, root: Path, halves: tuple[bytes, bytes]) -> Path:
    """Two installed halves of a (tiny, made-up) base model; returns part 1's data directory."""
    first, second = root / "part1" / "data", root / "part2" / "data"
    for directory in (first, second):
        directory.mkdir(parents=True)
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        (first / name).write_text("{}")
    (first / "model.bin.part1").write_bytes(halves[0])
    (second / "model.bin.part2").write_bytes(halves[1])
    where = dict(zip(transcribe_module.BASE_PARTS, (first, second), strict=True))
    monkeypatch.setattr(transcribe_module, "_package_data", where.get)
    monkeypatch.setattr(transcribe_module, "get_settings", lambda: SimpleNamespace(data_dir=root / "var"))
    # What the published model.bin is: the halves of the last test join into something else.
    published = b"weights: part one, part two"
    monkeypatch.setattr(transcribe_module, "BASE_MODEL_SIZE", len(published))
    monkeypatch.setattr(transcribe_module, "BASE_MODEL_SHA256", hashlib.sha256(published).hexdigest())
    monkeypatch.setattr(
        transcribe_module,
        "BASE_FILE_SHA256",
        dict.fromkeys(transcribe_module._BASE_FILES, hashlib.sha256(b"{}").hexdigest()),
    )
    return first


def test_a_base_model_with_another_tokenizer_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    first = _fake_base_parts(monkeypatch, tmp_path, (b"weights: part one, ", b"part two"))
    (first / "tokenizer.json").write_text('{"swapped": true}')
    with pytest.raises(TranscriptionError, match=r"tokenizer\.json"):
        resolve_model("base")
    assert not (first / "model.bin").exists()


def test_the_base_model_is_joined_once_from_its_two_packages(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    first = _fake_base_parts(monkeypatch, tmp_path, (b"weights: part one, ", b"part two"))
    assert resolve_model("base") == str(first)
    assert (first / "model.bin").read_bytes() == b"weights: part one, part two"
    assert sorted(p.name for p in first.iterdir() if p.name.startswith(".")) == []  # no temporary left
    # Joined once: a complete file is used as it is, even without the halves (the Docker image drops them).
    (first / "model.bin.part1").unlink()
    assert assembled_base_model() == first and model_label(str(first)) == "base"


def test_a_read_only_install_joins_the_base_model_under_the_data_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    first = _fake_base_parts(monkeypatch, tmp_path, (b"weights: part one, ", b"part two"))
    assemble = transcribe_module._assemble

    def read_only_package(source: Path, target: Path, halves: tuple[Path, Path]) -> Path:
        if target == first:
            raise PermissionError(13, "Read-only file system", str(target))
        return assemble(source, target, halves)

    monkeypatch.setattr(transcribe_module, "_assemble", read_only_package)
    model = assembled_base_model()
    assert model == tmp_path / "var" / "models" / "whisper-base"
    assert (model / "model.bin").read_bytes() == b"weights: part one, part two"
    assert (model / "tokenizer.json").is_file() and not (first / "model.bin").exists()
    assert WhisperTranscriber("base").name == "faster-whisper:base"


def test_corrupt_halves_are_refused_and_base_needs_its_packages(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    first = _fake_base_parts(monkeypatch, tmp_path, (b"weights: part one, ", b"part 2!!"))
    with pytest.raises(TranscriptionError, match="corrupt"):
        resolve_model("base")
    assert [p.name for p in first.iterdir() if "model.bin" in p.name] == ["model.bin.part1"]

    monkeypatch.setattr(transcribe_module, "_package_data", lambda name: None)
    with pytest.raises(TranscriptionError, match="not installed"):
        resolve_model("base")


def test_real_model_hears_the_dictation_in_wav_webm_and_mp3(
    dictation_wav: Path, dictation_webm: Path, dictation_mp3: Path
) -> None:
    template = builtin_template("ct-chest")
    for path in (dictation_wav, dictation_webm, dictation_mp3):
        result = transcribe(path, template=template)
        assert _heard(result.text) == set(EXPECTED_WORDS), (path.suffix, result.text)
        assert 5 < result.duration < 20 and result.segments
    # Bytes work as well as paths (uploads arrive as bytes).
    assert _heard(transcribe(dictation_webm.read_bytes()).text) == set(EXPECTED_WORDS)


def test_the_encoder_runs_once_per_piece_and_the_text_is_the_same(dictation_wav: Path) -> None:
    """Each piece is decoded twice (the prompted pass and the unprompted check pass) from one
    encoding of its audio; hearing a recording again (a dictation re-heard with the template it is
    about) encodes nothing more. The words are what the model hears with an encoding per pass."""
    prompt = vocabulary_prompt(builtin_template("ct-chest"))
    transcriber = WhisperTranscriber(bundled_model_path().as_posix())
    model = transcriber._load()
    memo = model.encode
    encodings: list[object] = []
    encode = memo._encode

    def counted(features: object) -> object:
        encodings.append(features)
        return encode(features)

    memo._encode = counted
    first = transcriber.transcribe(dictation_wav, prompt=prompt)
    assert len(encodings) == 1  # one piece: two passes, one encoding
    again = transcriber.transcribe(dictation_wav, prompt="Chest CT.")
    assert len(encodings) == 1 and again.text

    model.encode = encode  # without the memo: an encoding for every pass
    plain = transcriber.transcribe(dictation_wav, prompt=prompt)
    assert plain.text == first.text and _heard(first.text) == set(EXPECTED_WORDS)


def test_the_first_dictation_loads_the_model_once(
    monkeypatch: pytest.MonkeyPatch, dictation_wav: Path
) -> None:
    """Its first piece's two passes ask for the model at the same moment."""
    import faster_whisper

    loads: list[object] = []
    real = faster_whisper.WhisperModel

    def counted(*args: object, **kwargs: object) -> object:
        loads.append(args)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(faster_whisper, "WhisperModel", counted)
    transcriber = WhisperTranscriber(bundled_model_path().as_posix())
    assert transcriber.transcribe(dictation_wav, prompt="Chest CT.").text and len(loads) == 1


def test_streaming_partial_text_grows_and_the_final_text_is_complete(dictation_webm: Path) -> None:
    data = dictation_webm.read_bytes()
    size = len(data) // 4 + 1
    chunks = [data[i : i + size] for i in range(0, len(data), size)]
    prompt = vocabulary_prompt(builtin_template("ct-chest"))
    results = list(transcribe_stream(chunks, default_transcriber(), prompt=prompt))
    assert len(results) == len(chunks) + 1 and results[-1].is_final
    partial_lengths = [len(r.text) for r in results[:-1]]
    assert partial_lengths[0] < partial_lengths[-1]  # text appears while audio arrives
    assert _heard(results[-1].text) == set(EXPECTED_WORDS)


def test_a_truncated_upload_decodes_up_to_where_it_stops(dictation_webm: Path) -> None:
    data = dictation_webm.read_bytes()
    whole = decode_audio(data)
    half = decode_audio(data[: len(data) // 2])
    assert 0 < len(half) < len(whole)
    with pytest.raises(TranscriptionError):
        decode_audio(b"this is not audio at all" * 10)


def test_fake_transcriber_is_deterministic_and_streams_by_bytes() -> None:
    audio = b"\x00" * 1000
    keyed = FakeTranscriber("default", {FakeTranscriber.key(b"other"): "Other."})
    assert (keyed.transcribe(b"other").text, keyed.transcribe(b"x").text) == ("Other.", "default")
    fake = FakeTranscriber("No pneumothorax. Lungs are clear.", full_length=len(audio))
    assert fake.transcribe(audio, prompt="p").text == "No pneumothorax. Lungs are clear."
    assert fake.prompts == ["p"]
    stream = StreamingTranscription(fake, margin=0.5)
    first = stream.feed(audio[:500])
    assert first.text == "No pneumothorax." and not first.is_final
    stream.feed(audio[500:])
    assert stream.finish().text == "No pneumothorax. Lungs are clear."


def test_whisper_transcriber_reads_its_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOSCRIBE_ASR_MODEL", str(bundled_model_path()))
    monkeypatch.setenv("AUTOSCRIBE_ASR_BEAM_SIZE", "3")
    from autoscribe.config import get_settings

    get_settings.cache_clear()
    try:
        transcriber = WhisperTranscriber.from_settings()
        assert transcriber.beam_size == 3 and transcriber.compute_type == "int8"
        assert transcriber.model_spec == str(bundled_model_path())
    finally:
        get_settings.cache_clear()


def test_cli_dictate_runs_the_whole_engine_on_real_audio(dictation_webm: Path) -> None:
    env = {**os.environ, "AUTOSCRIBE_LLM_BASE_URL": ""}
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "autoscribe.cli",
            "dictate",
            str(dictation_webm),
            "--procedure",
            "CT CHEST",
            "--sex",
            "female",
            "--json",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    result = json.loads(out.stdout)
    assert result["template"]["id"] == "ct-chest"
    assert _heard(result["transcript"]["text"]) == set(EXPECTED_WORDS)
    pleura = next(s for s in result["draft"]["sections"] if s["key"] == "findings")["subsections"]
    pleura_text = " ".join(x["text"] for sub in pleura if sub["key"] == "pleura" for x in sub["sentences"])
    assert "right pleural effusion" in pleura_text.lower()
    assert any("pleural effusion" in item.lower() for item in result["impression"])
    assert "unfilled_placeholder" in {c["code"] for c in result["checks"]}  # no indication given

    human = subprocess.run(
        [
            sys.executable,
            "-m",
            "autoscribe.cli",
            "dictate",
            str(dictation_webm),
            "--procedure",
            "CT CHEST",
            "--indication",
            "cough",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    ).stdout
    assert "TEMPLATE: CT chest (ct-chest)" in human and "IMPRESSION:" in human and "Pleura:" in human


def test_speech_the_prompted_model_skipped_is_heard_again_without_the_prompt(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from autoscribe.scribe.types import Segment

    transcriber = WhisperTranscriber()
    calls: list[str | None] = []

    def decode(
        samples: object, prompt: str | None, beam_size: int, **_: object
    ) -> tuple[tuple[Segment, ...], float]:
        calls.append(prompt)
        words = (
            "Impression colon normal."
            if prompt
            else "No acute hemorrhage period. The ventricles are normal period. The sinuses are clear. "
            "No fracture period. Impression colon normal."
        )
        return (Segment(0.0, 20.0, words),), 20.0

    monkeypatch.setattr(transcriber, "_decode", decode)
    samples = [0.0] * (20 * 16000)
    # 3 words for 20 s of speech: the prompted pass dropped most of it.
    assert transcriber.transcribe(samples, prompt="p").text.startswith("No acute hemorrhage")
    assert sorted(calls, key=str) == [None, "p"]  # the two passes run side by side
    # A plausible amount of text is kept as it is; without a prompt there is one pass only.
    calls.clear()
    monkeypatch.setattr(
        transcriber,
        "_decode",
        lambda s, p, b, **_: (
            calls.append(p)
            or (Segment(0, 20, " ".join(f"{'word' if p else 'other'}{chr(97 + i)}" for i in range(15))),),
            20.0,
        ),
    )
    assert transcriber.transcribe(samples, prompt="p").text.count("word") == 15
    assert sorted(calls, key=str) == [None, "p"]
    calls.clear()
    assert transcriber.transcribe(samples).text.count("other") == 15 and calls == [None]


def test_a_looping_or_truncated_prompted_pass_gives_way_to_the_unprompted_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from autoscribe.scribe.types import Segment

    said = (
        "Findings period. There is an acute right subdural hematoma measuring 11 mm period. "
        "The basal cisterns remain patent period. Impression colon acute subdural hematoma period."
    )
    heard: dict[str | None, str] = {None: said}
    transcriber = WhisperTranscriber()
    monkeypatch.setattr(transcriber, "_decode", lambda s, p, b, **_: ((Segment(0.0, 12.0, heard[p]),), 12.0))
    samples = [0.0] * (12 * 16000)

    # The prompted pass looped on a phrase of its prompt: 140 words in 12 s of speech.
    heard["p"] = "No acute hemorrhage, mass effect or " * 28
    assert transcriber.transcribe(samples, prompt="p").text == said
    # A whole sentence again and again, or a piece of a word again and again.
    heard["p"] = (
        "Findings. "
        + "The skin and nipples are unremarkable. Impression: benign appearing calcifications. " * 3
    )
    assert transcriber.transcribe(samples, prompt="p").text == said
    heard["p"] = said.replace("hematoma measuring", "hemato" + "ma" * 40 + " measuring")
    assert transcriber.transcribe(samples, prompt="p").text == said
    # It stopped early: the findings are gone, the impression is there.
    heard["p"] = "Findings. Impression: acute subdural hematoma."
    assert transcriber.transcribe(samples, prompt="p").text == said
    # It wrote the spoken punctuation as marks: the same words, so the prompted text stays.
    heard["p"] = (
        "Findings. There is an acute right subdural hematoma measuring 11 mm. The basal cisterns "
        "remain patent. Impression: acute subdural hematoma."
    )
    assert transcriber.transcribe(samples, prompt="p").text == heard["p"]
    # A few words apart is ordinary disagreement: the prompted pass (beam search) stays.
    heard["p"] = said.replace("acute right ", "").replace("remain ", "")
    assert transcriber.transcribe(samples, prompt="p").text == heard["p"]
    # Without the prompt, hard terms come out as more, everyday words: not a sign of skipped speech.
    heard["p"] = "The supraspinatus tendon is torn with retraction. Mild infraspinatus tendinosis."
    heard[None] = (
        "The soup was still at a standard is torn with retraction. Mild in for a spin at us tend in oh sis."
    )
    assert transcriber.transcribe(samples, prompt="p").text == heard["p"]
    # An unprompted pass that itself loops never replaces anything.
    heard["p"], heard[None] = "Findings. Impression: acute subdural hematoma.", "the the basal basal " * 12
    assert transcriber.transcribe(samples, prompt="p").text == heard["p"]


def test_a_long_recording_is_heard_in_pieces_cut_at_a_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np

    from autoscribe.scribe.transcribe import SAMPLE_RATE, _pieces
    from autoscribe.scribe.types import Segment

    rng = np.random.default_rng(0)
    samples = (rng.standard_normal(65 * SAMPLE_RATE) * 0.3).astype(np.float32)
    samples[int(24.0 * SAMPLE_RATE) : int(24.3 * SAMPLE_RATE)] = 0.0  # a pause between words
    pieces = _pieces(samples)
    # Whisper's windows are 30 s: no piece is longer, and the first cut falls in the pause.
    assert pieces[0][0] == 0 and pieces[-1][1] == len(samples)
    assert all(b == c for (_, b), (c, _) in itertools.pairwise(pieces))
    assert all(end - start <= 28 * SAMPLE_RATE for start, end in pieces)
    assert 24.0 <= pieces[0][1] / SAMPLE_RATE <= 24.3
    assert _pieces(samples[: 20 * SAMPLE_RATE]) == [(0, 20 * SAMPLE_RATE)]

    transcriber = WhisperTranscriber()
    prompts: list[str | None] = []

    def decode(
        piece: object, prompt: str | None, beam_size: int, **_: object
    ) -> tuple[tuple[Segment, ...], float]:
        if prompt is None:  # the quick unprompted check pass
            return (), 1.0
        prompts.append(prompt)
        return (Segment(0.0, 1.0, f"Piece {len(prompts)} said period."),), 1.0

    monkeypatch.setattr(transcriber, "_decode", decode)
    result = transcriber.transcribe(samples, prompt="Findings colon.")
    assert result.text == "Piece 1 said period. Piece 2 said period. Piece 3 said period."
    # Each piece is heard after the prompt and what was said just before it.
    assert prompts[0] == "Findings colon." and prompts[1] == "Findings colon. Piece 1 said period."
    assert result.segments[1].start == pytest.approx(pieces[1][0] / SAMPLE_RATE, abs=0.01)


def test_a_no_only_the_prompted_pass_heard_before_a_finding_is_dropped() -> None:
    from autoscribe.scribe.transcribe import _drop_unheard_negations
    from autoscribe.scribe.types import Segment

    def text(heard: str, plain: str) -> str:
        return " ".join(
            s.text for s in _drop_unheard_negations([Segment(0, 5, heard)], [Segment(0, 5, plain)])
        )

    # The prompt made the model expect the normal sentence: the plain pass heard the finding.
    assert (
        text(
            "No acute intracranial hemorrhage mass effect period. The ventricles are normal period.",
            "Acute, intracranial, hemorrhage, mass effect, period, the ventricles are normal, period.",
        )
        == "acute intracranial hemorrhage mass effect period. The ventricles are normal period."
    )
    # Both passes heard the "no", or they disagree on more than the "no": it stays.
    assert (
        text("No pleural effusion period.", "No, pleural effusion period.") == "No pleural effusion period."
    )
    assert text("There is no pleural effusion period.", "There is a pleural effusion.") == (
        "There is no pleural effusion period."
    )
    assert text("No free air period.", "Free error.") == "No free air period."


def test_a_run_the_prompted_pass_skipped_is_put_back_from_the_unprompted_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from autoscribe.scribe.types import Segment

    heard: dict[str | None, str] = {}
    transcriber = WhisperTranscriber()
    monkeypatch.setattr(transcriber, "_decode", lambda s, p, b, **_: ((Segment(0.0, 12.0, heard[p]),), 12.0))
    samples = [0.0] * (12 * 16000)

    # It stopped after "Impression.": the dictated impression comes from the unprompted pass.
    heard["p"] = (
        "Findings. The temporal horns are enlarged period. No intraparenchymal hematoma period. Impression."
    )
    heard[None] = (
        "findings. The temporal horns are enlarged period. No intraparenchymal hematoma period. "
        "Impression. Diffuse subalachnoid hemorrhage with early hydrocephalus period."
    )
    assert transcriber.transcribe(samples, prompt="p").text == (
        "Findings. The temporal horns are enlarged period. No intraparenchymal hematoma period. "
        "Impression. Diffuse subalachnoid hemorrhage with early hydrocephalus period."
    )
    # It jumped over a sentence in the middle.
    heard["p"] = "The liver is normal period. The spleen is normal period."
    heard[None] = (
        "The liver is normal period. The gallbladder is distended with stones period. "
        "The spleen is normal period."
    )
    assert transcriber.transcribe(samples, prompt="p").text == heard[None]
    # Other words for the same sounds are not a skip: the prompted pass heard the term.
    heard["p"] = "Mild tendinosis of the supraspinatus period. No tear period."
    heard[None] = "Mild tendinosis of the soup was still at a standard period. No tear period."
    assert transcriber.transcribe(samples, prompt="p").text == heard["p"]
    # Nor is a spoken "period" that both passes wrote, with other words around it.
    heard["p"] = (
        "The appendix is dilated with period and isle fat trending period. The liver is normal period."
    )
    heard[None] = (
        "The appendix is dilated with theory of an isolated at-tranding period. The liver is normal period."
    )
    assert transcriber.transcribe(samples, prompt="p").text == heard["p"]
    # Nothing is taken from an unprompted pass that looped after the words both heard.
    heard["p"] = "The bladder is unremarkable period. Impression. No acute findings period."
    heard[None] = "The bladder is unremarkable, impression, no acute findings" + (
        ", there is no power extraction, no acute findings in the abdomen" * 12
    )
    assert transcriber.transcribe(samples, prompt="p").text == heard["p"]
    # A number after the skipped words stays after them.
    heard["p"] = "There is a nodule 5 mm in diameter period."
    heard[None] = (
        "There is a nodule within the posterior segment of the right upper lobe 5 mm in diameter period."
    )
    assert transcriber.transcribe(samples, prompt="p").text == heard[None]
    # Nor is a word or two more in one pass.
    heard["p"] = "There is a small effusion period."
    heard[None] = "There is a small right pleural effusion period."
    assert transcriber.transcribe(samples, prompt="p").text == heard["p"]


@pytest.mark.parametrize(
    "said",
    [
        "The left kidney is normal in size period. The right kidney is normal in size period.",
        "There is a 5 mm nodule in the right lobe period. There is a 7 mm nodule in the right lobe period.",
        "No acute fracture period. No acute fracture period.",  # too short to tell from dictation
        "Measures 1.5 by 1.5 by 1.5 centimeters period.",
        # Runs that repeat across a side are not whole sentences said twice.
        "The right kidney measures 10 cm period. The left kidney measures 10 cm period. "
        "The left adrenal gland is normal period.",
        "No fracture of the right femur. No fracture of the left femur. No fracture of the left tibia.",
    ],
)
def test_sentences_that_differ_in_a_side_a_number_or_are_short_are_kept(said: str) -> None:
    from autoscribe.scribe.transcribe import _drop_repeated_runs
    from autoscribe.scribe.types import Segment

    assert _drop_repeated_runs([Segment(0, 5, said)])[0].text == said


def test_a_run_heard_twice_in_a_row_is_kept_once() -> None:
    from autoscribe.scribe.transcribe import _drop_repeated_runs
    from autoscribe.scribe.types import Segment

    heard = (
        "The skin is unremarkable period. Impression. Benign appearing calcifications are present in the "
        "right breast period. The skin is unremarkable period. Impression. Benign appearing calcification "
        "are present in the right breast period. The skin is unremarkable period. Impression. Benign. "
        "BI-RADS category 2 period."
    )
    assert [s.text for s in _drop_repeated_runs([Segment(0, 5, heard[:33]), Segment(5, 20, heard[33:])])] == [
        "The skin is unremarkable period. Impression. Benign appearing calcifications are present in the "
        "right breast period. The skin is unremarkable period. Impression. Benign. BI-RADS category 2 period."
    ]


def test_a_piece_the_prompted_pass_loops_on_is_heard_again_without_repeats(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from autoscribe.scribe.transcribe import RESCUE_NO_REPEAT_TOKENS
    from autoscribe.scribe.types import Segment

    loop = "There is a solid hypo" + "co" * 200
    rescued = (
        "There is a solid hypoechoic nodule in the right lobe period. Fine needle aspiration is recommended."
    )
    calls: list[tuple[str | None, int]] = []
    heard = {"rescue": rescued, "plain": loop}

    def decode(
        samples: object, prompt: str | None, beam_size: int, no_repeat_tokens: int = 0, **_: object
    ) -> tuple[tuple[Segment, ...], float]:
        calls.append((prompt, no_repeat_tokens))
        if no_repeat_tokens == RESCUE_NO_REPEAT_TOKENS:
            text = heard["rescue"]
        else:
            text = heard["plain"] if prompt is None else loop
        return (Segment(0.0, 12.0, text),), 12.0

    transcriber = WhisperTranscriber()
    monkeypatch.setattr(transcriber, "_decode", decode)
    samples = [0.0] * (12 * 16000)
    # Both passes looped: the prompted pass is heard again, with the prompt, without repeats.
    assert transcriber.transcribe(samples, prompt="p").text == rescued
    assert sorted(calls, key=str) == [("p", 0), ("p", RESCUE_NO_REPEAT_TOKENS), (None, 0)]
    # Without a prompt (one pass) too.
    calls.clear()
    assert transcriber.transcribe(samples).text == rescued
    assert calls == [(None, 0), (None, RESCUE_NO_REPEAT_TOKENS)]
    # If it loops still, a sound unprompted pass takes its place; else the piece stays as heard.
    heard["rescue"], heard["plain"] = loop, "There is a solid hypoechoic nodule period."
    assert transcriber.transcribe(samples, prompt="p").text == heard["plain"]
    heard["plain"] = loop
    assert transcriber.transcribe(samples, prompt="p").text == loop
    # A loop that comes back with its words varied a little each turn, with far more words than a
    # sound unprompted pass heard, is not taken.
    heard["plain"] = (
        "No acute findings in the abdomen and pelvis period. There is no bowel obstruction period."
    )
    heard["rescue"] = heard["plain"] + " ".join(
        f"No acute findings in the {part} period. There is no {word} obstruction period."
        for part, word in itertools.islice(
            itertools.cycle([("abdomen and pelvis", "power"), ("pelvis", "bowel"), ("abdomen", "tower")]), 2
        )
    )
    assert transcriber.transcribe(samples, prompt="p").text == heard["plain"]
    # Partial text (its own beam size) is redone soon: no third hearing.
    calls.clear()
    transcriber.transcribe(samples, prompt="p", beam_size=1)
    assert sorted(calls, key=str) == [("p", 0), (None, 0)]
    # A sound piece is heard twice only, whatever its spine levels ("L" again and again).
    calls.clear()
    heard["rescue"] = "Disc bulges at L1-L2, L2-L3, L3-L4, L4-L5 and L5-S1 period."
    monkeypatch.setattr(
        transcriber,
        "_decode",
        lambda s, p, b, **kw: (calls.append((p, 0)) or (Segment(0, 12, heard["rescue"]),), 12.0),
    )
    assert transcriber.transcribe(samples, prompt="p").text == heard["rescue"]
    assert len(calls) == 2


def _espeak(folder: Path, said: str, voice: str, speed: int) -> Path:
    wav = folder / f"{voice.replace('+', '-')}-{speed}.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(wav), said], check=True)
    return wav


def test_real_speech_whose_impression_the_prompted_pass_dropped_keeps_it(tmp_path: Path) -> None:
    """A CT head dictation, British voice at 175 words a minute, on which the prompted beam pass
    stopped after "Impression." (Whisper base): the impression must still be heard."""
    from autoscribe.scribe import ScribeEngine, StudyContext

    said = (
        "Findings. There is diffuse subarachnoid hemorrhage in the basal cisterns and both sylvian fissures "
        "period. The temporal horns are mildly enlarged suggesting early hydrocephalus period. No "
        "intraparenchymal hematoma period. Impression. Diffuse subarachnoid hemorrhage with early "
        "hydrocephalus period. Recommend CT angiography to evaluate for an aneurysm period."
    )
    wav = _espeak(tmp_path, said, "en-gb", 175)
    context = StudyContext(
        procedure="CT HEAD WITHOUT CONTRAST", modality="CT", clinical_indication="Worst headache of life"
    )
    result = ScribeEngine(llm=None).dictate(wav, context)
    impression = " ".join(result.impression).lower()
    assert "hydrocephalus" in impression and "angiography" in impression, result.transcript.text
    assert result.draft.impression_source == "dictated"


def test_real_speech_that_starts_at_the_first_frame_keeps_its_first_word(tmp_path: Path) -> None:
    """A radiologist who speaks as soon as the microphone opens: espeak-ng's audio starts at its
    first sample, and Whisper base dropped the heading it began with ("Technique.")."""
    from autoscribe.scribe import ScribeEngine, StudyContext

    said = (
        "Technique. Multiplanar MR imaging of the brain was performed without gadolinium period. "
        "Findings. Restricted diffusion involves the right frontal lobe and insula, consistent with an "
        "acute infarct period. Corresponding FLAIR hyperintensity is present without hemorrhage period. "
        "Normal flow voids are seen in the major intracranial arteries period. There is no hydrocephalus "
        "period. Impression. Acute infarct in the right MCA territory period."
    )
    wav = _espeak(tmp_path, said, "en-us", 160)
    context = StudyContext(procedure="MR BRAIN WITHOUT CONTRAST", modality="MR")
    engine = ScribeEngine(llm=None)
    transcript = engine.transcribe(wav, engine.template_for(context), context)
    assert transcript.text.lower().startswith("technique"), transcript.text
    assert all(seg.start >= 0 for seg in transcript.segments)


def test_avx512_kernels_are_asked_for_where_the_cpu_has_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """CTranslate2 keeps its AVX512 kernels for Intel; an AMD CPU with AVX-512 is told to use them."""
    amd = "vendor_id\t: AuthenticAMD\nflags\t\t: fpu sse2 avx2 avx512f avx512dq avx512bw avx512vl\n"
    assert has_avx512(amd)
    assert not has_avx512(amd.replace(" avx512bw", ""))
    assert not has_avx512("flags\t\t: fpu sse2 avx avx2 fma\n")
    # An operator's choice stands.
    monkeypatch.setenv("CT2_FORCE_CPU_ISA", "AVX2")
    use_avx512_where_the_cpu_has_it()
    assert os.environ["CT2_FORCE_CPU_ISA"] == "AVX2"
