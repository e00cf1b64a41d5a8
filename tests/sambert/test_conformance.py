"""Our runtime against golden outputs of the KAN-TTS reference implementation.

How ``golden/reference_tiny.npz`` was produced (not reproducible inside this repo: the
reference is not vendored):

1. ``build_model_dir(dir, size="tiny", voices=["zhitian_emo", "zhiyan_emo"],
   seed=20261124)`` wrote the model (the builder is deterministic: numpy-seeded weights).
2. KAN-TTS (github alibaba-damo-academy/KAN-TTS, commit 66202d0) was checked out outside
   the repository and run on this Python with stubs for imports its inference path does
   not use (numba, librosa, pytorch_wavelets, unidecode, inflect, ttsfrd) and
   ``scipy.signal.kaiser`` aliased to ``scipy.signal.windows.kaiser``. The runner did
   what modelscope's ``Voice`` does: vocabularies by ``KanTtsLinguisticUnit`` with the
   mask symbol (``ignore_mask=False``); ``KanTtsSAMBERT`` built from the voice's
   ``am/config.yaml`` after checking that its state-dict keys and shapes equal the
   checkpoint's, loaded (``strict=False``), ``eval()``; ``Generator`` loaded strictly,
   ``remove_weight_norm()``; each line through ``encode_symbol_sequence`` -> model
   (EOS dropped) -> ``postnet_outputs[:LR_length_rounded]`` -> generator.
3. Saved per case: the voice, the symbol line, durations
   (``int(exp(log_dur) - 1 + 0.5)``), postnet mel ``[frames, 10]`` and waveform.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from daemon.engines.sambert import SambertEngine
from daemon.engines.sambert import voice as voice_module

from .conftest import GOLDEN_SEED

GOLDEN = Path(__file__).parent / "golden" / "reference_tiny.npz"
CASES = 6


@pytest.fixture(scope="module")
def golden() -> dict[str, np.ndarray]:
    with np.load(GOLDEN, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def test_golden_was_made_with_the_builder_seed(golden: dict[str, np.ndarray]) -> None:
    assert int(golden["seed"]) == GOLDEN_SEED


def test_goldens_cover_two_voices_and_three_emotions(golden: dict[str, np.ndarray]) -> None:
    voices = {str(golden[f"voice_{i}"]) for i in range(CASES)}
    emotions = {str(golden[f"line_{i}"]).split("$")[4] for i in range(CASES)}
    assert len(voices) >= 2
    assert len(emotions) >= 3


@pytest.mark.parametrize("case", range(CASES))
def test_matches_reference(engine: SambertEngine, golden: dict[str, np.ndarray], case: int) -> None:
    result = engine.synthesize_symbol_line(
        str(golden[f"line_{case}"]), str(golden[f"voice_{case}"])
    )
    np.testing.assert_array_equal(result.acoustic.durations.numpy(), golden[f"durations_{case}"])
    np.testing.assert_allclose(
        result.acoustic.mel.numpy(), golden[f"mel_{case}"], rtol=0, atol=1e-4
    )
    np.testing.assert_allclose(result.wav, golden[f"wav_{case}"], rtol=0, atol=1e-4)
    # Not a trivially silent comparison.
    assert np.abs(golden[f"wav_{case}"]).max() > 0.1


def test_synthesize_symbols_concatenates_lines(
    engine: SambertEngine, golden: dict[str, np.ndarray]
) -> None:
    lines = [str(golden["line_0"]), "", str(golden["line_1"])]
    audio = engine.synthesize_symbols(lines, voice=str(golden["voice_0"]))
    expected = np.concatenate([golden["wav_0"], golden["wav_1"]])
    assert audio.dtype == np.float32
    np.testing.assert_allclose(audio, expected, rtol=0, atol=1e-4)


@pytest.mark.parametrize("chunk", [1, 7, 32])
def test_streamed_vocoder_matches_reference(
    engine: SambertEngine,
    golden: dict[str, np.ndarray],
    monkeypatch: pytest.MonkeyPatch,
    chunk: int,
) -> None:
    """The goldens are shorter than one vocoder chunk: force chunk boundaries inside."""
    monkeypatch.setattr(voice_module, "VOCODER_CHUNK_FRAMES", chunk)
    result = engine.synthesize_symbol_line(str(golden["line_2"]), str(golden["voice_2"]))
    np.testing.assert_allclose(result.wav, golden["wav_2"], rtol=0, atol=1e-4)


def test_two_thread_engine_matches_reference(
    tiny_model: Path, golden: dict[str, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With threads=2 a worker computes one residual block per stage: same result."""
    monkeypatch.setattr(voice_module, "VOCODER_CHUNK_FRAMES", 16)
    engine = SambertEngine(str(tiny_model), threads=2, precision="float32")
    for case in (3, 4):
        result = engine.synthesize_symbol_line(
            str(golden[f"line_{case}"]), str(golden[f"voice_{case}"])
        )
        np.testing.assert_array_equal(
            result.acoustic.durations.numpy(), golden[f"durations_{case}"]
        )
        np.testing.assert_allclose(result.wav, golden[f"wav_{case}"], rtol=0, atol=1e-4)
