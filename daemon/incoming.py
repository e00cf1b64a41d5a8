"""A command as it arrived from a door (MQTT, HTTP), before parsing.

Its own small module so the MQTT link can be imported, and connected, before the
service and everything it needs have loaded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from daemon.events import ReplyTo


@dataclass(frozen=True)
class Incoming:
    """A command as it arrived, before parsing."""

    kind: str
    """say, stop or set."""
    payload: bytes
    retained: bool = False
    reply_to: ReplyTo | None = None
    ack: Callable[[], object] | None = None
    """Acknowledges the MQTT message; called once the command is handled (and journaled)."""
