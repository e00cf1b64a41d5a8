"""Fast first sound, end to end: the phrase cache (hits play the same audio without
synthesis, ``cache: false`` bypasses it, a corrupt entry is synthesized again, configured
phrases are prewarmed), streaming against whole-text synthesis, and availability while the
engine still loads."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

from daemon.bench.daemon import LONG, Listener
from tests.e2e.latency_engine import LOAD_S
from tests.rig import (
    NODE,
    AlsaCapture,
    Broker,
    Daemon,
    PulseRig,
    Watcher,
    find_signal,
    running_daemon,
    wait_until,
)

pytestmark = [pytest.mark.e2e]

PHRASE = "门口有人按门铃。"
OTHER = "洗衣机已经洗完了。"


def config(model_cache: Path, device: str, **sections: dict[str, object]) -> dict[str, object]:
    return {
        "engine": {"name": "fastspeech2", "cache_dir": str(model_cache)},
        "audio": {"device": device},
        **sections,
    }


def say(watcher: Watcher, request_id: str, text: str, **fields: object) -> dict[str, object]:
    watcher.say({"text": text, "id": request_id, **fields})
    finished = watcher.wait_terminal(request_id, 120)
    assert finished["event"] == "finished" and finished["result"] == "completed", finished
    return finished


def entries(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.pcm"))


def test_cache_hits_play_the_same_audio_bypass_and_corruption(
    tmp_path: Path, broker: Broker, alsa: AlsaCapture, model_cache: Path, reference
) -> None:
    phrases = tmp_path / "phrases"
    with running_daemon(
        tmp_path, broker, config=config(model_cache, alsa.device), env=alsa.env()
    ) as (daemon, watcher):
        first = say(watcher, "miss", PHRASE)
        assert first["synth_ms"] > 0
        wait_until(lambda: len(entries(phrases)) == 1, 10, "the phrase to be stored")
        hit = say(watcher, "hit", PHRASE)
        assert hit["synth_ms"] == 0  # played from the cache: nothing synthesized

        # cache: false synthesizes afresh and stores nothing.
        bypass = say(watcher, "bypass", PHRASE, cache=False)
        assert bypass["synth_ms"] > 0
        say(watcher, "bypass-other", OTHER, cache=False)
        time.sleep(0.5)
        assert len(entries(phrases)) == 1

        # A corrupt entry is detected, never played, synthesized and stored again.
        (entry,) = entries(phrases)
        data = bytearray(entry.read_bytes())
        data[len(data) // 2 : len(data) // 2 + 64] = os.urandom(64)
        entry.write_bytes(bytes(data))
        repaired = say(watcher, "after-corruption", PHRASE)
        assert repaired["synth_ms"] > 0
        assert "corrupt or truncated" in daemon.log()
        wait_until(lambda: len(entries(phrases)) == 1, 10, "the phrase to be stored again")
        again = say(watcher, "hit-again", PHRASE)
        assert again["synth_ms"] == 0

        # A truncated one too (as a power cut mid-write would leave it).
        (entry,) = entries(phrases)
        entry.write_bytes(entry.read_bytes()[: entry.stat().st_size // 3])
        assert say(watcher, "after-truncation", PHRASE)["synth_ms"] > 0

    captured = alsa.samples()
    expected = reference(PHRASE)
    offsets = []
    position = 0
    for _ in range(6):  # miss, hit, bypass, repaired, hit again, truncated: all the same
        offset = find_signal(captured[position:], expected) + position
        offsets.append(offset)
        position = offset + expected.size
    assert offsets == sorted(offsets)
    find_signal(captured, reference(OTHER))


def test_configured_phrases_are_prewarmed_at_start(
    tmp_path: Path, broker: Broker, alsa: AlsaCapture, model_cache: Path, reference
) -> None:
    prewarm = {"prewarm": [PHRASE, {"text": OTHER, "emotion": "happy"}, "晚安。"]}
    with running_daemon(
        tmp_path, broker, config=config(model_cache, alsa.device, cache=prewarm), env=alsa.env()
    ) as (daemon, watcher):
        wait_until(lambda: "phrase cache prewarmed: 3" in daemon.log(), 60, "the prewarm")
        assert len(entries(tmp_path / "phrases")) == 3
        assert say(watcher, "door", PHRASE)["synth_ms"] == 0
        assert say(watcher, "washer", OTHER, emotion="happy")["synth_ms"] == 0
        assert say(watcher, "washer-neutral", OTHER)["synth_ms"] > 0  # another emotion
    captured = alsa.samples()
    # Prewarmed sentences were synthesized whole (no streaming of a first piece).
    door = find_signal(captured, reference(PHRASE, streaming=False))
    washer = find_signal(captured, reference(OTHER, emotion="happy", streaming=False))
    assert door < washer


def test_whole_text_mode_plays_the_same_sentences(
    tmp_path: Path, broker: Broker, alsa: AlsaCapture, model_cache: Path, reference
) -> None:
    text = "欢迎回家！今天过得怎么样？晚饭已经准备好了。"
    settings = config(
        model_cache, alsa.device, synthesis={"streaming": False}, cache={"enabled": False}
    )
    with running_daemon(tmp_path, broker, config=settings, env=alsa.env()) as (_, watcher):
        say(watcher, "whole", text)
    find_signal(alsa.samples(), reference(text, streaming=False))


def first_sound_ms(listener: Listener, watcher: Watcher, request_id: str, text: str) -> float:
    listener.wait_quiet()
    began = time.monotonic()
    watcher.say({"text": text, "id": request_id, "cache": False})
    heard = listener.first_sound(listener.end, 120)
    watcher.publish(f"voice/{NODE}/stop", {"id": request_id})
    watcher.wait_terminal(request_id, 60)
    return (heard - began) * 1000


def test_streaming_starts_a_long_announcement_many_times_sooner(
    tmp_path: Path, broker: Broker, pulse: PulseRig, model_cache: Path
) -> None:
    listener = Listener(pulse)
    measured: dict[bool, float] = {}
    for streaming in (True, False):
        directory = tmp_path / f"streaming-{streaming}"
        directory.mkdir()
        settings = config(model_cache, "pulse", synthesis={"streaming": streaming})
        with running_daemon(directory, broker, config=settings, env=pulse.env()) as (_, watcher):
            first_sound_ms(listener, watcher, f"warm-{streaming}", "你好。")
            measured[streaming] = min(
                first_sound_ms(listener, watcher, f"long-{streaming}-{n}", LONG) for n in range(2)
            )
    print(f"first sound of {len(LONG)} characters: {measured}")
    assert measured[True] * 5 <= measured[False], measured


def test_online_at_once_while_the_engine_loads_and_requests_wait(
    tmp_path: Path, broker: Broker, alsa: AlsaCapture
) -> None:
    watcher = Watcher(broker.port).start()
    engine = {"name": "plugin", "plugin": "tests.e2e.latency_engine:SlowLoadingEngine"}
    daemon = Daemon(
        tmp_path, broker.port, config={"engine": engine, "audio": {"device": alsa.device}},
        env=alsa.env(),
    )  # fmt: skip
    try:
        spawned = time.monotonic()
        daemon.start()
        wait_until(lambda: watcher.availability() == "online", 20, "online")
        online_s = watcher.on(f"voice/{NODE}/availability")[-1].received - spawned
        early = watcher.wait_state(lambda s: s["ready"] is False, 10, "a state before ready")
        assert early["engine"] == "slow-loading"
        watcher.say({"text": "早到的请求。", "id": "early"})
        queued = watcher.wait_event("early", "queued", 10)
        assert not watcher.last_state() or not watcher.last_state()["ready"]  # still loading
        finished = watcher.wait_terminal("early", 60)
        ready_at = next(m.received for m in watcher.on(f"voice/{NODE}/state") if m.json()["ready"])
        started = [m for m in watcher.on(f"voice/{NODE}/event") if m.json()["event"] == "started"]
        assert finished["result"] == "completed", finished
        assert queued["position"] == 1
        assert started and started[0].received >= ready_at  # it waited for the engine
        assert ready_at - spawned >= LOAD_S
        # Online while the engine still loads; the 1 s target itself is measured by
        # `voice-daemon bench` (online_s), not asserted on a noisy machine.
        print(f"online {online_s:.2f} s after start, ready {ready_at - spawned:.2f} s")
        assert spawned + online_s < ready_at
    finally:
        daemon.stop()
        watcher.stop()
    assert np.any(alsa.samples())  # the early request was played
