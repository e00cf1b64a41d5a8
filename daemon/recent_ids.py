"""Ids of recently seen requests, so a QoS 1 redelivery is never spoken twice."""

from __future__ import annotations

from collections import OrderedDict


class RecentIds:
    """A bounded, insertion-ordered set: the oldest ids are forgotten first."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, request_id: object) -> bool:
        return request_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, request_id: str) -> None:
        self._ids[request_id] = None
        self._ids.move_to_end(request_id)
        while len(self._ids) > self._capacity:
            self._ids.popitem(last=False)

    def snapshot(self) -> list[str]:
        return list(self._ids)
