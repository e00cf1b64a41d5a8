"""Block-wise acoustic model (streamed postnet) and the two-thread pipeline give the
same mel and waveform as the whole-utterance path (float32, against the goldens)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from daemon.engines.sambert import SambertEngine, pipeline
from daemon.engines.sambert import voice as voice_module
from daemon.engines.sambert.vocoder import CHUNK_STEP, HifiGanGenerator

LINES = [2, 4]  # golden cases: one per voice


@pytest.fixture(scope="module")
def golden() -> dict[str, np.ndarray]:
    path = Path(__file__).parent / "golden" / "reference_tiny.npz"
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


@pytest.mark.parametrize("block_steps", [1, 2, 5, 1000])
@pytest.mark.parametrize("case", LINES)
def test_mel_blocks_equal_the_whole_mel(
    engine: SambertEngine, golden: dict[str, np.ndarray], block_steps: int, case: int
) -> None:
    voice = engine._voice(str(golden[f"voice_{case}"]))
    line = voice.units.encode(str(golden[f"line_{case}"]))
    args = (torch.from_numpy(line.ling), torch.from_numpy(line.emotion))
    with torch.inference_mode():
        plan = voice.am.plan(*args, torch.from_numpy(line.speaker), speed=1.0)
        blocks = list(voice.am.iter_mel(plan, block_steps))
    assert len(blocks) == -(-plan.memory.shape[0] // block_steps)  # one per decoder block
    mel = torch.cat(blocks).numpy()
    np.testing.assert_allclose(mel, golden[f"mel_{case}"], rtol=0, atol=1e-4)


@pytest.mark.parametrize("sizes", [(5, 3, 2), (16, 48, 16)])
def test_two_thread_pipeline_matches_reference(
    tiny_model: Path,
    golden: dict[str, np.ndarray],
    monkeypatch: pytest.MonkeyPatch,
    sizes: tuple[int, int, int],
) -> None:
    """Small chunks: the worker vocodes several chunks while the acoustic model runs,
    then the calling thread finishes with the residual-block split."""
    chunk, worker_chunk, block_steps = sizes
    monkeypatch.setattr(voice_module, "VOCODER_CHUNK_FRAMES", chunk)
    monkeypatch.setattr(voice_module, "WORKER_CHUNK_FRAMES", worker_chunk)
    monkeypatch.setattr(voice_module, "DECODER_BLOCK_STEPS", block_steps)
    monkeypatch.setattr(voice_module, "PIPELINE_MIN_FRAMES", 0)  # the golden lines are short
    engine = SambertEngine(str(tiny_model), threads=2, precision="float32")
    for case in LINES:
        result = engine.synthesize_symbol_line(
            str(golden[f"line_{case}"]), str(golden[f"voice_{case}"])
        )
        np.testing.assert_allclose(
            result.acoustic.mel.numpy(), golden[f"mel_{case}"], rtol=0, atol=1e-4
        )
        np.testing.assert_allclose(result.wav, golden[f"wav_{case}"], rtol=0, atol=1e-4)


def test_worker_errors_reach_the_caller(
    engine: SambertEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    vocoder: HifiGanGenerator = engine._voice("zhitian_emo").vocoder
    failed = threading.Event()

    def stream(*args: object, **kwargs: object) -> torch.Tensor:
        failed.set()
        raise RuntimeError("vocoder broke")

    def blocks() -> Iterator[torch.Tensor]:
        yield torch.zeros((CHUNK_STEP, vocoder.p.in_channels))  # enough for the worker
        assert failed.wait(10), "the worker never ran"
        yield torch.zeros((CHUNK_STEP, vocoder.p.in_channels))

    monkeypatch.setattr(vocoder, "stream", stream)
    with (
        ThreadPoolExecutor(max_workers=1) as pool,
        torch.inference_mode(),
        pytest.raises(RuntimeError, match="broke"),
    ):
        pipeline.synthesize(
            blocks(),
            vocoder,
            pool,
            chunk_frames=CHUNK_STEP,
            worker_chunk_frames=CHUNK_STEP,
            total_frames=8 * CHUNK_STEP,
        )


def test_acoustic_errors_stop_the_worker(engine: SambertEngine) -> None:
    vocoder: HifiGanGenerator = engine._voice("zhitian_emo").vocoder

    def blocks() -> object:
        yield torch.zeros((4, vocoder.p.in_channels))
        raise ValueError("acoustic model broke")

    with (
        ThreadPoolExecutor(max_workers=1) as pool,
        torch.inference_mode(),
        pytest.raises(ValueError, match="broke"),
    ):
        pipeline.synthesize(
            blocks(), vocoder, pool, chunk_frames=8, worker_chunk_frames=8, total_frames=8
        )  # type: ignore[arg-type]


@pytest.mark.parametrize("head", [True, False])
def test_short_line_path_matches_reference(
    tiny_model: Path,
    golden: dict[str, np.ndarray],
    monkeypatch: pytest.MonkeyPatch,
    head: bool,
) -> None:
    """Short lines: the worker vocodes the first chunk from the postnet of the decoder's
    first block (or nothing), then both threads share each chunk of the rest."""
    monkeypatch.setattr(voice_module, "VOCODER_CHUNK_FRAMES", 8)
    monkeypatch.setattr(voice_module, "CHUNK_STEP", 8)  # the worker's first chunk
    monkeypatch.setattr(voice_module, "DECODER_BLOCK_STEPS", 6)
    monkeypatch.setattr(voice_module, "SHORT_HEAD_MIN_FRAMES", 0 if head else 10**6)
    heads: list[int] = []
    real_head = pipeline._head

    def spy(*args: Any) -> torch.Tensor:
        heads.append(args[3])
        return real_head(*args)

    monkeypatch.setattr(pipeline, "_head", spy)
    engine = SambertEngine(str(tiny_model), threads=2, precision="float32")
    for case in LINES:
        result = engine.synthesize_symbol_line(
            str(golden[f"line_{case}"]), str(golden[f"voice_{case}"])
        )
        assert result.acoustic.mel.shape[0] < voice_module.PIPELINE_MIN_FRAMES
        np.testing.assert_allclose(
            result.acoustic.mel.numpy(), golden[f"mel_{case}"], rtol=0, atol=1e-4
        )
        np.testing.assert_allclose(result.wav, golden[f"wav_{case}"], rtol=0, atol=1e-4)
    assert heads == ([8] * len(LINES) if head else [])


def test_postnet_on_a_prefix_gives_its_first_frames_exactly(engine: SambertEngine) -> None:
    am = engine._voice("zhitian_emo").am
    lookahead = am.mel_postnet.lookahead
    assert lookahead > 0
    dec = torch.randn((40, am.params.num_mels), generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        whole = am.postnet_mel(dec)
        prefix = am.postnet_mel(dec[:20])
    exact = 20 - lookahead
    torch.testing.assert_close(prefix[:exact], whole[:exact], rtol=0, atol=1e-6)
    assert (prefix[exact] - whole[exact]).abs().max() > 1e-4  # the bound is tight
