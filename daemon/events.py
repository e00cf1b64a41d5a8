"""Lifecycle events: one JSON object per transition, each echoing the request id."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal

Result = Literal["completed", "cancelled", "expired", "failed"]


@dataclass(frozen=True)
class ReplyTo:
    """MQTT 5 Response Topic and Correlation Data of a request: its terminal event goes there."""

    topic: str
    correlation_data: bytes | None = None


@dataclass(frozen=True)
class Failure:
    """Why a request did not complete: a stable code and a message for people."""

    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


def _event(name: str, request_id: str | None, **fields: Any) -> dict[str, Any]:
    return {"event": name, "id": request_id, "time": round(time.time(), 3), **fields}


def queued(request_id: str, position: int) -> dict[str, Any]:
    return _event("queued", request_id, position=position)


def started(request_id: str, latency_ms: float) -> dict[str, Any]:
    return _event("started", request_id, latency_ms=round(latency_ms, 1))


def rejected(request_id: str | None, code: str, message: str) -> dict[str, Any]:
    """``request_id`` is None when the payload could not be read far enough to find one."""
    return _event("rejected", request_id, code=code, message=message)


def finished(
    request_id: str,
    result: Result,
    *,
    duration_ms: float,
    synth_ms: float,
    audio_ms: float,
    failure: Failure | None = None,
) -> dict[str, Any]:
    """The terminal event. ``rtf`` = synthesis time / audio time (None before any audio)."""
    rtf = round(synth_ms / audio_ms, 4) if audio_ms > 0 else None
    event = _event(
        "finished",
        request_id,
        result=result,
        duration_ms=round(duration_ms, 1),
        synth_ms=round(synth_ms, 1),
        audio_ms=round(audio_ms, 1),
        rtf=rtf,
    )
    if failure is not None:
        event["error"] = failure.as_dict()
    return event
