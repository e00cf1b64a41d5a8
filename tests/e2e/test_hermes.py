"""Rhasspy/Hermes through the real daemon and broker, driven with the message classes of
the rhasspy-hermes client library and checked by parsing its answers back with them."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile
from rhasspyhermes.audioserver import AudioPlayBytes, AudioPlayFinished
from rhasspyhermes.tts import TtsError, TtsSay, TtsSayFinished

from tests.rig import AlsaCapture, Broker, Message, Watcher, find_signal, running_daemon

pytestmark = [pytest.mark.e2e]

SITE = "kitchen"


def config(alsa: AlsaCapture) -> dict[str, Any]:
    return {
        "engine": {"name": "tone"},
        "audio": {"device": alsa.device},
        "hermes": {"enabled": True, "site_ids": [SITE, "hall"]},
    }


def hermes_watcher(broker: Broker) -> Watcher:
    return Watcher(broker.port, subscribe_to=("voice/#", "hermes/#")).start()


def answers(watcher: Watcher, topic: str) -> list[Message]:
    return watcher.on(topic)


def wait_answer(watcher: Watcher, topic: str, hermes_id: str, timeout: float = 30) -> Message:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in watcher.on(topic):
            if json.loads(message.payload).get("id") == hermes_id:
                return message
        time.sleep(0.02)
    raise AssertionError(f"no answer on {topic} for {hermes_id}")


def send(watcher: Watcher, say: TtsSay, **extension: Any) -> None:
    payload = say.payload()
    if extension:  # our extension fields travel next to the Hermes ones
        payload = json.dumps({**json.loads(payload), **extension}, ensure_ascii=False)
    watcher.publish(say.topic(), payload)


def test_tts_say_is_spoken_and_always_answered(
    tmp_path: Path, broker: Broker, alsa: AlsaCapture
) -> None:
    watcher = hermes_watcher(broker)
    with running_daemon(tmp_path, broker, config=config(alsa), env=alsa.env(), watcher=watcher):
        send(watcher, TtsSay(text="你好", site_id=SITE, id="s1", session_id="sess-1", volume=0.5))
        finished = TtsSayFinished.from_json(
            wait_answer(watcher, TtsSayFinished.topic(), "s1").payload
        )
        assert (finished.id, finished.site_id, finished.session_id) == ("s1", SITE, "sess-1")
        event = watcher.wait_terminal("s1")  # the same queue as MQTT requests
        assert event["result"] == "completed"

        # Our emotion extension; a site we don't serve is ignored altogether.
        send(watcher, TtsSay(text="开心", site_id="hall", id="s2"), emotion="happy")
        send(watcher, TtsSay(text="不是这里", site_id="bedroom", id="s3"))
        wait_answer(watcher, TtsSayFinished.topic(), "s2")
        assert watcher.wait_terminal("s2")["result"] == "completed"

        # Failures: hermes/error/tts first, then sayFinished all the same.
        send(watcher, TtsSay(text="生气", site_id=SITE, id="s4"), emotion="furious")
        send(watcher, TtsSay(text="", site_id=SITE, id="s5", session_id="sess-5"))
        for hermes_id in ("s4", "s5"):
            wait_answer(watcher, TtsSayFinished.topic(), hermes_id)
        order = [
            (
                m.topic,
                json.loads(m.payload).get("id" if m.topic == TtsSayFinished.topic() else "context"),
            )
            for m in watcher.messages
            if m.topic in (TtsError.topic(), TtsSayFinished.topic())
        ]
        errors = [TtsError.from_json(m.payload) for m in watcher.on(TtsError.topic())]
        assert [e.context for e in errors] == ["s4", "s5"]
        assert "unknown_emotion" in errors[0].error and "furious" in errors[0].error
        assert "text" in errors[1].error and errors[1].session_id == "sess-5"
        assert all(e.site_id == SITE for e in errors)
        for hermes_id in ("s4", "s5"):
            error_at = order.index((TtsError.topic(), hermes_id))
            assert error_at < order.index((TtsSayFinished.topic(), hermes_id))
        time.sleep(0.3)
        assert not [m for m in answers(watcher, TtsSayFinished.topic()) if b'"s3"' in m.payload]
        assert watcher.events("s3") == []

    # The audio: the tone engine's beeps, at half volume for s1, at the happy pitch for s2.
    # (Compared by pitch and level: a block lost to an underrun on a loaded machine must not
    # matter here; the bit-exact checks are in test_chimes and the audio-server test.)
    heard = tones(alsa.samples())
    assert len(heard) == 2, heard
    assert heard[0] == (pytest.approx(440, abs=15), pytest.approx(0.15, abs=0.01))
    assert heard[1] == (pytest.approx(660, abs=15), pytest.approx(0.3, abs=0.01))


def tones(samples: np.ndarray, rate: int = 16000) -> list[tuple[float, float]]:
    """(dominant frequency, peak) of each stretch of sound, in order."""
    loud = np.flatnonzero(np.abs(samples) > 1e-3)
    if loud.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(loud) > rate // 20)  # 50 ms of silence between requests
    found = []
    for part in np.split(loud, breaks + 1):
        piece = samples[part[0] : part[-1] + 1]
        spectrum = np.abs(np.fft.rfft(piece * np.hanning(piece.size)))
        found.append((float(np.argmax(spectrum)) * rate / piece.size, float(np.max(np.abs(piece)))))
    return found


def wav_bytes(samples: np.ndarray, rate: int) -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def test_audio_server_plays_wav_through_the_queue(
    tmp_path: Path, broker: Broker, alsa: AlsaCapture
) -> None:
    rate = 16000  # the tone engine's rate: the clip is played bit-exact
    time_s = np.arange(int(0.4 * rate)) / rate
    clip = (0.4 * np.sin(2 * np.pi * 523.25 * time_s) * np.minimum(1, time_s * 20)).astype(
        np.float32
    )
    payload = wav_bytes(clip, rate)
    expected, _ = soundfile.read(io.BytesIO(payload), dtype="float32")
    watcher = hermes_watcher(broker)
    with running_daemon(tmp_path, broker, config=config(alsa), env=alsa.env(), watcher=watcher):
        play = AudioPlayBytes(wav_bytes=payload)
        watcher.publish(play.topic(site_id=SITE, request_id="p1"), play.payload())
        done = wait_answer(watcher, AudioPlayFinished.topic(site_id=SITE), "p1")
        assert AudioPlayFinished.from_json(done.payload).id == "p1"
        assert AudioPlayFinished.get_site_id(done.topic) == SITE
        assert watcher.wait_terminal("p1")["result"] == "completed"

        # Not a WAV: answered all the same, nothing queued. Another site: ignored.
        watcher.publish(AudioPlayBytes.topic(site_id=SITE, request_id="p2"), b"RIFF junk")
        wait_answer(watcher, AudioPlayFinished.topic(site_id=SITE), "p2")
        watcher.publish(AudioPlayBytes.topic(site_id="bedroom", request_id="p3"), payload)
        time.sleep(0.3)
        assert watcher.events("p2") == watcher.events("p3") == []
        assert watcher.on(AudioPlayFinished.topic(site_id="bedroom")) == []
    find_signal(alsa.samples(), np.asarray(expected, dtype=np.float32))


def test_a_failure_while_speaking_is_reported_then_finished(
    tmp_path: Path, broker: Broker, alsa: AlsaCapture
) -> None:
    broken = {**config(alsa), "audio": {"device": "no such device"}}
    watcher = hermes_watcher(broker)
    with running_daemon(tmp_path, broker, config=broken, env=alsa.env(), watcher=watcher):
        send(watcher, TtsSay(text="你好", site_id=SITE, id="f1", session_id="sess"))
        finished = wait_answer(watcher, TtsSayFinished.topic(), "f1")
        error = TtsError.from_json(watcher.on(TtsError.topic())[0].payload)
        assert "audio_device" in error.error and error.session_id == "sess"
        assert watcher.messages.index(watcher.on(TtsError.topic())[0]) < watcher.messages.index(
            finished
        )
        assert watcher.wait_terminal("f1")["result"] == "failed"
        play = AudioPlayBytes(wav_bytes=wav_bytes(np.zeros(1600, np.float32), 16000))
        watcher.publish(play.topic(site_id=SITE, request_id="f2"), play.payload())
        wait_answer(watcher, AudioPlayFinished.topic(site_id=SITE), "f2")
        assert watcher.wait_terminal("f2")["result"] == "failed"
