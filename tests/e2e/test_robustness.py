"""Bad input, broker restarts, signals, last will, retained messages, protocol versions."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from tests.rig import (
    NODE,
    AlsaCapture,
    Broker,
    Daemon,
    PulseRig,
    Watcher,
    running_daemon,
    wait_ready,
    wait_until,
)

pytestmark = [pytest.mark.e2e]


def config(alsa: AlsaCapture, model_cache: Path, **mqtt_settings: object) -> dict[str, object]:
    return {
        "engine": {"name": "fastspeech2", "cache_dir": str(model_cache)},
        "audio": {"device": alsa.device},
        "mqtt": {"max_payload_bytes": 16384, **mqtt_settings},
    }


BAD_INPUT = [
    (b"\xff\xfe\xfd", "invalid_utf8"),
    (b'{"text": "hi"', "invalid_json"),
    (b"[1, 2, 3]", "not_an_object"),
    (b'{"id": "no-text"}', "missing_text"),
    (b'{"text": "   ", "id": "blank"}', "empty_text"),
    (b"", "empty_text"),
    (json.dumps({"text": "长" * 2001}).encode(), "text_too_long"),
    (json.dumps({"text": "x" * 20000}).encode(), "payload_too_large"),
    (b'{"text": "hi", "colour": "red"}', "unknown_field"),
    (b'{"text": "hi", "speed": 9}', "invalid_field"),
    (b'{"text": "hi", "volume": "loud"}', "invalid_field"),
    (b'{"text": "hi", "priority": "asap"}', "invalid_field"),
    (b'{"text": "hi", "interrupt": 1}', "invalid_field"),
    (b'{"text": 42}', "invalid_field"),
    (b'{"text": "hi", "emotion": "furious"}', "unknown_emotion"),
    (b'{"text": "hi", "voice": "nobody"}', "unknown_voice"),
    ("😀🎉".encode(), "unspeakable_text"),
]


def test_every_bad_input_is_rejected_and_the_daemon_keeps_serving(
    tmp_path: Path, broker: Broker, alsa: AlsaCapture, model_cache: Path
) -> None:
    with running_daemon(tmp_path, broker, config=config(alsa, model_cache), env=alsa.env()) as (
        daemon,
        watcher,
    ):
        for payload, _ in BAD_INPUT:
            watcher.say(payload)
        watcher.publish(f"voice/{NODE}/stop", b'{"everything": 1}')
        watcher.publish(f"voice/{NODE}/set", b'{"volume": 3}')
        watcher.say({"text": "一切正常。", "id": "after"})
        assert watcher.wait_terminal("after")["result"] == "completed"
        rejected = wait_until(
            lambda: (
                (r := [e for e in watcher.events() if e["event"] == "rejected"])
                and len(r) >= len(BAD_INPUT) + 2
                and r
            ),
            10,
            "every rejection",
        )
        codes = [e["code"] for e in rejected]
        assert codes[: len(BAD_INPUT)] == [code for _, code in BAD_INPUT]
        assert codes[len(BAD_INPUT) :] == ["unknown_field", "invalid_field"]
        by_code = {e["code"]: e["message"] for e in reversed(rejected[: len(BAD_INPUT)])}
        assert "colour" in by_code["unknown_field"]
        assert "happy" in by_code["unknown_emotion"]  # lists the valid ones
        assert "baker" in by_code["unknown_voice"]
        assert daemon.alive()


def test_retained_say_is_ignored_and_all_topic_works(
    tmp_path: Path, broker: Broker, alsa: AlsaCapture, model_cache: Path
) -> None:
    publisher = Watcher(broker.port).start()
    publisher.client.publish(
        f"voice/{NODE}/say", '{"id": "ghost", "text": "幽灵"}', qos=1, retain=True
    ).wait_for_publish(5)
    with running_daemon(tmp_path, broker, config=config(alsa, model_cache), env=alsa.env()) as (
        daemon,
        watcher,
    ):
        watcher.say({"text": "大家好。", "id": "to-all"}, node="all")
        assert watcher.wait_terminal("to-all")["result"] == "completed"
        assert watcher.events("ghost") == []
        assert "ignoring a retained say" in daemon.log()
    publisher.stop()


def test_response_topic_and_mqtt311(
    tmp_path: Path, broker: Broker, alsa: AlsaCapture, model_cache: Path
) -> None:
    settings = config(alsa, model_cache, protocol="3.1.1")
    watcher = Watcher(
        broker.port, protocol=mqtt.MQTTv311, subscribe_to=("voice/#", "replies/#")
    ).start()
    with running_daemon(tmp_path, broker, config=settings, env=alsa.env(), watcher=watcher):
        watcher.say({"text": "三点一一。", "id": "v311"})
        assert watcher.wait_terminal("v311")["result"] == "completed"
    # MQTT 5: the terminal event also goes to the Response Topic with the Correlation Data.
    v5 = Watcher(broker.port, subscribe_to=("voice/#", "replies/#")).start()
    second = tmp_path / "v5"
    second.mkdir()
    with running_daemon(
        second, broker, config=config(alsa, model_cache), env=alsa.env(), watcher=v5
    ):
        props = Properties(PacketTypes.PUBLISH)
        props.ResponseTopic = "replies/me"
        props.CorrelationData = b"abc-123"
        v5.publish(f"voice/{NODE}/say", {"text": "请回复。", "id": "rt"}, properties=props)
        reply = wait_until(lambda: v5.on("replies/me"), 30, "a reply")[0]
        assert reply.json()["event"] == "finished" and reply.json()["id"] == "rt"
        assert reply.properties.CorrelationData == b"abc-123"


def test_sigterm_cancels_pending_and_exits_cleanly(
    tmp_path: Path, broker: Broker, pulse: PulseRig, model_cache: Path
) -> None:
    settings = {
        "engine": {"name": "fastspeech2", "cache_dir": str(model_cache)},
        "audio": {"device": "pulse"},
    }
    watcher = Watcher(broker.port).start()
    daemon = Daemon(tmp_path, broker.port, config=settings, env=pulse.env()).start()
    wait_ready(watcher, daemon)
    watcher.say(
        {"text": "这是一条比较长的通知，正在播放的时候守护进程会收到终止信号。", "id": "playing"}
    )
    watcher.say({"text": "排队中。", "id": "waiting"})
    watcher.wait_event("playing", "started", 30)
    began = time.monotonic()
    daemon.signal(signal.SIGTERM)
    assert daemon.wait(10) == 0
    assert time.monotonic() - began < 5
    for request_id in ("playing", "waiting"):
        finished = watcher.wait_terminal(request_id, 5)
        assert (finished["result"], finished["error"]["code"]) == ("cancelled", "shutdown")
    wait_until(lambda: watcher.availability() == "offline", 5, "offline")
    watcher.stop()


def test_sigkill_last_will_retained_state_and_persistent_session(
    tmp_path: Path, broker: Broker, alsa: AlsaCapture, model_cache: Path
) -> None:
    watcher = Watcher(broker.port).start()
    daemon = Daemon(tmp_path, broker.port, config=config(alsa, model_cache), env=alsa.env()).start()
    wait_ready(watcher, daemon)
    late = Watcher(broker.port).start()  # a dashboard subscribing later sees retained topics
    wait_until(lambda: late.availability() == "online", 5, "retained availability")
    assert late.on(f"voice/{NODE}/state")[0].retain
    assert late.last_state()["engine"] == "fastspeech2"  # type: ignore[index]
    late.stop()
    daemon.signal(signal.SIGKILL)
    daemon.wait(5)
    wait_until(lambda: watcher.availability() == "offline", 5, "the last will")
    # Published while the daemon is dead: kept by the broker in the daemon's session.
    watcher.say({"text": "你回来了。", "id": "while-dead"})
    restarted = Daemon(
        tmp_path, broker.port, config=config(alsa, model_cache), env=alsa.env()
    ).start()
    try:
        assert watcher.wait_terminal("while-dead", 60)["result"] == "completed"
        assert watcher.availability() == "online"
    finally:
        restarted.stop()
        watcher.stop()


def test_broker_restart_loses_nothing_and_repeats_nothing(
    tmp_path: Path, alsa: AlsaCapture, model_cache: Path
) -> None:
    directory = tmp_path / "persistent-broker"
    directory.mkdir()
    broker = Broker(directory, persistence=True)
    broker.start()
    watcher = Watcher(broker.port, persistent=True).start()
    daemon = Daemon(tmp_path, broker.port, config=config(alsa, model_cache), env=alsa.env()).start()
    try:
        wait_ready(watcher, daemon)
        sender = Watcher(broker.port).start()
        for index in range(3):
            sender.say({"text": f"第{index}条通知。", "id": f"before-{index}"})
        sender.stop()
        broker.stop()
        broker.start()  # same port, same persistence file
        sender = Watcher(broker.port).start()
        for index in range(3):  # likely before the daemon has reconnected
            sender.say({"text": f"重启后第{index}条。", "id": f"after-{index}"})
        sender.stop()
        ids = [f"before-{i}" for i in range(3)] + [f"after-{i}" for i in range(3)]
        for request_id in ids:
            assert watcher.wait_terminal(request_id, 60)["result"] == "completed", request_id
        time.sleep(1.0)
        finished = [e["id"] for e in watcher.events() if e["event"] == "finished"]
        assert sorted(finished) == sorted(ids)  # none lost, none twice
        wait_until(lambda: watcher.availability() == "online", 10, "online again")
        assert daemon.alive()
    finally:
        daemon.stop()
        watcher.stop()
        broker.stop()


def test_broker_down_at_start_then_up(tmp_path: Path, alsa: AlsaCapture, model_cache: Path) -> None:
    directory = tmp_path / "late-broker"
    directory.mkdir()
    broker = Broker(directory)  # port chosen, not started yet
    daemon = Daemon(tmp_path, broker.port, config=config(alsa, model_cache), env=alsa.env()).start()
    try:
        time.sleep(3)
        assert daemon.alive()
        assert "cannot reach the broker" in daemon.log()
        broker.start()
        watcher = Watcher(broker.port).start()
        wait_ready(watcher, daemon)
        watcher.say({"text": "终于连上了。", "id": "late"})
        assert watcher.wait_terminal("late", 60)["result"] == "completed"
        watcher.stop()
    finally:
        daemon.stop()
        broker.stop()
