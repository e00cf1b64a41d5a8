"""The aiohttp application in process, on a real VoiceService with the tone engine: routes
match the OpenAPI description, every failure is JSON, readiness and shutdown are reported."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import soundfile
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from daemon.audio.player import Player
from daemon.engines.base import Audio
from daemon.engines.tone import ToneEngine
from daemon.events import ReplyTo
from daemon.http.hub import EventHub
from daemon.http.server import build_app
from daemon.service import VoiceService
from daemon.settings import settings_from_dict

pytestmark = pytest.mark.asyncio


class SilentOutput:
    """Takes the samples and plays them instantly."""

    rate = 16000

    def begin(self) -> None:
        pass

    def write(self, block: Audio) -> None:
        pass

    def end(self, *, discard: bool) -> None:
        pass

    def close(self) -> None:
        pass


class NoPublisher:
    def event(self, event: dict[str, Any], reply_to: ReplyTo | None) -> None:
        pass

    def state(self, state: dict[str, Any]) -> None:
        pass


@dataclass
class App:
    service: VoiceService
    hub: EventHub
    client: TestClient[web.Request, web.Application]
    app: web.Application


@pytest.fixture
async def app() -> AsyncIterator[App]:
    settings = settings_from_dict(
        {
            "engine": {"name": "tone"},
            "mqtt": {"max_payload_bytes": 512},
            "queue": {"persist": False},
            "http": {"enabled": True},
        }
    )
    engine = ToneEngine(seconds_per_char=0.01)
    player = Player(
        SilentOutput(),
        source_rate=engine.sample_rate,
        block_ms=20,
        trailing_silence_ms=0,
        volume=1.0,
        muted=False,
    )
    service = VoiceService(settings, engine, player, NoPublisher())
    hub = EventHub(keep=100)
    service.add_listener(hub.on_event)
    service.add_state_listener(hub.on_state)
    application = build_app(settings, service, engine, hub, token=None)

    async def boom(request: web.Request) -> web.Response:
        raise RuntimeError("kaput")

    application.router.add_get("/api/boom", boom)
    runner = asyncio.create_task(service.run())
    async with TestClient(TestServer(application)) as client:
        yield App(service, hub, client, application)
    await service.shutdown()
    runner.cancel()
    player.close()


async def test_every_route_is_described_and_every_description_routed(app: App) -> None:
    await app.service.load_engine()
    spec = await (await app.client.get("/api/openapi.json")).json()
    described = {(method.upper(), path) for path, item in spec["paths"].items() for method in item}
    routed = {
        (route.method, route.resource.canonical)
        for route in app.app.router.routes()
        if route.resource is not None
        and route.method != "HEAD"
        and route.resource.canonical not in {"/", "/static", "/api/boom"}
    }
    assert routed == described


async def test_before_the_engine_is_ready(app: App) -> None:
    health = await (await app.client.get("/healthz")).json()
    assert health == {"status": "ok", "ready": False}
    for method, path in (("GET", "/api/voices"), ("POST", "/api/synth")):
        answer = await app.client.request(method, path, json={"text": "你好"})
        assert answer.status == 503
        assert (await answer.json())["error"]["code"] == "not_ready"
    spec = await (await app.client.get("/api/openapi.json")).json()
    assert "enum" not in spec["components"]["schemas"]["Say"]["properties"]["voice"]
    said = await app.client.post("/api/say", json={"text": "你好", "id": "early"})
    assert said.status == 202  # accepted; it waits for the engine, as on MQTT
    await app.service.load_engine()
    done = await (await app.client.get("/api/requests/early?wait=10")).json()
    assert done["events"][-1]["result"] == "completed"
    assert app.hub.state is not None and app.hub.state["ready"] is True


async def test_synth_is_the_request_volume_scaled_tone(app: App) -> None:
    await app.service.load_engine()
    answer = await app.client.post(
        "/api/synth", data={"text": "你好", "emotion": "happy", "volume": "0.5"}
    )
    assert answer.status == 200
    samples, rate = soundfile.read(io.BytesIO(await answer.read()), dtype="float32")
    expected = ToneEngine(seconds_per_char=0.01).synthesize(
        "你好", voice="beep", emotion="happy", speed=1.0
    )
    assert rate == 16000
    assert np.max(np.abs(samples - expected * 0.5)) < 1e-4


async def test_failures_are_json(app: App) -> None:
    boom = await app.client.get("/api/boom")
    assert boom.status == 500
    assert await boom.json() == {
        "id": None,
        "error": {"code": "internal_error", "message": "RuntimeError: kaput"},
    }
    missing = await app.client.get("/nowhere")
    assert (missing.status, (await missing.json())["error"]["code"]) == (404, "not_found")
    large = await app.client.post("/api/say", data=b"x" * 513)
    assert (large.status, (await large.json())["error"]["code"]) == (413, "payload_too_large")
    assert (await app.client.post("/api/say", data=b"x" * 512)).status == 202


async def test_after_shutdown_requests_are_refused(app: App) -> None:
    await app.service.load_engine()
    await app.service.shutdown()
    answer = await app.client.post("/api/say", json={"text": "你好"})
    assert (answer.status, (await answer.json())["error"]["code"]) == (503, "shutting_down")


async def test_closing_the_hub_ends_live_streams(app: App) -> None:
    response = await app.client.get("/api/events")
    assert response.headers["Content-Type"].startswith("text/event-stream")
    first = await response.content.readuntil(b"\n\n")
    assert first.startswith(b"event: state\ndata: {")
    app.hub.close()
    assert await asyncio.wait_for(response.content.read(), 5) == b""
