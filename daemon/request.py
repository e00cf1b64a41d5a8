"""Command payloads (say, stop, set) parsed and validated into typed requests.

Everything that can be checked without the engine is checked here; each failure is a
:class:`Rejected` with a stable ``code`` (documented in README.md) and a message naming the
field. Parsing never raises anything else, whatever the bytes.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Literal, get_args

from daemon.events import ReplyTo
from daemon.text.ssml import parse_ssml

if TYPE_CHECKING:
    from daemon.engines.base import Audio

Priority = Literal["low", "normal", "high", "critical"]
PRIORITIES: Final[tuple[str, ...]] = get_args(Priority)
#: Lower rank is served first.
PRIORITY_RANK: Final[dict[str, int]] = {"critical": 0, "high": 1, "normal": 2, "low": 3}

SAY_FIELDS: Final = frozenset(
    {
        "text",
        "id",
        "emotion",
        "voice",
        "speed",
        "volume",
        "priority",
        "interrupt",
        "ttl",
        "chime",
        "cache",
    }
)
MAX_ID_CHARS: Final = 128
MAX_CHIME_NAME_CHARS: Final = 64


class Rejected(Exception):
    """A command that is not accepted. ``code`` is stable; ``message`` is for people."""

    def __init__(self, code: str, message: str, request_id: str | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.request_id = request_id


@dataclass(frozen=True)
class SayRequest:
    """One announcement, validated."""

    id: str
    """Caller's id, or a generated one; echoed in every event."""
    text: str
    """The text as received (normalization happens later, per engine)."""
    emotion: str | None = None
    """Emotion name, None for the configured default."""
    voice: str | None = None
    """Voice name, None for the configured default."""
    speed: float = 1.0
    """Speaking rate factor, 0.5-2.0."""
    volume: float = 1.0
    """Request volume 0-1, multiplied with the master volume."""
    priority: Priority = "normal"
    """Queue priority."""
    interrupt: bool = False
    """Pre-empt what is playing now."""
    ttl: float | None = None
    """Seconds after receipt after which the request is no longer worth speaking."""
    received: float = field(default_factory=time.monotonic)
    """Monotonic receipt time: latency and ttl are measured from here."""
    reply_to: ReplyTo | None = None
    """MQTT 5 Response Topic: the terminal event is also published there."""
    chime: str | bool | None = None
    """A configured chime's name, False for none, None for the priority's chime."""
    cache: bool = True
    """Use the phrase cache (false: synthesize afresh and store nothing)."""
    audio: Audio | None = field(default=None, compare=False, repr=False)
    """Raw audio (mono float32 at the engine's rate) played instead of synthesizing ``text``:
    set by integrations (the Hermes audio server), never parsed from a message."""

    @property
    def preempts(self) -> bool:
        return self.interrupt or self.priority == "critical"

    def expired(self, now: float) -> bool:
        return self.ttl is not None and now - self.received > self.ttl


def new_id() -> str:
    return uuid.uuid4().hex[:12]


def _decode(payload: bytes) -> str:
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError as error:
        raise Rejected("invalid_utf8", f"payload is not valid UTF-8 (byte {error.start})") from None


def _load_object(text: str) -> dict[str, Any] | None:
    """The JSON object in ``text``, or None when the payload is not JSON-shaped."""
    stripped = text.strip()
    if not stripped.startswith(("{", "[")):
        return None
    try:
        value = json.loads(stripped)
    except (ValueError, RecursionError) as error:
        raise Rejected("invalid_json", f"payload is not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise Rejected("not_an_object", "a JSON payload must be an object") from None
    return value


def _number(data: dict[str, Any], name: str, low: float, high: float) -> float | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise Rejected("invalid_field", f"{name}: must be a number, got {value!r}")
    if not low <= value <= high:
        raise Rejected("invalid_field", f"{name}: must be {low:g}-{high:g}, got {value!r}")
    return float(value)


def _string(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise Rejected("invalid_field", f"{name}: must be a non-empty string, got {value!r}")
    return value.strip()


def _request_id(data: dict[str, Any]) -> str:
    value = data.get("id")
    if value is None:
        return new_id()
    if not isinstance(value, str) or not value or len(value) > MAX_ID_CHARS:
        raise Rejected(
            "invalid_field", f"id: must be a string of 1-{MAX_ID_CHARS} characters, got {value!r}"
        )
    if not value.isprintable():
        raise Rejected("invalid_field", "id: must not contain control characters")
    return value


def _chime(data: dict[str, Any]) -> str | bool | None:
    """``chime``: a name (checked against the configured set by the service) or false."""
    value = data.get("chime")
    if value is None or value is False:
        return value
    if (
        not isinstance(value, str)
        or not value.strip()
        or len(value) > MAX_CHIME_NAME_CHARS
        or not value.isprintable()
    ):
        raise Rejected("invalid_field", f"chime: must be a chime name or false, got {value!r}")
    return value.strip()


def peek_id(payload: bytes) -> str | None:
    """The request's own id if one can be read, for echoing in a rejection."""
    try:
        data = _load_object(payload.decode("utf-8"))
    except (Rejected, UnicodeDecodeError):
        return None
    value = data.get("id") if data else None
    if isinstance(value, str) and 0 < len(value) <= MAX_ID_CHARS and value.isprintable():
        return value
    return None


def parse_say(
    payload: bytes,
    *,
    max_text_chars: int,
    default_priority: Priority = "normal",
    reply_to: ReplyTo | None = None,
) -> SayRequest:
    """A validated say request from a JSON object or plain UTF-8 text."""
    text = _decode(payload)
    data = _load_object(text)
    if data is None:
        data = {"text": text}
    unknown = sorted(str(key) for key in data if key not in SAY_FIELDS)
    request_id = _request_id(data)
    try:
        if unknown:
            raise Rejected("unknown_field", f"unknown field(s): {', '.join(unknown)}")
        spoken = data.get("text")
        if spoken is None:
            raise Rejected("missing_text", "text: required")
        if not isinstance(spoken, str):
            raise Rejected("invalid_field", f"text: must be a string, got {type(spoken).__name__}")
        if not spoken.strip():
            raise Rejected("empty_text", "text: is empty")
        if len(spoken) > max_text_chars:
            raise Rejected(
                "text_too_long", f"text: {len(spoken)} characters, the limit is {max_text_chars}"
            )
        priority = data.get("priority", default_priority)
        if priority not in PRIORITIES:
            raise Rejected(
                "invalid_field",
                f"priority: must be one of {', '.join(PRIORITIES)}, got {priority!r}",
            )
        interrupt = data.get("interrupt", False)
        if not isinstance(interrupt, bool):
            raise Rejected("invalid_field", f"interrupt: must be true or false, got {interrupt!r}")
        speed = _number(data, "speed", 0.5, 2.0)
        volume = _number(data, "volume", 0.0, 1.0)
        ttl = _number(data, "ttl", 0.0, 7 * 24 * 3600.0)
        chime = _chime(data)
        cache = data.get("cache", True)
        if not isinstance(cache, bool):
            raise Rejected("invalid_field", f"cache: must be true or false, got {cache!r}")
        emotion = _string(data, "emotion")
        if spoken.lstrip().startswith("<speak"):
            spoken, marked = _from_ssml(spoken)
            emotion = emotion or marked
        return SayRequest(
            id=request_id,
            text=spoken,
            emotion=emotion,
            voice=_string(data, "voice"),
            speed=1.0 if speed is None else speed,
            volume=1.0 if volume is None else volume,
            priority=priority,
            interrupt=interrupt,
            ttl=ttl,
            reply_to=reply_to,
            chime=chime,
            cache=cache,
        )
    except Rejected as rejected:
        rejected.request_id = request_id
        raise


def _from_ssml(text: str) -> tuple[str, str | None]:
    """Text written for the official Sambert stack (``<speak><emotion category=..>``): the
    plain text and the first marked emotion (one emotion per request)."""
    segments = parse_ssml(text)
    plain = "".join(segment for _, segment in segments)
    if not plain.strip():
        raise Rejected("empty_text", "text: the markup holds no text")
    return plain, next((emotion for emotion, _ in segments if emotion), None)


@dataclass(frozen=True)
class StopCommand:
    """Stop what is playing; or cancel one request; or stop and clear everything."""

    id: str | None = None
    all: bool = False


def parse_stop(payload: bytes) -> StopCommand:
    text = _decode(payload)
    if not text.strip():
        return StopCommand()
    data = _load_object(text)
    if data is None:
        raise Rejected("not_an_object", "stop takes an empty payload or a JSON object")
    unknown = sorted(str(key) for key in data if key not in {"id", "all"})
    if unknown:
        raise Rejected("unknown_field", f"unknown field(s): {', '.join(unknown)}")
    stop_all = data.get("all", False)
    if not isinstance(stop_all, bool):
        raise Rejected("invalid_field", f"all: must be true or false, got {stop_all!r}")
    target = data.get("id")
    if target is not None and not isinstance(target, str):
        raise Rejected("invalid_field", f"id: must be a string, got {target!r}")
    return StopCommand(id=target, all=stop_all)


@dataclass(frozen=True)
class SetCommand:
    """Change the daemon's volume, mute or defaults; None leaves a setting as it is."""

    volume: float | None = None
    muted: bool | None = None
    emotion: str | None = None
    voice: str | None = None


def parse_set(payload: bytes) -> SetCommand:
    data = _load_object(_decode(payload))
    if data is None:
        raise Rejected("not_an_object", "set takes a JSON object")
    unknown = sorted(str(key) for key in data if key not in {"volume", "muted", "emotion", "voice"})
    if unknown:
        raise Rejected("unknown_field", f"unknown field(s): {', '.join(unknown)}")
    muted = data.get("muted")
    if muted is not None and not isinstance(muted, bool):
        raise Rejected("invalid_field", f"muted: must be true or false, got {muted!r}")
    return SetCommand(
        volume=_number(data, "volume", 0.0, 1.0),
        muted=muted,
        emotion=_string(data, "emotion"),
        voice=_string(data, "voice"),
    )
