"""Queue order (priority, then arrival), bounds, cancellation."""

from __future__ import annotations

import pytest

from daemon.request import Rejected, SayRequest
from daemon.request_queue import RequestQueue


def request(request_id: str, priority: str = "normal", interrupt: bool = False) -> SayRequest:
    return SayRequest(
        id=request_id,
        text="x",
        priority=priority,  # type: ignore[arg-type]
        interrupt=interrupt,
    )


def test_priority_then_arrival() -> None:
    queue = RequestQueue(10)
    for request_id, priority in [
        ("a", "low"),
        ("b", "normal"),
        ("c", "high"),
        ("d", "normal"),
        ("e", "critical"),
    ]:
        queue.push(request(request_id, priority))
    assert [queue.pop().id for _ in range(5)] == ["e", "c", "b", "d", "a"]  # type: ignore[union-attr]
    assert queue.pop() is None


def test_interrupt_goes_first_and_positions() -> None:
    queue = RequestQueue(10)
    assert queue.push(request("a", "high")) == 1
    assert queue.push(request("b")) == 2
    assert queue.push(request("c", interrupt=True)) == 1
    assert queue.position("b") == 3


def test_bounded() -> None:
    queue = RequestQueue(2)
    queue.push(request("a"))
    queue.push(request("b"))
    with pytest.raises(Rejected) as caught:
        queue.push(request("c"))
    assert caught.value.code == "queue_full"
    assert len(queue) == 2


def test_remove_and_clear() -> None:
    queue = RequestQueue(10)
    for request_id in "abc":
        queue.push(request(request_id))
    assert queue.remove("b") is not None
    assert queue.remove("b") is None
    assert "b" not in queue
    assert [r.id for r in queue.clear()] == ["a", "c"]
    assert len(queue) == 0 and queue.pop() is None
