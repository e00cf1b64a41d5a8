"""Tooling topics: request/response shape, redaction of secrets, the phrase cache door."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from pydantic import TypeAdapter

from daemon.engines.tone import ToneEngine
from daemon.integrations.tooling import REDACTED, ToolingTopics, engine_names, redact
from daemon.mqtt_link import RawMessage, Topics
from daemon.settings import Settings


def test_secret_looking_options_are_redacted_and_nothing_else() -> None:
    settings = Settings(
        mqtt={"username": "ha", "password_file": "/run/pw", "tls": {"key_file": "/k.pem"}},
        http={"token_env": "TOKEN"},
    )
    data = redact(TypeAdapter(Settings).dump_python(settings, mode="json"))
    assert data["mqtt"]["password_file"] == REDACTED
    assert data["mqtt"]["tls"]["key_file"] == REDACTED
    assert data["http"]["token_env"] == REDACTED
    assert data["mqtt"]["username"] == "ha"
    assert data["mqtt"]["password_env"] is None  # unset stays visibly unset
    assert data["mqtt"]["keepalive_s"] == 30  # "key" only as a whole word
    assert data["engine"]["name"] == "fastspeech2"


def test_engine_names_come_from_the_settings() -> None:
    assert {"fastspeech2", "sambert", "tone"} <= set(engine_names())


class FakeLink:
    def __init__(self) -> None:
        self.topics = Topics("voice", "hall")
        self.routes: dict[str, Callable[[RawMessage], None]] = {}
        self.published: list[tuple[str, Any]] = []

    def add_route(self, topic_filter: str, handler: Callable[[RawMessage], None]) -> None:
        self.routes[topic_filter] = handler

    def add_on_connected(self, callback: Callable[[], None]) -> None:
        del callback

    def publish(self, topic: str, payload: str | bytes, *, qos: int = 1, retain: bool = False):  # type: ignore[no-untyped-def]
        assert not retain
        self.published.append((topic, json.loads(payload)))


class FakeCache:
    def __init__(self) -> None:
        self.cleared = 0

    async def clear(self) -> int:
        self.cleared += 1
        return 7


class FakeService:
    ready = asyncio.Event()

    def state(self) -> dict[str, Any]:
        return {"voice": "beep", "emotion": "neutral", "ready": True}


async def ask(link: FakeLink, command: str, payload: bytes) -> dict[str, Any]:
    link.routes["voice/hall/request/#"](RawMessage(f"voice/hall/request/{command}", payload, False))
    for _ in range(100):
        await asyncio.sleep(0)
        if link.published:
            topic, response = link.published.pop()
            assert topic == f"voice/hall/response/{command}"
            return response  # type: ignore[no-any-return]
    raise AssertionError("no response")


async def test_cache_clear_calls_the_cache_and_echoes_the_transaction() -> None:
    link, cache = FakeLink(), FakeCache()
    tooling = ToolingTopics(Settings(), link, FakeService(), ToneEngine(), cache)  # type: ignore[arg-type]
    tooling.install()
    response = await ask(link, "cache/clear", b'{"transaction": "t-1"}')
    assert response == {"data": {"cleared": 7}, "status": "ok", "transaction": "t-1"}
    assert cache.cleared == 1


async def test_errors_are_answered_not_raised() -> None:
    link = FakeLink()
    ToolingTopics(Settings(), link, FakeService(), ToneEngine(), None).install()  # type: ignore[arg-type]
    response = await ask(link, "cache/clear", b"")
    assert response["status"] == "error" and "no phrase cache" in response["error"]
    assert "transaction" not in response
    response = await ask(link, "reboot", b'{"transaction": 5}')
    assert response["status"] == "error" and "voices" in response["error"]
    assert response["transaction"] == 5
    response = await ask(link, "voices", b"[1, 2]")
    assert response["status"] == "error" and "JSON object" in response["error"]
    FakeService.ready.clear()
    response = await ask(link, "voices", b"")
    assert response["status"] == "error" and "loading" in response["error"]
