"""The journal keeps unfinished requests and finished ids across a process restart."""

from __future__ import annotations

import time
from pathlib import Path

from daemon.events import ReplyTo
from daemon.journal import Journal
from daemon.request import SayRequest


def test_round_trip_and_finish(tmp_path: Path) -> None:
    path = tmp_path / "state" / "journal.sqlite3"
    journal = Journal(path, keep_finished=2)
    first = SayRequest(
        id="a",
        text="你好",
        emotion="happy",
        speed=1.5,
        priority="high",
        ttl=60,
        received=time.monotonic() - 5,
        reply_to=ReplyTo("reply/x", b"\x00\x01"),
    )
    journal.add(first)
    journal.add(SayRequest(id="b", text="再见"))
    journal.close()

    reopened = Journal(path, keep_finished=2)
    pending = reopened.pending()
    assert [r.id for r in pending] == ["a", "b"]
    restored = pending[0]
    assert (restored.text, restored.emotion, restored.speed, restored.priority, restored.ttl) == (
        "你好",
        "happy",
        1.5,
        "high",
        60,
    )
    assert restored.reply_to == ReplyTo("reply/x", b"\x00\x01")
    assert 4.5 < time.monotonic() - restored.received < 10  # age carried over, for ttl
    for request_id in ("a", "b", "c"):
        reopened.finish(request_id)
    assert reopened.pending() == []
    assert reopened.finished_ids() == ["b", "c"]  # bounded
