"""The HTTP API's handlers: each parses with the MQTT parsers and calls the same service.

No handler blocks the event loop: synthesis goes through the service's synthesis pool, the
text frontend runs in a worker thread, and waiting for a request's end awaits its events.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
from pathlib import Path
from typing import Any, Final

from aiohttp import web

from daemon import __version__
from daemon.engines.base import Engine
from daemon.http.bodies import only_text, read_payload
from daemon.http.hub import EventHub
from daemon.http.openapi import MAX_WAIT_S, build_spec
from daemon.http.render import Renderer
from daemon.http.responses import dumps, json_response
from daemon.request import Rejected, SayRequest, parse_say, parse_stop
from daemon.service import VoiceService
from daemon.settings import Settings
from daemon.text import describe, normalize

log = logging.getLogger(__name__)

STATIC: Final = Path(__file__).resolve().parent / "static"
#: A comment line this often keeps proxies and browsers from closing an idle live stream.
KEEPALIVE_S: Final = 15.0
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


def _wait_s(request: web.Request) -> float:
    """The ``?wait=`` seconds (0 when absent); a bad value is rejected, never clamped."""
    raw = request.query.get("wait")
    if raw is None:
        return 0.0
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0 <= value <= MAX_WAIT_S):
        raise Rejected("invalid_field", f"wait: must be 0-{MAX_WAIT_S} seconds, got {raw!r}")
    return value


def _reading(text: str) -> dict[str, Any]:
    """``voice-daemon text --json`` for ``text``, plus what cannot be read aloud."""
    return {**describe(text), "dropped": normalize(text).dropped}


class Api:
    """The handlers, bound to one service."""

    def __init__(
        self,
        settings: Settings,
        service: VoiceService,
        engine: Engine,
        hub: EventHub,
        renderer: Renderer,
        *,
        token: bool,
    ) -> None:
        self._settings = settings
        self._service = service
        self._engine = engine
        self._hub = hub
        self._renderer = renderer
        self._token = token
        self._limit = settings.mqtt.max_payload_bytes

    def add_to(self, app: web.Application) -> None:
        router = app.router
        router.add_get("/", self.page)
        router.add_get("/healthz", self.health)
        router.add_post("/api/say", self.say)
        router.add_get("/api/requests/{id}", self.request_events)
        router.add_post("/api/stop", self.stop)
        router.add_get("/api/state", self.state)
        router.add_get("/api/voices", self.voices)
        router.add_post("/api/synth", self.synth)
        router.add_post("/api/text", self.text)
        router.add_get("/api/events", self.events)
        router.add_get("/api/openapi.json", self.openapi)
        router.add_static("/static/", STATIC, append_version=False)

    # ---- parsing ------------------------------------------------------------------------

    async def _say_request(self, request: web.Request) -> SayRequest:
        payload = await read_payload(request, self._limit)
        return parse_say(
            payload,
            max_text_chars=self._settings.queue.max_text_chars,
            default_priority=self._settings.queue.default_priority,
        )

    def _require_ready(self, request_id: str | None = None) -> None:
        if not self._service.ready.is_set():
            raise Rejected("not_ready", "the engine is still loading; try again soon", request_id)

    # ---- handlers -----------------------------------------------------------------------

    async def page(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    async def health(self, request: web.Request) -> web.Response:
        return json_response({"status": "ok", "ready": self._service.ready.is_set()})

    async def say(self, request: web.Request) -> web.Response:
        wait_s = _wait_s(request)
        say = await self._say_request(request)
        self._service.accept(say)
        log.info("[%s] accepted over HTTP from %s", say.id, request.remote or "?")
        events = await self._hub.wait_done(say.id, wait_s) or []
        return json_response(
            {"id": say.id, "done": self._hub.is_done(events), "events": events}, status=202
        )

    async def request_events(self, request: web.Request) -> web.Response:
        request_id = request.match_info["id"]
        events = await self._hub.wait_done(request_id, _wait_s(request))
        if events is None:
            raise Rejected("unknown_id", f"no recent request {request_id}", request_id)
        return json_response(
            {"id": request_id, "done": self._hub.is_done(events), "events": events}
        )

    async def stop(self, request: web.Request) -> web.Response:
        command = parse_stop(await read_payload(request, self._limit))
        self._service.stop(command)
        return json_response({"ok": True})

    async def state(self, request: web.Request) -> web.Response:
        return json_response(self._service.state())

    async def voices(self, request: web.Request) -> web.Response:
        self._require_ready()
        state = self._service.state()
        voices = [
            {"name": voice, "emotions": self._engine.emotions(voice)}
            for voice in self._engine.voices()
        ]
        return json_response(
            {
                "engine": self._engine.name,
                "voice": state["voice"],
                "emotion": state["emotion"],
                "voices": voices,
            }
        )

    async def synth(self, request: web.Request) -> web.Response:
        say = await self._say_request(request)
        self._require_ready(say.id)
        voice, emotion = self._service.resolve(say)
        wav = await self._renderer.render(say, voice, emotion)
        filename = _UNSAFE_FILENAME.sub("_", say.id) or "speech"
        return web.Response(
            body=wav,
            content_type="audio/wav",
            headers={"Content-Disposition": f'attachment; filename="{filename}.wav"'},
        )

    async def text(self, request: web.Request) -> web.Response:
        payload = await read_payload(request, self._limit)
        say = parse_say(payload, max_text_chars=self._settings.queue.max_text_chars)
        only_text(payload)
        return json_response(await asyncio.to_thread(_reading, say.text))

    async def openapi(self, request: web.Request) -> web.Response:
        voices = emotions = None
        if self._service.ready.is_set():
            voices = self._engine.voices()
            # Every voice's emotions, in the engine's order.
            emotions = list(dict.fromkeys(e for v in voices for e in self._engine.emotions(v)))
        spec = build_spec(
            version=__version__,
            max_text_chars=self._settings.queue.max_text_chars,
            max_body_bytes=self._limit,
            token=self._token,
            voices=voices,
            emotions=emotions,
        )
        return json_response(spec)

    async def events(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream; charset=utf-8",
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        stream = self._hub.open_stream()
        log.debug("[-] live stream opened by %s", request.remote or "?")
        try:
            await _send(response, "state", self._service.state())
            while True:
                try:
                    item = await asyncio.wait_for(stream.next(), KEEPALIVE_S)
                except TimeoutError:
                    await response.write(b": keep-alive\n\n")
                    continue
                if item is None:
                    break
                await _send(response, item.kind, item.data)
        except (ConnectionError, RuntimeError):
            pass  # the page went away (RuntimeError: aiohttp's "connection closed")
        finally:
            self._hub.close_stream(stream)
            log.debug("[-] live stream closed")
        return response


async def _send(response: web.StreamResponse, kind: str, data: dict[str, Any]) -> None:
    await response.write(f"event: {kind}\ndata: {dumps(data)}\n\n".encode())
