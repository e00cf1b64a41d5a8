"""Tooling topics in the Zigbee2MQTT style: ``<base>/<node>/request/<cmd>`` is answered on
``<base>/<node>/response/<cmd>`` with ``status`` (``ok`` or ``error``), ``data`` and, when
the request had one, its ``transaction`` echoed back.

Commands: ``voices`` (engines, voices and their emotions), ``health``, ``cache/clear`` (the
phrase cache) and ``config`` (the resolved settings, secrets redacted).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, Final, Protocol, get_args, get_type_hints

from pydantic import TypeAdapter

from daemon.engines.base import Engine
from daemon.integrations import Link
from daemon.mqtt_link import RawMessage
from daemon.service import VoiceService
from daemon.settings import EngineSettings, Settings

log = logging.getLogger(__name__)

#: Option names whose values are secret or point at secrets (keys, passwords, tokens).
SECRET_NAME: Final = re.compile(r"pass|secret|token|credential|(^|_)key($|_)", re.IGNORECASE)
REDACTED: Final = "<redacted>"


class PhraseCache(Protocol):
    """The phrase cache as the tooling sees it (:mod:`daemon.phrase_cache`)."""

    async def clear(self) -> int:
        """Drop every cached phrase (off the event loop); returns how many were dropped."""
        ...


class CommandError(Exception):
    """A tooling request that cannot be answered with data; the message is for people."""


def redact(value: Any) -> Any:
    """A copy of a settings tree with the values of secret-looking options replaced."""
    if isinstance(value, dict):
        return {
            key: REDACTED
            if SECRET_NAME.search(str(key)) and item not in (None, "", [], {})
            else redact(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value


def engine_names() -> list[str]:
    """The engines this build knows (engine.name's allowed values)."""
    return [str(name) for name in get_args(get_type_hints(EngineSettings)["name"])]


class ToolingTopics:
    """Answers ``request/<cmd>`` messages on ``response/<cmd>``."""

    def __init__(
        self,
        settings: Settings,
        link: Link,
        service: VoiceService,
        engine: Engine,
        cache: PhraseCache | None,
    ) -> None:
        self._settings = settings
        self._link = link
        self._service = service
        self._engine = engine
        self._cache = cache
        topics = link.topics
        self._request_prefix = f"{topics.base}/{topics.node}/request/"
        self._response_prefix = f"{topics.base}/{topics.node}/response/"
        self._tasks: set[asyncio.Task[None]] = set()
        self._commands: dict[str, Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]] = {
            "voices": self._voices,
            "health": self._health,
            "cache/clear": self._cache_clear,
            "config": self._config,
        }

    def install(self) -> None:
        """Subscribe to this node's request topics (on the event loop)."""
        self._link.add_route(f"{self._request_prefix}#", self._on_request)

    def _on_request(self, message: RawMessage) -> None:
        command = message.topic.removeprefix(self._request_prefix)
        if message.retained:
            log.warning("[-] ignoring a retained tooling request %s", command)
            return
        task = asyncio.create_task(self._answer(command, message.payload))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, command: str, payload: bytes) -> None:
        response: dict[str, Any] = {"data": {}, "status": "ok"}
        transaction: Any = None
        try:
            params = self._params(payload)
            transaction = params.get("transaction")
            handler = self._commands.get(command)
            if handler is None:
                raise CommandError(
                    f"unknown command {command!r}; known: {', '.join(sorted(self._commands))}"
                )
            response["data"] = await handler(params)
            log.info("[-] tooling request %s answered", command)
        except CommandError as error:
            response.update(status="error", error=str(error))
            log.warning("[-] tooling request %s: %s", command, error)
        except Exception as error:
            response.update(status="error", error=f"internal error: {type(error).__name__}")
            log.exception("[-] tooling request %s failed", command)
        if transaction is not None:
            response["transaction"] = transaction
        self._link.publish(
            f"{self._response_prefix}{command}", json.dumps(response, ensure_ascii=False), qos=1
        )

    @staticmethod
    def _params(payload: bytes) -> dict[str, Any]:
        """An empty payload, or a JSON object (its ``transaction`` is echoed)."""
        if not payload.strip():
            return {}
        try:
            data = json.loads(payload)
        except (ValueError, RecursionError):
            raise CommandError("the payload must be empty or a JSON object") from None
        if not isinstance(data, dict):
            raise CommandError("the payload must be empty or a JSON object")
        return data

    # ---- commands ------------------------------------------------------------------------

    async def _voices(self, params: dict[str, Any]) -> dict[str, Any]:
        del params
        if not self._service.ready.is_set():
            raise CommandError("the engine is still loading; ask again when state.ready is true")
        state = self._service.state()
        return {
            "engine": self._engine.name,
            "engines": engine_names(),
            "voices": [
                {"name": voice, "emotions": list(self._engine.emotions(voice))}
                for voice in self._engine.voices()
            ],
            "default_voice": state["voice"],
            "default_emotion": state["emotion"],
        }

    async def _health(self, params: dict[str, Any]) -> dict[str, Any]:
        del params
        state = self._service.state()
        problem = self._service.health_problem()
        return {
            "healthy": problem is None and bool(state["ready"]),
            "problem": problem,
            "ready": state["ready"],
            "state": state["state"],
            "queue": state["queue"],
            "engine": state["engine"],
            "last_error": state["last_error"],
            "version": state["version"],
            "uptime_s": state["uptime_s"],
        }

    async def _cache_clear(self, params: dict[str, Any]) -> dict[str, Any]:
        del params
        if self._cache is None:
            raise CommandError("this daemon has no phrase cache")
        cleared = await self._cache.clear()
        log.info("[-] phrase cache cleared: %d entr%s", cleared, "y" if cleared == 1 else "ies")
        return {"cleared": cleared}

    async def _config(self, params: dict[str, Any]) -> dict[str, Any]:
        del params
        data = TypeAdapter(Settings).dump_python(self._settings, mode="json")
        data["mqtt"]["node_id"] = self._settings.node_id
        resolved: dict[str, Any] = redact(data)
        return resolved
