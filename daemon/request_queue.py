"""The waiting line: ordered by priority, then arrival; bounded; cancellable by id.

Not thread-safe on purpose: only the event loop touches it.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field

from daemon.request import PRIORITY_RANK, Rejected, SayRequest

#: Rank of requests that pre-empt: ahead of everything already waiting.
_PREEMPT_RANK = -1


@dataclass(order=True)
class _Entry:
    rank: int
    seq: int
    request: SayRequest = field(compare=False)
    removed: bool = field(default=False, compare=False)


class RequestQueue:
    """Priority queue of say requests with a length limit."""

    def __init__(self, max_length: int) -> None:
        self._max_length = max_length
        self._heap: list[_Entry] = []
        self._by_id: dict[str, _Entry] = {}
        self._seq = itertools.count()

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, request_id: object) -> bool:
        return request_id in self._by_id

    def push(self, request: SayRequest, *, force: bool = False) -> int:
        """Add a request; returns its 1-based position. Raises Rejected(queue_full) unless
        ``force`` (requests restored after a crash were accepted already)."""
        if len(self._by_id) >= self._max_length and not force:
            raise Rejected(
                "queue_full",
                f"{len(self._by_id)} requests are waiting, the limit is {self._max_length}",
                request.id,
            )
        rank = _PREEMPT_RANK if request.preempts else PRIORITY_RANK[request.priority]
        entry = _Entry(rank, next(self._seq), request)
        heapq.heappush(self._heap, entry)
        self._by_id[request.id] = entry
        return self.position(request.id)

    def position(self, request_id: str) -> int:
        entry = self._by_id[request_id]
        return 1 + sum(1 for other in self._by_id.values() if other < entry)

    def pop(self) -> SayRequest | None:
        """The next request to speak, or None when empty."""
        while self._heap:
            entry = heapq.heappop(self._heap)
            if not entry.removed:
                del self._by_id[entry.request.id]
                return entry.request
        return None

    def remove(self, request_id: str) -> SayRequest | None:
        entry = self._by_id.pop(request_id, None)
        if entry is None:
            return None
        entry.removed = True  # lazily dropped from the heap by pop()
        return entry.request

    def clear(self) -> list[SayRequest]:
        """Remove everything; returns the removed requests in queue order."""
        removed = [entry.request for entry in sorted(self._by_id.values())]
        self._heap.clear()
        self._by_id.clear()
        return removed
