"""Every event and state change of the service, kept for the HTTP door.

The hub is fed by the service's listeners on the event loop. It remembers the events of the
most recent requests (``GET /api/requests/<id>``, ``?wait=``) and fans events and states out
to the live streams of open pages (``GET /api/events``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Final, Literal

log = logging.getLogger(__name__)

TERMINAL: Final = frozenset({"finished", "rejected"})
#: Items a slow stream may fall behind before it is closed (the page then reconnects).
STREAM_BACKLOG: Final = 256


@dataclass(frozen=True)
class Item:
    """One thing for a live stream: an event or the new state."""

    kind: Literal["event", "state"]
    data: dict[str, Any]


class Stream:
    """One open live stream; ``None`` from :meth:`next` means it is over."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[Item | None] = asyncio.Queue(STREAM_BACKLOG)

    def put(self, item: Item | None) -> bool:
        """Hand over ``item``; False (and the stream ends) when the reader fell too far behind."""
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            self.end()
            return False
        return True

    def end(self) -> None:
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(None)

    async def next(self) -> Item | None:
        return await self._queue.get()


class EventHub:
    """Recent requests' events, waiters for their end, and live streams."""

    def __init__(self, keep: int) -> None:
        self._keep = max(1, keep)
        self._history: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()
        self._done: dict[str, asyncio.Event] = {}
        self._streams: set[Stream] = set()
        self._state: dict[str, Any] | None = None
        self._closed = False

    # ---- fed by the service (on the event loop) -----------------------------------------

    def on_event(self, event: dict[str, Any]) -> None:
        request_id = event.get("id")
        if isinstance(request_id, str):
            self._record(request_id, event)
        self._broadcast(Item("event", event))

    def on_state(self, state: dict[str, Any]) -> None:
        self._state = state
        self._broadcast(Item("state", state))

    def _record(self, request_id: str, event: dict[str, Any]) -> None:
        events = self._history.get(request_id)
        if events is None:
            events = self._history[request_id] = []
            while len(self._history) > self._keep:
                forgotten, _ = self._history.popitem(last=False)
                self._done.pop(forgotten, None)
        elif event["event"] == "rejected":
            return  # a duplicate of a known request: its own history stays as it was
        events.append(event)
        if event["event"] in TERMINAL and request_id in self._done:
            self._done[request_id].set()

    def _broadcast(self, item: Item) -> None:
        for stream in list(self._streams):
            if not stream.put(item):
                log.warning("[%s] a live stream fell behind; closed", item.data.get("id") or "-")
                self._streams.discard(stream)

    # ---- read by the HTTP handlers ------------------------------------------------------

    @property
    def state(self) -> dict[str, Any] | None:
        """The last state the service published (None before the first)."""
        return self._state

    def events(self, request_id: str) -> list[dict[str, Any]] | None:
        """The events of a recent request so far, None for an id not seen (or forgotten)."""
        events = self._history.get(request_id)
        return None if events is None else list(events)

    @staticmethod
    def is_done(events: list[dict[str, Any]]) -> bool:
        return bool(events) and events[-1]["event"] in TERMINAL

    async def wait_done(self, request_id: str, timeout_s: float) -> list[dict[str, Any]] | None:
        """The request's events once it ended, or as they are after ``timeout_s``."""
        events = self.events(request_id)
        if events is None or self.is_done(events) or timeout_s <= 0 or self._closed:
            return events
        done = self._done.setdefault(request_id, asyncio.Event())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), timeout_s)
        return self.events(request_id)

    def open_stream(self) -> Stream:
        stream = Stream()
        if self._closed:
            stream.end()
        else:
            self._streams.add(stream)
        return stream

    def close_stream(self, stream: Stream) -> None:
        self._streams.discard(stream)

    def close(self) -> None:
        """End every live stream and wake every waiter (the daemon is stopping)."""
        self._closed = True
        for stream in self._streams:
            stream.end()
        self._streams.clear()
        for done in self._done.values():
            done.set()
