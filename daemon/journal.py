"""The request journal: accepted requests survive a crash, finished ids survive a restart.

A small SQLite database (standard library; atomic, crash-safe commits without a server).
A request is written before its MQTT message is acknowledged and removed when it reaches
its terminal event, so after a SIGKILL or power cut every unfinished request is spoken
after the restart (the interrupted one from its beginning) and redeliveries of finished
ones are recognised by id.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from daemon.events import ReplyTo
from daemon.request import SayRequest

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS pending (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT UNIQUE NOT NULL,
    request TEXT NOT NULL,
    received_wall REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS finished (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT UNIQUE NOT NULL
);
"""


class JournalError(Exception):
    """The journal cannot be opened or written."""


def _encode(request: SayRequest) -> str:
    data = asdict(request)
    data.pop("received")
    reply = data.pop("reply_to")
    if reply is not None:
        data["reply_to"] = {
            "topic": reply["topic"],
            "correlation_data": reply["correlation_data"].hex()
            if reply["correlation_data"] is not None
            else None,
        }
    return json.dumps(data, ensure_ascii=False)


def _decode(text: str, received: float) -> SayRequest:
    data: dict[str, Any] = json.loads(text)
    reply = data.pop("reply_to", None)
    reply_to = None
    if reply is not None:
        correlation = reply["correlation_data"]
        reply_to = ReplyTo(reply["topic"], bytes.fromhex(correlation) if correlation else None)
    return SayRequest(**data, received=received, reply_to=reply_to)


class Journal:
    """Pending requests and recently finished ids, on disk."""

    def __init__(self, path: Path, keep_finished: int) -> None:
        self._keep_finished = keep_finished
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            # FULL: a commit is on disk before the broker is told we have the request.
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as error:
            raise JournalError(f"cannot open the request journal {path}: {error}") from None
        self.path = path

    def add(self, request: SayRequest) -> None:
        received_wall = time.time() - (time.monotonic() - request.received)
        try:
            self._db.execute(
                "INSERT OR REPLACE INTO pending (id, request, received_wall) VALUES (?, ?, ?)",
                (request.id, _encode(request), received_wall),
            )
        except sqlite3.Error as error:
            raise JournalError(f"cannot write the request journal: {error}") from None

    def finish(self, request_id: str) -> None:
        """The request reached its terminal event: forget it, remember its id."""
        try:
            with self._db:
                self._db.execute("BEGIN")
                self._db.execute("DELETE FROM pending WHERE id = ?", (request_id,))
                self._db.execute("INSERT OR REPLACE INTO finished (id) VALUES (?)", (request_id,))
                self._db.execute(
                    "DELETE FROM finished WHERE seq <= (SELECT MAX(seq) FROM finished) - ?",
                    (self._keep_finished,),
                )
        except sqlite3.Error as error:
            log.error("[%s] cannot update the request journal: %s", request_id, error)

    def pending(self) -> list[SayRequest]:
        """Unfinished requests in arrival order, with their receipt time carried over."""
        now_wall, now = time.time(), time.monotonic()
        requests = []
        for request_id, text, received_wall in self._db.execute(
            "SELECT id, request, received_wall FROM pending ORDER BY seq"
        ):
            try:
                requests.append(_decode(text, now - max(0.0, now_wall - received_wall)))
            except (ValueError, TypeError, KeyError) as error:
                log.error("[%s] dropping an unreadable journal entry: %s", request_id, error)
                self._db.execute("DELETE FROM pending WHERE id = ?", (request_id,))
        return requests

    def finished_ids(self) -> list[str]:
        return [row[0] for row in self._db.execute("SELECT id FROM finished ORDER BY seq")]

    def close(self) -> None:
        self._db.close()
