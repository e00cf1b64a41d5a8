"""Queue logic of the service, with the tone engine, a recording publisher and an in-memory
output that plays in (scaled) real time. The real daemon is tested end to end in tests/e2e."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import pytest

from daemon.audio.errors import AudioDeviceError
from daemon.audio.player import Player
from daemon.engines.base import Audio
from daemon.engines.tone import ToneEngine
from daemon.events import ReplyTo
from daemon.service import Incoming, VoiceService
from daemon.settings import settings_from_dict


class MemoryOutput:
    """Keeps what is played; each write takes the block's duration times ``pace``."""

    def __init__(self, rate: int = 16000, pace: float = 0.0) -> None:
        self.rate = rate
        self.pace = pace
        self.blocks: list[Audio] = []
        self.fail = threading.Event()
        self.ends: list[bool] = []

    def begin(self) -> None:
        if self.fail.is_set():
            raise AudioDeviceError("no device")

    def write(self, block: Audio) -> None:
        self.blocks.append(block.copy())
        time.sleep(self.pace * block.size / self.rate)

    def end(self, *, discard: bool) -> None:
        self.ends.append(discard)

    def close(self) -> None:
        pass


class Recorder:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.replies: list[tuple[str, dict[str, Any]]] = []
        self.states: list[dict[str, Any]] = []

    def event(self, event: dict[str, Any], reply_to: ReplyTo | None) -> None:
        self.events.append(event)
        if reply_to is not None:
            self.replies.append((reply_to.topic, event))

    def state(self, state: dict[str, Any]) -> None:
        self.states.append(state)

    def of(self, request_id: str) -> list[str]:
        return [
            e["event"] if e["event"] != "finished" else f"finished:{e['result']}"
            for e in self.events
            if e["id"] == request_id
        ]

    def finished(self) -> list[dict[str, Any]]:
        return [e for e in self.events if e["event"] == "finished"]


class Harness:
    def __init__(self, service: VoiceService, recorder: Recorder, output: MemoryOutput) -> None:
        self.service = service
        self.recorder = recorder
        self.output = output

    def say(self, payload: dict[str, Any] | str, reply_to: ReplyTo | None = None) -> None:
        raw = payload if isinstance(payload, str) else json.dumps(payload)
        self.service.handle(Incoming("say", raw.encode(), reply_to=reply_to))

    def command(self, kind: str, payload: dict[str, Any] | None = None) -> None:
        self.service.handle(Incoming(kind, json.dumps(payload).encode() if payload else b""))

    async def until(self, predicate: Any, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; events: {self.recorder.events}")
            await asyncio.sleep(0.01)

    async def finished(self, count: int) -> None:
        await self.until(lambda: len(self.recorder.finished()) >= count)


@pytest.fixture
async def harness(request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    pace = getattr(request, "param", 0.0)
    settings = settings_from_dict(
        {
            "engine": {"name": "tone"},
            "queue": {"max_length": 3},
            "mqtt": {"max_payload_bytes": 2048},
        }
    )
    engine = ToneEngine(seconds_per_char=0.05)
    output = MemoryOutput(pace=pace)
    player = Player(
        output,
        source_rate=engine.sample_rate,
        block_ms=20,
        trailing_silence_ms=100,
        volume=1.0,
        muted=False,
    )
    recorder = Recorder()
    service = VoiceService(settings, engine, player, recorder)
    await service.load_engine()
    runner = asyncio.create_task(service.run())
    yield Harness(service, recorder, output)
    await service.shutdown()
    runner.cancel()
    player.close()


pytestmark = pytest.mark.asyncio


async def test_one_request_lifecycle(harness: Harness) -> None:
    harness.say({"text": "你好。今天天气很好。", "id": "r1"})
    await harness.finished(1)
    assert harness.recorder.of("r1") == ["queued", "started", "finished:completed"]
    finished = harness.recorder.finished()[0]
    assert finished["audio_ms"] > 0 and finished["synth_ms"] >= 0 and finished["rtf"] is not None
    played = np.concatenate(harness.output.blocks)
    assert played.size > 0.05 * 16000 * 8


@pytest.mark.parametrize("harness", [1.0], indirect=True)
async def test_priority_order(harness: Harness) -> None:
    harness.command("set", {"muted": True})
    harness.say({"text": "第一条", "id": "first"})  # starts at once
    await harness.until(lambda: harness.service.state()["current"] == "first")
    harness.say({"text": "低", "id": "low", "priority": "low"})
    harness.say({"text": "高", "id": "high", "priority": "high"})
    await harness.finished(3)
    order = [e["id"] for e in harness.recorder.finished()]
    assert order == ["first", "high", "low"]
    assert all(np.all(block == 0) for block in harness.output.blocks)  # muted


@pytest.mark.parametrize("harness", [1.0], indirect=True)
async def test_stop_preempt_and_queue_full(harness: Harness) -> None:
    harness.say({"text": "这是一条很长的通知，需要一些时间才能读完。" * 3, "id": "long"})
    await harness.until(lambda: "started" in harness.recorder.of("long"))
    harness.say({"text": "警报", "id": "alarm", "priority": "critical"})
    await harness.until(lambda: "finished:cancelled" in harness.recorder.of("long"))
    await harness.until(lambda: harness.service.state()["current"] == "alarm")
    cancelled = next(e for e in harness.recorder.finished() if e["id"] == "long")
    assert cancelled["error"]["code"] == "preempted"
    for name in ("q1", "q2", "q3", "q4"):
        harness.say({"text": "排队", "id": name})
    rejected = [e for e in harness.recorder.events if e["event"] == "rejected"]
    assert [e["code"] for e in rejected] == ["queue_full"]
    harness.command("stop", {"all": True})
    await harness.finished(5)
    results = {
        e["id"]: (e["result"], e.get("error", {}).get("code")) for e in harness.recorder.finished()
    }
    assert results["q1"] == ("cancelled", "stopped")
    assert len(harness.recorder.finished()) == len({e["id"] for e in harness.recorder.finished()})


@pytest.mark.parametrize("deferred", [False, True], ids=["in-state-update", "before-first-step"])
async def test_stop_as_a_request_becomes_current_still_finishes_it(
    harness: Harness, deferred: bool
) -> None:
    """A stop that lands while a request is becoming current (inside the state update, or
    after its task is made but before that task's first step, where cancelling skips the
    coroutine's ``finally``) still ends it with exactly one terminal event."""
    loop = asyncio.get_running_loop()
    stops: list[dict[str, Any]] = []

    def stop_all() -> None:
        harness.command("stop", {"all": True})

    def on_state(state: dict[str, Any]) -> None:
        if state["current"] != "edge" or stops:
            return
        stops.append(state)  # once: the stop's own state update comes back here
        if deferred:
            loop.call_soon(stop_all)
        else:
            stop_all()

    harness.service.add_state_listener(on_state)
    harness.say({"text": "边界情况", "id": "edge"})
    await harness.until(lambda: "finished:cancelled" in harness.recorder.of("edge"))
    harness.say({"text": "下一条", "id": "next"})
    await harness.until(lambda: "finished:completed" in harness.recorder.of("next"))
    assert len(stops) == 1
    assert harness.recorder.of("edge") == ["queued", "finished:cancelled"]
    edge = next(e for e in harness.recorder.finished() if e["id"] == "edge")
    assert edge["error"]["code"] == "stopped"
    assert harness.service.state()["current"] is None


async def test_duplicates_ttl_and_bad_input(harness: Harness) -> None:
    harness.command("set", {"muted": True})
    harness.say({"text": "一", "id": "same"})
    await harness.finished(1)
    harness.say({"text": "一", "id": "same"})
    harness.say({"text": "x", "emotion": "furious", "id": "bad-emotion"})
    harness.say({"text": "x", "voice": "nobody", "id": "bad-voice"})
    harness.say({"text": "x" * 3000, "id": "big"})
    harness.say({"text": "😀😀", "id": "emoji"})
    codes = {e["id"]: e["code"] for e in harness.recorder.events if e["event"] == "rejected"}
    assert codes["same"] == "duplicate"
    assert codes["bad-emotion"] == "unknown_emotion"
    assert codes[None] == "payload_too_large"  # not parsed, so no id to echo
    assert codes["emoji"] == "unspeakable_text"
    assert "valid: beep" in next(
        e["message"] for e in harness.recorder.events if e.get("code") == "unknown_voice"
    )
    harness.say("{oops")
    assert harness.recorder.events[-1]["code"] == "invalid_json"
    # A request that waited longer than its ttl expires instead of playing.
    harness.service.ready.clear()
    harness.say({"text": "过期", "id": "old", "ttl": 0.01})
    await asyncio.sleep(0.05)
    harness.service.ready.set()
    harness.service.handle(Incoming("stop", b""))  # wakes the speaker loop
    harness.say({"text": "新的", "id": "new"})
    await harness.until(lambda: any(e["id"] == "new" for e in harness.recorder.finished()))
    assert harness.recorder.of("old") == ["queued", "finished:expired"]


async def test_audio_device_failure_and_recovery(harness: Harness) -> None:
    harness.output.fail.set()
    harness.say({"text": "没有声卡", "id": "nodev"})
    await harness.finished(1)
    failed = harness.recorder.finished()[0]
    assert (failed["result"], failed["error"]["code"]) == ("failed", "audio_device")
    assert harness.service.state()["last_error"].startswith("audio_device")
    harness.output.fail.clear()
    harness.say({"text": "又有声卡了", "id": "back"})
    await harness.finished(2)
    assert harness.recorder.finished()[1]["result"] == "completed"
    assert harness.service.state()["last_error"] is None


async def test_response_topic_gets_terminal_event(harness: Harness) -> None:
    harness.say({"text": "你好", "id": "rr"}, reply_to=ReplyTo("reply/here", b"corr"))
    await harness.finished(1)
    assert [(topic, e["event"]) for topic, e in harness.recorder.replies] == [
        ("reply/here", "finished")
    ]


@pytest.mark.parametrize("harness", [1.0], indirect=True)
async def test_shutdown_cancels_everything(harness: Harness) -> None:
    harness.say({"text": "很长的一段话，" * 10, "id": "playing"})
    harness.say({"text": "等待", "id": "waiting"})
    await harness.until(lambda: "started" in harness.recorder.of("playing"))
    began = time.monotonic()
    await harness.service.shutdown()
    assert time.monotonic() - began < 1.0
    codes = {e["id"]: (e["result"], e["error"]["code"]) for e in harness.recorder.finished()}
    assert codes == {"playing": ("cancelled", "shutdown"), "waiting": ("cancelled", "shutdown")}
    harness.say({"text": "太晚了", "id": "late"})
    assert harness.recorder.events[-1]["code"] == "shutting_down"
