"""The speaker's fast paths with a fake engine: the first sentence played while the engine
still works, cache hits that don't wait behind a synthesis, whole-text mode, and the
streamed sentence's error handling."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from daemon.audio.player import Player
from daemon.engines.base import Audio, EngineError
from daemon.engines.tone import ToneEngine
from daemon.events import Failure
from daemon.phrase_cache import AsyncPhraseCache, PhraseCache, key_for
from daemon.request import SayRequest
from daemon.speaker import Job, Speaker, TextPlan
from daemon.synthesis import SynthesisError, SynthesisPool

pytestmark = pytest.mark.asyncio

SLOW = "慢"
PIECE_PAUSE_S = 0.3


class StreamingEngine(ToneEngine):
    """Beeps, handed out in three pieces with a pause after the first; ``慢`` takes 1 s."""

    name = "streaming-beeps"

    def __init__(self) -> None:
        super().__init__(seconds_per_char=0.05)
        self.calls: list[tuple[str, str, float]] = []  # (kind, sentence, time it ended)
        self.fail_after_first = False
        self.nan_piece = False

    def synthesize(self, sentence: str, *, voice: str, emotion: str, speed: float) -> Audio:
        if SLOW in sentence:
            time.sleep(1.0)
        audio = super().synthesize(sentence, voice=voice, emotion=emotion, speed=speed)
        self.calls.append(("whole", sentence, time.monotonic()))
        return audio

    def synthesize_stream(
        self, sentence: str, *, voice: str, emotion: str, speed: float
    ) -> Iterator[Audio]:
        audio = super().synthesize(sentence, voice=voice, emotion=emotion, speed=speed)
        third = audio.size // 3
        yield audio[:third]
        if self.fail_after_first:
            raise RuntimeError("vocoder fell over")
        time.sleep(PIECE_PAUSE_S)
        yield np.full(3, np.nan, np.float32) if self.nan_piece else audio[third : 2 * third]
        yield audio[2 * third :]
        self.calls.append(("stream", sentence, time.monotonic()))


class Output:
    def __init__(self) -> None:
        self.rate = 16000
        self.blocks: list[tuple[float, Audio]] = []

    def begin(self) -> None:
        pass

    def write(self, block: Audio) -> None:
        self.blocks.append((time.monotonic(), block.copy()))
        time.sleep(0.2 * block.size / self.rate)  # plays 5x faster than real time

    def end(self, *, discard: bool) -> None:
        pass

    def close(self) -> None:
        pass

    def samples(self) -> Audio:
        return np.concatenate([block for _, block in self.blocks])


class Rig:
    def __init__(self, tmp_path: Path, *, streaming: bool = True, cache: bool = True) -> None:
        self.engine = StreamingEngine()
        self.output = Output()
        self.player = Player(
            self.output,
            source_rate=16000,
            block_ms=20,
            trailing_silence_ms=0,
            volume=1.0,
            muted=False,
        )
        self.pool = SynthesisPool(self.engine, max_concurrent=1, timeout_s=5.0)
        self.cache = AsyncPhraseCache(PhraseCache(tmp_path / "phrases", 10_000_000))
        self.speaker = Speaker(
            self.pool,
            self.player,
            TextPlan(60, 24),
            lookahead=1,
            cache=self.cache if cache else None,
            streaming=streaming,
        )
        self.first_audio: list[float] = []

    async def speak(self, text: str, **fields: object) -> Job:
        job = Job(SayRequest(id=f"r{time.monotonic_ns()}", text=text, **fields), "beep", "neutral")  # type: ignore[arg-type]
        await self.speaker.speak(
            job,
            on_speaking=lambda: None,
            on_first_audio=lambda latency: self.first_audio.append(time.monotonic()),
        )
        await asyncio.sleep(0.05)  # the first-audio callback hops through the loop
        return job

    def close(self) -> None:
        self.pool.close()
        self.player.close()
        self.cache.close()


@pytest.fixture
async def rig(tmp_path: Path) -> Rig:
    made = Rig(tmp_path)
    await made.cache.open()
    yield made  # type: ignore[misc]
    made.close()


def beeps(text: str) -> Audio:
    return ToneEngine(seconds_per_char=0.05).synthesize(
        text, voice="beep", emotion="neutral", speed=1.0
    )


async def test_first_sentence_plays_while_the_engine_still_works(rig: Rig) -> None:
    text = "一二三四五六七八九十。"
    await rig.speak(text)
    kind, _, engine_done = rig.engine.calls[0]
    assert kind == "stream"
    first_write = rig.output.blocks[0][0]
    assert first_write < engine_done - PIECE_PAUSE_S / 2  # heard before the engine finished
    np.testing.assert_array_equal(rig.output.samples(), beeps(text))


async def test_a_hit_plays_the_stored_audio_and_does_not_wait_behind_a_synthesis(
    rig: Rig, tmp_path: Path
) -> None:
    cached = "门铃。"
    job = await rig.speak(cached)
    assert job.synth_s > 0
    await asyncio.sleep(0.1)  # the write is done on the cache's thread
    assert len(rig.cache.cache) == 1
    busy = asyncio.create_task(
        rig.pool.synthesize(SLOW + "。", voice="beep", emotion="neutral", speed=1.0)
    )
    await asyncio.sleep(0.1)  # the pool's only worker is now busy for a second
    began = time.monotonic()
    before = len(rig.output.blocks)
    hit = await rig.speak(cached)
    assert hit.synth_s == 0
    assert rig.first_audio[-1] - began < 0.5
    assert not busy.done()  # served while the synthesis still ran
    await busy
    np.testing.assert_array_equal(
        np.concatenate([b for _, b in rig.output.blocks[before:]]), beeps(cached)
    )


async def test_cache_false_neither_reads_nor_writes(rig: Rig) -> None:
    await rig.speak("车库。", cache=False)
    await asyncio.sleep(0.1)
    assert len(rig.cache.cache) == 0
    await rig.speak("车库。")
    await asyncio.sleep(0.1)
    key = key_for(rig.engine, "车库。", voice="beep", emotion="neutral", speed=1.0)
    assert rig.cache.cache.contains(key)
    job = await rig.speak("车库。", cache=False)
    assert job.synth_s > 0  # not from the cache


async def test_whole_text_mode_synthesizes_everything_before_playing(tmp_path: Path) -> None:
    rig = Rig(tmp_path, streaming=False, cache=False)
    try:
        text = "第一句。第二句话。第三句话长一点。"
        await rig.speak(text)
        assert [kind for kind, _, _ in rig.engine.calls] == ["whole"] * 3
        last_synthesis = max(done for _, _, done in rig.engine.calls)
        assert rig.output.blocks[0][0] >= last_synthesis
        np.testing.assert_array_equal(
            rig.output.samples(),
            np.concatenate([beeps("第一句。"), beeps("第二句话。"), beeps("第三句话长一点。")]),
        )
    finally:
        rig.close()


async def test_streaming_mode_plays_the_first_sentence_before_the_rest_is_made(
    rig: Rig,
) -> None:
    text = "第一句。第二句话。第三句话长一点。"
    await rig.speak(text)
    kinds = [kind for kind, _, _ in rig.engine.calls]
    assert kinds == ["stream", "whole", "whole"]
    assert rig.output.blocks[0][0] < rig.engine.calls[-1][2]


async def test_a_failing_stream_fails_the_request_with_a_code(rig: Rig) -> None:
    rig.engine.fail_after_first = True
    with pytest.raises(SynthesisError) as error:
        await rig.speak("坏掉的句子。")
    assert error.value.code == "engine_error"
    rig.engine.fail_after_first = False
    rig.engine.nan_piece = True
    with pytest.raises(SynthesisError) as error:
        await rig.speak("无效的句子。")
    assert error.value.code == "engine_output"
    await asyncio.sleep(0.1)
    assert len(rig.cache.cache) == 0  # nothing half-made is stored


async def test_a_stream_times_out_and_a_closed_one_stops_early(tmp_path: Path) -> None:
    engine = StreamingEngine()
    pool = SynthesisPool(engine, max_concurrent=1, timeout_s=0.2)
    stream = pool.stream("一二三。", voice="beep", emotion="neutral", speed=1.0)
    first = await stream.__anext__()
    assert first.size
    with pytest.raises(SynthesisError) as error:
        await stream.__anext__()  # the engine pauses longer than the timeout
    assert error.value.code == "synth_timeout"
    pool.close()

    pool = SynthesisPool(engine, max_concurrent=1, timeout_s=5.0)
    engine.calls.clear()
    stream = pool.stream("一二三。", voice="beep", emotion="neutral", speed=1.0)
    await stream.__anext__()
    stream.close()
    await asyncio.sleep(PIECE_PAUSE_S + 0.2)
    assert engine.calls == []  # it stopped before its last piece
    pool.close()


async def test_a_stop_between_pieces_cancels(rig: Rig) -> None:
    job = Job(SayRequest(id="stopped", text="一二三四五六七八九十。"), "beep", "neutral")

    async def stop_soon() -> None:
        await asyncio.sleep(0.1)
        job.stop(Failure("stopped", "test"))

    stopper = asyncio.create_task(stop_soon())
    with pytest.raises(asyncio.CancelledError):
        await rig.speaker.speak(job, on_speaking=lambda: None, on_first_audio=lambda _: None)
    await stopper
    await asyncio.sleep(PIECE_PAUSE_S + 0.2)
    assert len(rig.cache.cache) == 0  # an unfinished sentence is not stored


async def test_engine_errors_pass_through_the_stream_unchanged() -> None:
    class Refusing(StreamingEngine):
        def synthesize_stream(self, sentence: str, **kwargs: object) -> Iterator[Audio]:
            raise EngineError("unknown_emotion", "nope")
            yield  # pragma: no cover

    pool = SynthesisPool(Refusing(), max_concurrent=1, timeout_s=5.0)
    with pytest.raises(EngineError):
        async for _ in pool.stream("一。", voice="beep", emotion="neutral", speed=1.0):
            pass
    pool.close()
