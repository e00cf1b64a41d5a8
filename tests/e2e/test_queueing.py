"""Real-time playback (PulseAudio null sink): priority, pre-emption, stop, ttl, bounds."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from tests.rig import NODE, Broker, PulseRig, running_daemon, wait_until

pytestmark = [pytest.mark.e2e]

LONG = (
    "各位家庭成员请注意：由于小区管网维修，明天上午八点至下午六点将暂停供水，"
    "请提前储存好生活用水。给您带来的不便，敬请谅解。"
)


def config(model_cache: Path, **queue: object) -> dict[str, object]:
    return {
        "engine": {"name": "fastspeech2", "cache_dir": str(model_cache)},
        "audio": {"device": "pulse"},
        "queue": dict(queue),
    }


def loud_seconds(samples: np.ndarray, rate: int) -> float:
    block = rate // 100
    usable = samples[: samples.size // block * block].reshape(-1, block)
    return float(np.sum(np.sqrt(np.mean(usable**2, axis=1)) > 0.01) / 100)


def test_priority_order_ttl_duplicates_and_queue_full(
    tmp_path: Path, broker: Broker, pulse: PulseRig, model_cache: Path
) -> None:
    with running_daemon(
        tmp_path, broker, config=config(model_cache, max_length=3), env=pulse.env()
    ) as (_, watcher):
        watcher.say({"text": LONG, "id": "long"})
        watcher.wait_event("long", "started", 30)
        watcher.wait_state(lambda s: s["state"] == "speaking", what="speaking")
        watcher.say({"text": "低优先级。", "id": "low", "priority": "low"})
        watcher.say({"text": "会过期。", "id": "stale", "ttl": 0.5})
        watcher.say({"text": "高优先级。", "id": "high", "priority": "high"})
        watcher.say({"text": "满了。", "id": "overflow"})
        watcher.say({"text": "重复。", "id": "high"})
        assert watcher.wait_terminal("overflow")["code"] == "queue_full"
        duplicate = wait_until(
            lambda: [e for e in watcher.events("high") if e["event"] == "rejected"],
            10,
            "the duplicate's rejection",
        )
        assert [e["code"] for e in duplicate] == ["duplicate"]
        positions = {e["id"]: e["position"] for e in watcher.events() if e["event"] == "queued"}
        # Positions when queued: each newcomer outranks what waits (normal > low, high > all).
        assert (positions["low"], positions["stale"], positions["high"]) == (1, 1, 1)
        for request_id in ("long", "high", "low", "stale"):
            watcher.wait_terminal(request_id, 90)
        order = [e["id"] for e in watcher.events() if e["event"] == "finished"]
        assert order == ["long", "high", "stale", "low"], order
        results = {e["id"]: e["result"] for e in watcher.events() if e["event"] == "finished"}
        assert results == {
            "long": "completed",
            "high": "completed",
            "stale": "expired",
            "low": "completed",
        }
        finished_ids = [e["id"] for e in watcher.events() if e["event"] == "finished"]
        assert len(finished_ids) == len(set(finished_ids))  # exactly one finished each


def test_preemption_and_stop_mid_sentence(
    tmp_path: Path, broker: Broker, pulse: PulseRig, model_cache: Path
) -> None:
    with running_daemon(tmp_path, broker, config=config(model_cache), env=pulse.env()) as (
        _,
        watcher,
    ):
        watcher.say({"text": LONG, "id": "victim"})
        watcher.wait_event("victim", "started", 30)
        time.sleep(1.0)
        watcher.say(
            {
                "text": "警告：厨房检测到烟雾，请立即检查！",
                "id": "alarm",
                "priority": "critical",
                "emotion": "angry",
            }
        )
        victim = watcher.wait_terminal("victim", 10)
        assert (victim["result"], victim["error"]["code"]) == ("cancelled", "preempted")
        assert victim["audio_ms"] > 0
        assert watcher.wait_terminal("alarm", 60)["result"] == "completed"

        watcher.say({"text": LONG, "id": "stopme"})
        watcher.wait_event("stopme", "started", 30)
        time.sleep(1.5)
        sent = time.monotonic()
        watcher.publish(f"voice/{NODE}/stop", "")
        stopped = watcher.wait_terminal("stopme", 10)
        reaction = time.monotonic() - sent
        assert (stopped["result"], stopped["error"]["code"]) == ("cancelled", "stopped")
        assert reaction < 1.0, reaction
        # After the finished event the sink must go quiet (the buffer was dropped).
        mark = pulse.samples().size
        time.sleep(0.8)
        tail = pulse.samples()[mark:]
        assert loud_seconds(tail, pulse.rate) <= 0.15, loud_seconds(tail, pulse.rate)
        # The long text is ~10 s of speech; only ~1.5 s of it was heard.
        total = loud_seconds(pulse.samples(), pulse.rate)
        assert total > 1.0
        watcher.wait_state(lambda s: s["state"] == "idle" and s["current"] is None, what="idle")
