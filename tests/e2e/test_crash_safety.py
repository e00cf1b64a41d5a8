"""Nothing lost: SIGKILL with requests queued and one playing; broker restarts without
persistence; the network to the broker cut and restored; the sound server restarted."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from tests.rig import (
    AlsaCapture,
    Broker,
    Daemon,
    PulseRig,
    TcpProxy,
    Watcher,
    running_daemon,
    wait_ready,
    wait_until,
)

pytestmark = [pytest.mark.e2e]

LONG = (
    "这是一条比较长的通知，用来确认守护进程在播放的时候被强行终止以后，重新启动还会把它从头读完。"
)


def pulse_config(model_cache: Path) -> dict[str, object]:
    return {
        "engine": {"name": "fastspeech2", "cache_dir": str(model_cache)},
        "audio": {"device": "pulse"},
    }


def finished_ids(watcher: Watcher) -> list[str]:
    return [e["id"] for e in watcher.events() if e["event"] == "finished"]


def test_sigkill_with_requests_queued_and_playing(
    tmp_path: Path, broker: Broker, pulse: PulseRig, model_cache: Path
) -> None:
    watcher = Watcher(broker.port).start()
    daemon = Daemon(
        tmp_path, broker.port, config=pulse_config(model_cache), env=pulse.env()
    ).start()
    wait_ready(watcher, daemon)
    watcher.say({"text": "先说完这一条。", "id": "done-before"})
    watcher.wait_terminal("done-before", 30)
    watcher.say({"text": LONG, "id": "playing"})
    watcher.say({"text": "第二条。", "id": "queued-1"})
    watcher.say({"text": "第三条。", "id": "queued-2", "priority": "low"})
    watcher.wait_event("playing", "started", 30)
    wait_until(lambda: watcher.events("queued-2"), 5, "queued-2 queued")
    daemon.signal(signal.SIGKILL)
    daemon.wait(5)
    assert not [e for e in watcher.events("playing") if e["event"] == "finished"]
    restarted = Daemon(tmp_path, broker.port, config=pulse_config(model_cache), env=pulse.env())
    restarted.log_path = tmp_path / "daemon-2.log"
    restarted.start()
    try:
        for request_id in ("playing", "queued-1", "queued-2"):
            assert watcher.wait_terminal(request_id, 60)["result"] == "completed"
        # A redelivery of a finished request is recognised after the restart.
        watcher.say({"text": "先说完这一条。", "id": "done-before"})
        assert (
            wait_until(
                lambda: [e for e in watcher.events("done-before") if e["event"] == "rejected"],
                10,
                "duplicate",
            )[0]["code"]
            == "duplicate"
        )
        ids = finished_ids(watcher)
        assert sorted(ids) == sorted(["done-before", "playing", "queued-1", "queued-2"])
        assert ids.index("queued-1") < ids.index("queued-2")  # priority order kept
        # Each unfinished request was queued again after the restart, exactly once.
        for request_id in ("playing", "queued-1", "queued-2"):
            assert [e["event"] for e in watcher.events(request_id)].count("queued") == 2
    finally:
        restarted.stop()
        watcher.stop()


def test_broker_restart_without_persistence(
    tmp_path: Path, broker: Broker, pulse: PulseRig, model_cache: Path
) -> None:
    with running_daemon(tmp_path, broker, config=pulse_config(model_cache), env=pulse.env()) as (
        daemon,
        first_watcher,
    ):
        ids = ["b-1", "b-2", "b-3"]
        for request_id in ids:
            first_watcher.say({"text": f"{LONG[:20]}。", "id": request_id})
        for request_id in ids:
            first_watcher.wait_event(request_id, "queued", 10)
        broker.stop()  # no persistence: the broker forgets every session and retained message
        time.sleep(1)
        broker.start()
        watcher = Watcher(broker.port).start()
        try:
            # The daemon re-publishes its retained state and availability after reconnecting.
            wait_until(lambda: watcher.availability() == "online", 20, "online again")
            state = watcher.wait_state(
                lambda s: s["state"] == "idle" and s["queue"] == 0, 60, "idle after the requests"
            )
            assert state["ready"]
            assert daemon.alive()
            log = daemon.log()
            for request_id in ids:
                assert f"[{request_id}] finished completed" in log
                assert log.count(f"[{request_id}] finished") == 1
        finally:
            watcher.stop()


def test_sound_server_restart_mid_announcement(
    tmp_path: Path, broker: Broker, pulse: PulseRig, model_cache: Path
) -> None:
    with running_daemon(tmp_path, broker, config=pulse_config(model_cache), env=pulse.env()) as (
        daemon,
        watcher,
    ):
        watcher.say({"text": LONG, "id": "cut"})
        watcher.wait_event("cut", "started", 30)
        time.sleep(0.5)
        pulse.kill_server()
        finished = watcher.wait_terminal("cut", 30)
        assert (finished["result"], finished["error"]["code"]) == ("failed", "audio_device")
        watcher.say({"text": "声音服务器还没回来。", "id": "while-down"})
        assert watcher.wait_terminal("while-down", 30)["error"]["code"] == "audio_device"
        pulse.start()
        pulse.start_capture()
        watcher.say({"text": "声音回来了。", "id": "back"})
        assert watcher.wait_terminal("back", 30)["result"] == "completed"
        assert daemon.alive()
        assert pulse.samples().size > 0
        state = watcher.wait_state(lambda s: s["last_error"] is None, 10, "last_error cleared")
        assert state["state"] == "idle"


def test_network_to_the_broker_cut_and_restored(
    tmp_path: Path, broker: Broker, alsa: AlsaCapture, model_cache: Path
) -> None:
    proxy = TcpProxy(broker.port).start()
    config = {
        "engine": {"name": "fastspeech2", "cache_dir": str(model_cache)},
        "audio": {"device": alsa.device},
    }
    watcher = Watcher(broker.port).start()  # talks to the broker directly
    daemon = Daemon(tmp_path, proxy.port, config=config, env=alsa.env()).start()
    try:
        wait_ready(watcher, daemon)
        watcher.say({"text": "断网之前。", "id": "before-cut"})
        assert watcher.wait_terminal("before-cut", 30)["result"] == "completed"
        proxy.cut()
        wait_until(lambda: watcher.availability() == "offline", 10, "the last will")
        for index in range(3):  # kept by the broker in the daemon's persistent session
            watcher.say({"text": f"断网期间第{index}条。", "id": f"during-{index}"})
        time.sleep(1)
        proxy.restore()
        for index in range(3):
            assert watcher.wait_terminal(f"during-{index}", 60)["result"] == "completed"
        wait_until(lambda: watcher.availability() == "online", 10, "online again")
        state = watcher.wait_state(lambda s: s["state"] == "idle" and s["queue"] == 0, 10)
        assert state["ready"]
        finished = [e["id"] for e in watcher.events() if e["event"] == "finished"]
        assert sorted(finished) == ["before-cut", "during-0", "during-1", "during-2"]
    finally:
        daemon.stop()
        watcher.stop()
        proxy.cut()
