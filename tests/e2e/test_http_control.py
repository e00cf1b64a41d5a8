"""Stopping over HTTP, in real time (PulseAudio null sink): stop what plays, cancel a queued
request by id, stop everything."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.http_rig import HttpClient, http_daemon
from tests.rig import Broker, PulseRig, wait_until

pytestmark = [pytest.mark.e2e]

LONG = "一二三四五六七八九十" * 8  # 80 beeps of 80 ms: 6.4 s


def _events(client: HttpClient, request_id: str) -> list[str]:
    return [e["event"] for e in client.get(f"/api/requests/{request_id}").json()["events"]]


def _finished(client: HttpClient, request_id: str) -> dict[str, object]:
    answer = client.get(f"/api/requests/{request_id}?wait=30").json()
    assert answer["done"], answer
    event: dict[str, object] = answer["events"][-1]
    return event


def test_stop_current_by_id_and_all(tmp_path: Path, broker: Broker, pulse: PulseRig) -> None:
    config = {"engine": {"name": "tone"}, "audio": {"device": "pulse"}}
    with http_daemon(tmp_path, broker, config=config, env=pulse.env()) as (_, __, client):
        assert client.post("/api/say", json_body={"text": LONG, "id": "a"}).status == 202
        wait_until(lambda: "started" in _events(client, "a"), 30, "a to start")
        assert client.post("/api/stop").json() == {"ok": True}
        stopped = _finished(client, "a")
        assert stopped["result"] == "cancelled"
        assert stopped["error"] == {"code": "stopped", "message": "stopped by a stop command"}

        for request_id in ("b", "c", "d"):
            client.post("/api/say", json_body={"text": LONG, "id": request_id})
        wait_until(lambda: "started" in _events(client, "b"), 30, "b to start")
        assert client.post("/api/stop", form={"id": "c"}).status == 200
        assert _finished(client, "c")["result"] == "cancelled"
        assert "started" not in _events(client, "c")
        state = client.get("/api/state").json()
        assert (state["current"], state["queue"]) == ("b", 1)

        assert client.post("/api/stop", json_body={"all": True}).status == 200
        for request_id in ("b", "d"):
            assert _finished(client, request_id)["result"] == "cancelled"
        wait_until(lambda: client.get("/api/state").json()["state"] == "idle", 10, "idle")
