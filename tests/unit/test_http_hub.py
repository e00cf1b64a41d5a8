"""The hub: recent requests' events, waiting for a request's end, live streams."""

from __future__ import annotations

import asyncio

import pytest

from daemon import events
from daemon.http.hub import STREAM_BACKLOG, EventHub, Item

pytestmark = pytest.mark.asyncio


def _done(request_id: str) -> dict[str, object]:
    return events.finished(request_id, "completed", duration_ms=1, synth_ms=1, audio_ms=1)


async def test_events_are_kept_per_request_and_bounded() -> None:
    hub = EventHub(keep=2)
    for request_id in ("a", "b", "c"):
        hub.on_event(events.queued(request_id, 1))
    assert hub.events("a") is None  # forgotten
    assert [e["event"] for e in hub.events("c") or []] == ["queued"]
    hub.on_event(events.rejected(None, "invalid_json", "bad"))  # no id: not kept
    hub.on_event(events.rejected("c", "duplicate", "again"))  # a known id: its story stays
    assert [e["event"] for e in hub.events("c") or []] == ["queued"]
    hub.on_event(events.rejected("d", "unknown_emotion", "no"))
    assert hub.is_done(hub.events("d") or [])


async def test_wait_done_returns_at_the_end_or_after_the_timeout() -> None:
    hub = EventHub(keep=10)
    hub.on_event(events.queued("r", 1))
    assert [e["event"] for e in await hub.wait_done("r", 0.05) or []] == ["queued"]
    waiter = asyncio.create_task(hub.wait_done("r", 10))
    await asyncio.sleep(0.01)
    hub.on_event(events.started("r", 5.0))
    await asyncio.sleep(0.01)
    assert not waiter.done()
    hub.on_event(_done("r"))
    assert [e["event"] for e in await waiter or []] == ["queued", "started", "finished"]
    assert await hub.wait_done("unknown", 10) is None  # no waiting for an id never seen


async def test_streams_get_events_and_states_in_order() -> None:
    hub = EventHub(keep=10)
    stream = hub.open_stream()
    hub.on_state({"state": "idle"})
    hub.on_event(events.queued("r", 1))
    assert await stream.next() == Item("state", {"state": "idle"})
    assert (await stream.next()) == Item("event", hub.events("r")[0])  # type: ignore[index]
    assert hub.state == {"state": "idle"}
    hub.close_stream(stream)
    hub.on_event(_done("r"))  # a closed stream gets nothing more


async def test_a_stream_that_falls_behind_is_ended() -> None:
    hub = EventHub(keep=10)
    stream = hub.open_stream()
    for number in range(STREAM_BACKLOG + 1):
        hub.on_state({"n": number})
    assert await stream.next() is None
    hub.on_state({"n": "after"})  # no longer fed


async def test_close_ends_streams_and_wakes_waiters() -> None:
    hub = EventHub(keep=10)
    hub.on_event(events.queued("r", 1))
    stream = hub.open_stream()
    waiter = asyncio.create_task(hub.wait_done("r", 60))
    await asyncio.sleep(0.01)
    hub.close()
    assert await stream.next() is None
    assert [e["event"] for e in await asyncio.wait_for(waiter, 1) or []] == ["queued"]
    assert await hub.open_stream().next() is None
