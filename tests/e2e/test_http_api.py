"""The HTTP API through the real daemon process: the same queue, the same events and codes
as MQTT, audio checked sample by sample on the ALSA capture sink."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import soundfile

from daemon.engines.fastspeech2.engine import SAMPLE_RATE
from daemon.text import describe
from tests.e2e.http_rig import HttpClient, http_daemon
from tests.rig import AlsaCapture, Broker, Daemon, Watcher, find_signal, wait_until

pytestmark = [pytest.mark.e2e]


@dataclass
class Rig:
    daemon: Daemon
    watcher: Watcher
    client: HttpClient
    alsa: AlsaCapture


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Iterator[Rig]:
    """One daemon (embedded voice, ALSA capture) for this module's tests."""
    root = tmp_path_factory.mktemp("http-api")
    (root / "broker").mkdir()
    (root / "alsa").mkdir()
    broker = Broker(root / "broker")
    broker.start()
    alsa = AlsaCapture(root / "alsa")
    config = {
        "engine": {"name": "fastspeech2", "cache_dir": str(model_cache)},
        "audio": {"device": alsa.device},
    }
    try:
        with http_daemon(root, broker, config=config, env=alsa.env()) as (daemon, watcher, client):
            yield Rig(daemon, watcher, client, alsa)
    finally:
        broker.stop()


def test_say_in_json_form_and_plain_text_plays_through_the_same_queue(rig: Rig, reference) -> None:
    client, watcher = rig.client, rig.watcher
    answer = client.post(
        "/api/say", json_body={"text": "欢迎回家！", "emotion": "happy", "id": "h-1"}
    )
    assert answer.status == 202, answer.body
    accepted = answer.json()
    assert accepted["id"] == "h-1"
    assert [e["event"] for e in accepted["events"]] == ["queued"]
    assert accepted["events"][0]["position"] >= 1

    # Form fields, as curl -d or an HTML form sends them; ?wait returns every event.
    form = {"text": "车库门已关闭。", "speed": "1.5", "volume": "0.5", "interrupt": "false"}
    answer = client.post("/api/say?wait=60", form=form)
    assert answer.status == 202, answer.body
    waited = answer.json()
    assert waited["done"] is True
    assert [e["event"] for e in waited["events"]] == ["queued", "started", "finished"]
    assert waited["events"][-1]["result"] == "completed"

    plain = client.post("/api/say?wait=60", body="门口有人按门铃。", content_type="text/plain")
    assert plain.json()["events"][-1]["result"] == "completed"

    # The first request's events, via GET, are the ones MQTT carried (the same queue).
    events = client.get("/api/requests/h-1?wait=60").json()
    assert events["done"] is True
    assert [e["event"] for e in events["events"]] == ["queued", "started", "finished"]
    assert events["events"][-1]["result"] == "completed"
    watcher.wait_terminal("h-1")
    assert events["events"] == watcher.events("h-1")
    assert watcher.events(waited["id"]) == waited["events"]

    captured = rig.alsa.samples()
    first = find_signal(captured, reference("欢迎回家！", emotion="happy"))
    second = find_signal(captured, reference("车库门已关闭。", speed=1.5) * np.float32(0.5))
    third = find_signal(captured, reference("门口有人按门铃。"))
    assert first < second < third


def test_requests_said_over_mqtt_can_be_followed_over_http(rig: Rig) -> None:
    rig.watcher.say({"text": "洗衣机已经洗完了。", "id": "from-mqtt"})
    rig.watcher.wait_event("from-mqtt", "queued")
    answer = rig.client.get("/api/requests/from-mqtt?wait=60")
    assert answer.status == 200
    assert answer.json()["events"][-1]["result"] == "completed"


def test_live_stream_carries_the_state_and_every_event(rig: Rig) -> None:
    with rig.client.stream() as live:
        assert rig.client.get("/api/state").status == 200
        first_state = live.wait(lambda s: True, kind="state")
        assert first_state["ready"] is True and first_state["engine"] == "fastspeech2"
        rig.watcher.say({"text": "晚饭准备好了。", "id": "live-1"})  # MQTT requests show too
        live.wait(lambda e: e["id"] == "live-1" and e["event"] == "finished")
        names = [e["event"] for e in live.of("event") if e["id"] == "live-1"]
        assert names == ["queued", "started", "finished"]
        assert {s["state"] for s in live.of("state")} >= {"synthesizing", "speaking", "idle"}
        assert live.response.getheader("Content-Type", "").startswith("text/event-stream")


def test_synth_returns_the_audio_the_device_would_play_and_plays_nothing(
    rig: Rig, reference
) -> None:
    wait_until(lambda: rig.client.get("/api/state").json()["state"] == "idle", 60, "idle")
    before = rig.alsa.samples().size
    events_before = len(rig.watcher.events())
    body = {"text": "今天气温二十五度。", "emotion": "sad", "speed": 1.2, "volume": 0.5, "id": "dl"}
    answer = rig.client.post("/api/synth", json_body=body)
    assert answer.status == 200, answer.body
    assert answer.headers["Content-Type"] == "audio/wav"
    assert 'filename="dl.wav"' in answer.headers["Content-Disposition"]
    samples, rate = soundfile.read(io.BytesIO(answer.body), dtype="float32")
    assert rate == SAMPLE_RATE and samples.ndim == 1
    # A download is rendered sentence by sentence, whole (no streaming of the first one).
    expected = reference(
        "今天气温二十五度。", emotion="sad", speed=1.2, streaming=False, download=True
    )
    expected = expected * np.float32(0.5)
    assert samples.size == expected.size
    assert np.max(np.abs(samples - expected)) < 1e-4  # 16-bit quantization only
    assert rig.alsa.samples().size == before  # nothing played
    assert len(rig.watcher.events()) == events_before  # nothing queued


def test_text_shows_how_the_frontend_reads_it(rig: Rig) -> None:
    text = "明天3点15分开会，温度25℃。"
    answer = rig.client.post("/api/text", json_body={"text": text})
    assert answer.status == 200
    reading = answer.json()
    assert {k: reading[k] for k in ("normalized", "sentences", "pinyin")} == describe(text)
    assert reading["dropped"] == []
    assert rig.client.post("/api/text", body="😀你好", content_type="text/plain").json()[
        "dropped"
    ] == ["😀"]


def test_state_voices_health_page_and_openapi(rig: Rig) -> None:
    client = rig.client
    health = client.get("/healthz").json()
    assert health == {"status": "ok", "ready": True}
    state = client.get("/api/state").json()
    assert state == {**state, "ready": True, "engine": "fastspeech2"}
    assert state == {**rig.watcher.last_state(), "uptime_s": state["uptime_s"]}
    voices = client.get("/api/voices").json()
    assert voices["engine"] == "fastspeech2" and voices["emotion"] == "neutral"
    (voice,) = voices["voices"]
    assert voice["name"] == voices["voice"]
    assert {"neutral", "happy", "sad"} <= set(voice["emotions"])
    page = client.get("/")
    assert page.status == 200 and b'id="say-form"' in page.body
    assert client.get("/static/app.js").status == 200
    spec = client.get("/api/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    say = spec["components"]["schemas"]["Say"]["properties"]
    assert say["emotion"]["enum"] == [*voice["emotions"], None]
    assert spec["components"]["schemas"]["Say"]["properties"]["text"]["maxLength"] == 2000
