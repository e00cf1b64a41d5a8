"""Chimes through the real daemon: played gap-free right before the speech, in the same
stream (bit-exact on the ALSA file sink), per priority, per request, or not at all."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile

from daemon.audio.chimes import generate_default, read_chime
from daemon.engines.tone import ToneEngine
from tests.rig import AlsaCapture, Broker, find_signal, running_daemon

pytestmark = [pytest.mark.e2e]

RATE = 16000  # the tone engine's rate, which the ALSA file sink takes as it is


def beeps(text: str) -> np.ndarray:
    return ToneEngine().synthesize(text, voice="beep", emotion="neutral", speed=1.0)


def test_chimes_by_priority_by_name_and_switched_off(
    tmp_path: Path, broker: Broker, alsa: AlsaCapture
) -> None:
    door = tmp_path / "door.wav"
    time_s = np.arange(int(0.3 * 8000)) / 8000
    soundfile.write(door, 0.3 * np.sin(2 * np.pi * 700 * time_s), 8000)  # another rate
    config = {
        "engine": {"name": "tone"},
        "audio": {"device": alsa.device},
        "chimes": {"critical": "default", "files": {"door": str(door)}},
    }
    with running_daemon(tmp_path, broker, config=config, env=alsa.env()) as (_, watcher):
        watcher.say({"text": "一二", "id": "critical", "priority": "critical"})
        assert watcher.wait_terminal("critical")["result"] == "completed"
        watcher.say({"text": "一二三", "id": "named", "chime": "door", "volume": 0.5})
        assert watcher.wait_terminal("named")["result"] == "completed"
        watcher.say({"text": "一二三四", "id": "off", "priority": "critical", "chime": False})
        assert watcher.wait_terminal("off")["result"] == "completed"
        watcher.say({"text": "一二三四五", "id": "plain"})
        assert watcher.wait_terminal("plain")["result"] == "completed"
        watcher.say({"text": "你好", "id": "unknown", "chime": "/etc/passwd"})
        rejected = watcher.wait_terminal("unknown")
        assert rejected["code"] == "unknown_chime"
        assert "default, door" in rejected["message"]
        # The chime starts the announcement: the started event comes with it.
        assert watcher.wait_event("critical", "started")["latency_ms"] > 0

    samples = alsa.samples()
    # Chime and first sentence back to back in the stream: no gap, no reopening.
    find_signal(samples, np.concatenate([generate_default(RATE), beeps("一二")]))
    named = np.concatenate([read_chime(door, RATE), beeps("一二三")]) * np.float32(0.5)
    find_signal(samples, named)
    for text in ("一二三四", "一二三四五"):  # chime false / no chime for normal priority
        start = find_signal(samples, beeps(text))
        before = samples[max(0, start - RATE // 10) : start]
        assert np.all(np.abs(before) < 1e-6), "something played right before the speech"
