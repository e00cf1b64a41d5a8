"""Rhasspy/Hermes compatibility: the daemon as a Hermes TTS service and audio server.

- ``hermes/tts/say`` (``text``, ``siteId``, ``lang``, ``id``, ``sessionId``, ``volume``, and
  our extension ``emotion``) for one of the configured sites is spoken through the normal
  queue. ``hermes/tts/sayFinished`` (``id``, ``siteId``, ``sessionId``) always follows, and
  on failure ``hermes/error/tts`` is published first, so a dialogue manager waiting for
  the answer never hangs.
- ``hermes/audioServer/<siteId>/playBytes/<requestId>`` (a WAV payload) is played through
  the same queue as a raw clip and answered with
  ``hermes/audioServer/<siteId>/playFinished`` (``id``, ``siteId``, ``sessionId``), whatever
  happened to it.

Messages for other sites are ignored. Answers are produced from the service's terminal
events (``finished``), or right away when a message is refused.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import soundfile

from daemon.audio.player import resample
from daemon.engines.base import Audio
from daemon.integrations import Link
from daemon.mqtt_link import RawMessage
from daemon.request import MAX_ID_CHARS, Priority, Rejected, SayRequest, new_id
from daemon.service import VoiceService
from daemon.settings import HermesSettings

log = logging.getLogger(__name__)

SAY_TOPIC: Final = "hermes/tts/say"
SAY_FINISHED_TOPIC: Final = "hermes/tts/sayFinished"
ERROR_TOPIC: Final = "hermes/error/tts"
_PLAY_BYTES: Final = re.compile(r"^hermes/audioServer/([^/]+)/playBytes/([^/]+)$")


def play_bytes_filter(site_id: str) -> str:
    return f"hermes/audioServer/{site_id}/playBytes/+"


def play_finished_topic(site_id: str) -> str:
    return f"hermes/audioServer/{site_id}/playFinished"


class HermesError(Exception):
    """A Hermes message that cannot be served; the message goes to ``hermes/error/tts``."""


@dataclass(frozen=True)
class Pending:
    """What to answer when a request queued for Hermes ends."""

    kind: str
    """say or play."""
    hermes_id: str | None
    site_id: str
    session_id: str | None


def decode_wav(payload: bytes, rate: int, max_seconds: float) -> Audio:
    """A WAV payload as mono float32 at ``rate``; HermesError if unusable."""
    try:
        data, file_rate = soundfile.read(io.BytesIO(payload), dtype="float32", always_2d=True)
    except (RuntimeError, soundfile.LibsndfileError, ValueError) as error:
        raise HermesError(f"playBytes payload is not a readable WAV file: {error}") from None
    if data.shape[0] == 0:
        raise HermesError("playBytes WAV holds no audio")
    if data.shape[0] / file_rate > max_seconds:
        raise HermesError(
            f"playBytes WAV is {data.shape[0] / file_rate:.0f} s long; "
            f"the limit is {max_seconds:g} s (hermes.max_audio_s)"
        )
    mono = np.asarray(data.mean(axis=1), dtype=np.float32)
    if not np.all(np.isfinite(mono)):
        raise HermesError("playBytes WAV holds NaN or infinite samples")
    return np.clip(resample(mono, int(file_rate), rate), -1.0, 1.0).astype(np.float32)


def _optional_str(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise HermesError(f"{key}: must be a string, got {value!r}")
    return value


class HermesBridge:
    """Serves Hermes TTS and audio-server messages for the configured sites."""

    def __init__(
        self,
        settings: HermesSettings,
        link: Link,
        service: VoiceService,
        *,
        sample_rate: int,
        max_text_chars: int,
        priority: Priority,
    ) -> None:
        self._settings = settings
        self._link = link
        self._service = service
        self._rate = sample_rate
        self._max_text_chars = max_text_chars
        self._priority = priority
        self._sites = frozenset(settings.site_ids)
        #: Our request id -> what to answer when it ends.
        self._pending: dict[str, Pending] = {}
        self._decoding = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    def install(self) -> None:
        """Subscribe and listen (on the event loop); nothing when disabled."""
        if not self._settings.enabled:
            return
        self._link.add_route(SAY_TOPIC, self._on_say)
        if self._settings.audio_server:
            for site_id in sorted(self._sites):
                self._link.add_route(play_bytes_filter(site_id), self._on_play_bytes)
        self._service.add_listener(self._on_event)
        log.info("[-] Hermes: serving site(s) %s", ", ".join(sorted(self._sites)))

    # ---- tts -----------------------------------------------------------------------------

    def _on_say(self, message: RawMessage) -> None:
        if message.retained:
            log.warning("[-] Hermes: ignoring a retained hermes/tts/say")
            return
        try:
            data = json.loads(message.payload)
        except (ValueError, RecursionError):
            log.warning("[-] Hermes: hermes/tts/say is not JSON; ignored")
            return
        if not isinstance(data, dict):
            log.warning("[-] Hermes: hermes/tts/say is not a JSON object; ignored")
            return
        site_id = data.get("siteId", "default")
        if not isinstance(site_id, str) or site_id not in self._sites:
            log.debug("[-] Hermes: say for site %r is not ours; ignored", site_id)
            return
        hermes_id = data.get("id") if isinstance(data.get("id"), str) else None
        session_id = data.get("sessionId") if isinstance(data.get("sessionId"), str) else None
        pending = Pending("say", hermes_id, site_id, session_id)
        try:
            request = self._say_request(data)
        except HermesError as error:
            self._answer(pending, str(error), "-")
            return
        self._queue(request, pending)

    def _say_request(self, data: dict[str, Any]) -> SayRequest:
        text = data.get("text")
        if not isinstance(text, str) or not text.strip():
            raise HermesError("text: required, a non-empty string")
        if len(text) > self._max_text_chars:
            raise HermesError(f"text: {len(text)} characters, the limit is {self._max_text_chars}")
        lang = _optional_str(data, "lang")
        if lang and not lang.lower().startswith(("zh", "cmn")):
            log.info("[-] Hermes: lang %s asked; this voice speaks Chinese", lang)
        volume = data.get("volume")
        if volume is not None and (
            isinstance(volume, bool) or not isinstance(volume, int | float) or not 0 <= volume <= 1
        ):
            raise HermesError(f"volume: must be a number 0-1, got {volume!r}")
        emotion = _optional_str(data, "emotion")
        return SayRequest(
            id=self._request_id(data.get("id")),
            text=text,
            emotion=emotion.strip() if emotion and emotion.strip() else None,
            volume=1.0 if volume is None else float(volume),
            priority=self._priority,
        )

    @staticmethod
    def _request_id(hermes_id: object) -> str:
        """Hermes ids are reused as ours when they fit; else a fresh one is made."""
        if (
            isinstance(hermes_id, str)
            and 0 < len(hermes_id) <= MAX_ID_CHARS
            and hermes_id.isprintable()
        ):
            return hermes_id
        return new_id()

    # ---- audio server --------------------------------------------------------------------

    def _on_play_bytes(self, message: RawMessage) -> None:
        match = _PLAY_BYTES.match(message.topic)
        if match is None or message.retained:
            return
        site_id, hermes_id = match.groups()
        task = asyncio.create_task(self._play_bytes(site_id, hermes_id, message.payload))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _play_bytes(self, site_id: str, hermes_id: str, payload: bytes) -> None:
        """Decode off the loop (a long clip takes a while to resample), one clip at a time so
        clips are queued in the order they arrived."""
        pending = Pending("play", hermes_id, site_id, None)
        async with self._decoding:
            try:
                clip = await asyncio.to_thread(
                    decode_wav, payload, self._rate, self._settings.max_audio_s
                )
            except HermesError as error:
                self._answer(pending, str(error), hermes_id)
                return
            except Exception as error:
                log.exception("[%s] Hermes playBytes could not be decoded", hermes_id)
                self._answer(pending, f"internal_error: {type(error).__name__}", hermes_id)
                return
        request = SayRequest(
            id=self._request_id(hermes_id),
            text="",
            audio=clip,
            priority=self._priority,
        )
        self._queue(request, pending)

    # ---- common --------------------------------------------------------------------------

    def _queue(self, request: SayRequest, pending: Pending) -> None:
        if request.id in self._pending:
            self._answer(pending, f"duplicate: request {request.id} is already queued", request.id)
            return
        self._pending[request.id] = pending
        try:
            self._service.accept(request)
        except Rejected as rejected:
            self._pending.pop(request.id, None)
            log.warning("[%s] Hermes %s refused: %s", request.id, pending.kind, rejected)
            self._answer(pending, f"{rejected.code}: {rejected.message}", request.id)
        except Exception:
            self._pending.pop(request.id, None)
            log.exception("[%s] Hermes %s could not be queued", request.id, pending.kind)
            self._answer(pending, "internal_error", request.id)

    def _on_event(self, event: dict[str, Any]) -> None:
        """A terminal event of one of our requests: answer it."""
        if event.get("event") != "finished":
            return
        pending = self._pending.pop(str(event.get("id")), None)
        if pending is None:
            return
        error = None
        if event.get("result") != "completed":
            failure = event.get("error") or {}
            error = f"{event.get('result')}: {failure.get('code')}: {failure.get('message')}"
        self._answer(pending, error, str(event.get("id")))

    def _answer(self, pending: Pending, error: str | None, request_id: str) -> None:
        """The Hermes answer: the error first when there is one, then the finished message."""
        if pending.kind == "play":
            if error:
                log.warning("[%s] Hermes playBytes: %s", request_id, error)
            self._publish(
                play_finished_topic(pending.site_id),
                {"id": pending.hermes_id, "siteId": pending.site_id, "sessionId": None},
            )
            return
        if error:
            log.warning("[%s] Hermes say: %s", request_id, error)
            self._publish(
                ERROR_TOPIC,
                {
                    "error": error,
                    "siteId": pending.site_id,
                    "context": pending.hermes_id,
                    "sessionId": pending.session_id,
                },
            )
        self._publish(
            SAY_FINISHED_TOPIC,
            {"id": pending.hermes_id, "siteId": pending.site_id, "sessionId": pending.session_id},
        )

    def _publish(self, topic: str, payload: dict[str, Any]) -> None:
        self._link.publish(topic, json.dumps(payload, ensure_ascii=False), qos=1)
