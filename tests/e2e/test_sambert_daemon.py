"""`engine: sambert` with a local model directory (a tiny random model in the official
layout) through the whole daemon: MQTT in, audio out of the capture device."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from daemon.engines.sambert import SambertEngine
from daemon.engines.sambert.testmodel import build_model_dir
from daemon.speaker import trim_leading_silence
from daemon.text import normalize, split_sentences
from tests.rig import AlsaCapture, Broker, running_daemon

pytestmark = [pytest.mark.e2e]

VOICES = ["zhitian_emo", "zhiyan_emo"]


def locate(haystack: np.ndarray, needle: np.ndarray, atol: float = 1e-3) -> int:
    """Where ``needle`` occurs in ``haystack`` within ``atol`` (cross-correlation, then an
    exact-tolerance check), or an AssertionError."""
    from scipy.signal import fftconvolve

    scores = fftconvolve(haystack, needle[::-1], mode="valid")
    offset = int(np.argmax(scores))
    window = haystack[offset : offset + needle.size]
    assert window.size == needle.size, "capture too short"
    error = float(np.max(np.abs(window - needle)))
    assert error < atol, f"best match at {offset} differs by {error}"
    return offset


def test_sambert_engine_through_the_daemon(
    tmp_path: Path, broker: Broker, alsa: AlsaCapture
) -> None:
    model = build_model_dir(tmp_path / "model", size="tiny", voices=VOICES, seed=7)
    config = {
        "engine": {"name": "sambert", "model": str(model), "cache_dir": str(tmp_path / "c")},
        "audio": {"device": alsa.device},
        "cache": {"enabled": False},
    }
    with running_daemon(tmp_path, broker, config=config, env=alsa.env()) as (_, watcher):
        state = watcher.last_state()
        assert state is not None and state["engine"] == "sambert" and state["voice"] == VOICES[0]
        watcher.say({"text": "门口有人按门铃。", "id": "s1"})
        watcher.say({"text": "欢迎回家。", "id": "s2", "voice": "zhiyan_emo", "emotion": "happy"})
        watcher.say('<speak><emotion category="sad">快递没有送到。</emotion></speak>')
        watcher.say({"text": "你好。", "id": "bad", "emotion": "sleepy"})
        for request_id in ("s1", "s2"):
            assert watcher.wait_terminal(request_id, 60)["result"] == "completed"
        rejected = watcher.wait_terminal("bad", 30)
        assert rejected["code"] == "unknown_emotion" and "happy" in rejected["message"]
        ssml = [e for e in watcher.events() if e["id"] not in ("s1", "s2", "bad")]
        assert watcher.wait_terminal(ssml[0]["id"], 60)["result"] == "completed"

    engine = SambertEngine(str(model), threads=2)
    engine.load()
    captured = alsa.samples()

    def render(text: str, voice: str, emotion: str) -> np.ndarray:
        (sentence,) = split_sentences(normalize(text).text, max_chars=60, first_max_chars=24)
        audio = engine.synthesize(sentence, voice=voice, emotion=emotion, speed=1.0)
        return trim_leading_silence(audio, engine.sample_rate)

    first = locate(captured, render("门口有人按门铃。", VOICES[0], "neutral"))
    second = locate(captured, render("欢迎回家。", "zhiyan_emo", "happy"))
    third = locate(captured, render("快递没有送到。", VOICES[0], "sad"))
    assert first < second < third
