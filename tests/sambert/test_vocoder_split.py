"""The vocoder split in time over two threads gives one continuous stream's waveform."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import torch

from daemon.engines.sambert import SambertEngine, pipeline
from daemon.engines.sambert.vocoder import HifiGanGenerator, Stream, context_frames


@pytest.fixture(scope="module")
def vocoder(engine: SambertEngine) -> HifiGanGenerator:
    return engine._voice("zhitian_emo").vocoder


@pytest.fixture(scope="module")
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=1) as executor:
        yield executor


def _mel(vocoder: HifiGanGenerator, frames: int, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn((frames, vocoder.p.in_channels), generator=gen)


def test_context_frames_is_how_far_back_the_waveform_reaches(vocoder: HifiGanGenerator) -> None:
    """Changing one mel frame changes the waveform from that frame on, up to (and not
    beyond) ``context_frames`` later; the bound is tight within one frame."""
    hop, frame, context = vocoder.p.hop_size, 20, context_frames(vocoder.p)
    mel = _mel(vocoder, 3 * context + frame).t().unsqueeze(0)
    changed = mel.clone()
    changed[:, :, frame] += 1.0
    with torch.inference_mode():
        diff = (vocoder(mel) - vocoder(changed)).abs().reshape(-1)
    touched = torch.nonzero(diff > 0).reshape(-1)
    assert touched[0].item() == frame * hop
    last = touched[-1].item() / hop - frame
    assert context - 1 <= last < context, (last, context)


@pytest.mark.parametrize("chunk", [8, 13, 96])
@pytest.mark.parametrize("extra", [1, 5, 40, 97])
def test_split_equals_one_stream(
    vocoder: HifiGanGenerator, pool: ThreadPoolExecutor, chunk: int, extra: int
) -> None:
    frames = 2 * context_frames(vocoder.p) + extra  # long enough to split
    mel = _mel(vocoder, frames, seed=extra)
    with torch.inference_mode():
        expected = vocoder.stream(mel.t().unsqueeze(0), chunk).reshape(-1)
        split = pipeline.vocode(vocoder, mel, pool, chunk_frames=chunk)
    assert split.shape == expected.shape == (frames * vocoder.p.hop_size,)
    torch.testing.assert_close(split, expected, rtol=0, atol=1e-5)
    assert expected.abs().max() > 0.1  # not a silent comparison


def test_split_continues_a_stream(vocoder: HifiGanGenerator, pool: ThreadPoolExecutor) -> None:
    """The worker's part starts fresh; the calling thread's part carries the stream on."""
    mel = _mel(vocoder, 150, seed=7)
    state: Stream = []
    with torch.inference_mode():
        expected = vocoder.stream(mel.t().unsqueeze(0), 16).reshape(-1)
        first = vocoder.stream(mel[:24].t().unsqueeze(0), 16, state).reshape(-1)
        rest = pipeline.vocode(vocoder, mel[24:], pool, chunk_frames=16, state=state)
    torch.testing.assert_close(torch.cat([first, rest]), expected, rtol=0, atol=1e-5)


@pytest.mark.parametrize(("frames", "lengths"), [(64, [64]), (90, [64, 32]), (5, [32])])
def test_a_streams_last_chunk_is_padded_to_a_cached_length(
    vocoder: HifiGanGenerator, monkeypatch: pytest.MonkeyPatch, frames: int, lengths: list[int]
) -> None:
    seen: list[int] = []
    forward = vocoder.forward

    def recording(
        mel: torch.Tensor, state: Stream | None = None, pool: ThreadPoolExecutor | None = None
    ) -> torch.Tensor:
        seen.append(mel.shape[-1])
        return forward(mel, state, pool)

    monkeypatch.setattr(vocoder, "forward", recording)
    mel = _mel(vocoder, frames).t().unsqueeze(0)
    with torch.inference_mode():
        wav = vocoder.stream(mel, 64, ends=True)
    assert seen == lengths
    assert wav.shape[-1] == frames * vocoder.p.hop_size


@pytest.mark.parametrize("chunk", [8, 64])
def test_chunks_on_two_threads_equal_one_thread(
    vocoder: HifiGanGenerator, pool: ThreadPoolExecutor, chunk: int
) -> None:
    """The residual blocks shared out per stage: the same operations in the same order."""
    mel = _mel(vocoder, 75, seed=3).t().unsqueeze(0)
    state_one: Stream = []
    state_two: Stream = []
    with torch.inference_mode():
        one = [vocoder.stream(mel[:, :, :40], chunk, state_one)]
        two = [vocoder.stream(mel[:, :, :40], chunk, state_two, pool=pool)]
        one.append(vocoder.stream(mel[:, :, 40:], chunk, state_one, ends=True))
        two.append(vocoder.stream(mel[:, :, 40:], chunk, state_two, ends=True, pool=pool))
    assert torch.equal(torch.cat(two, -1), torch.cat(one, -1))
    assert all(torch.equal(a, b) for a, b in zip(state_one, state_two, strict=True))
    assert torch.cat(one, -1).abs().max() > 0.1  # not a silent comparison


def test_a_worker_error_in_a_shared_chunk_reaches_the_caller(
    vocoder: HifiGanGenerator, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = ThreadPoolExecutor(max_workers=1)

    def fail(*args: object, **kwargs: object) -> None:
        raise RuntimeError("worker broke")

    monkeypatch.setattr(broken, "submit", lambda *a, **k: ThreadPoolExecutor.submit(broken, fail))
    mel = _mel(vocoder, 10).t().unsqueeze(0)
    with broken, torch.inference_mode(), pytest.raises(RuntimeError, match="worker broke"):
        vocoder.stream(mel, 8, pool=broken)
