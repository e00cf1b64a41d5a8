"""Home Assistant discovery payloads against HA's schema, and when they are published."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
import voluptuous as vol

from daemon.engines.tone import ToneEngine
from daemon.integrations.homeassistant import (
    DeviceInfo,
    HomeAssistantDiscovery,
    discovery_payload,
    object_id,
)
from daemon.mqtt_link import RawMessage, Topics
from daemon.settings import HomeAssistantSettings
from tests.homeassistant_schema import components, render


def info(node: str = "hall", voices: list[str] | None = None) -> DeviceInfo:
    return DeviceInfo(
        node=node,
        topics=Topics("voice", node),
        device_name=f"voice {node}",
        engine="sambert",
        voices=voices or ["zhitian_emo", "zhiyan_emo"],
        emotions=["neutral", "happy", "angry"],
    )


def check(payload: dict[str, Any], node: str = "hall") -> dict[str, dict[str, Any]]:
    return components(
        f"homeassistant/device/{object_id(node)}/config", json.dumps(payload).encode()
    )


def test_payload_passes_every_platform_schema() -> None:
    entities = check(discovery_payload(info()))
    assert entities["say"]["command_topic"] == "voice/hall/say"
    assert entities["announce"]["max"] == 255
    assert entities["voice"]["options"] == ["zhitian_emo", "zhiyan_emo"]
    assert entities["say"]["default_entity_id"] == "notify.voice_hall_say"
    assert all(e["availability_topic"] == "voice/hall/availability" for e in entities.values())
    assert all(e["unique_id"].startswith("voice_daemon_hall_") for e in entities.values())


def test_node_ids_are_made_safe_for_discovery_topics() -> None:
    assert object_id("hall.kitchen-1") == "hall_kitchen-1"
    entities = check(discovery_payload(info("Hall.Kitchen-1")), "Hall.Kitchen-1")
    assert entities["mute"]["default_entity_id"] == "switch.voice_hall_kitchen_1_mute"


@pytest.mark.parametrize(
    ("component", "change"),
    [
        ("say", {"command_topic": None}),  # notify needs a command topic
        ("voice", {"options": []}),  # a select needs options
        ("volume", {"min": 100}),  # min must be below max
        ("announce", {"max": 1000}),  # HA keeps text to 255 characters
        ("state", {"state_topic": None}),  # a sensor needs a state topic
        ("mute", {"payload_onn": "x"}),  # a misspelt option
        ("emotion", {"command_template": "{{ value "}),  # a broken template
    ],
)
def test_the_schema_check_catches_mistakes(component: str, change: dict[str, Any]) -> None:
    payload = discovery_payload(info())
    config = payload["cmps"][component]
    for key, value in change.items():
        if value is None:
            config.pop(key)
        else:
            config[key] = value
    with pytest.raises(vol.Invalid):
        check(payload)


def test_a_device_needs_an_origin_and_identifiers() -> None:
    payload = discovery_payload(info())
    del payload["o"]
    with pytest.raises(vol.Invalid):
        check(payload)
    payload = discovery_payload(info())
    payload["dev"]["ids"] = []
    with pytest.raises(vol.Invalid):
        check(payload)


def test_templates_map_daemon_state_and_commands() -> None:
    entities = check(discovery_payload(info()))
    assert json.loads(render(entities["volume"]["command_template"], value=45)) == {"volume": 0.45}
    state = json.dumps({"volume": 0.45, "muted": True, "emotion": "happy", "last_error": "x" * 400})
    assert float(render(entities["volume"]["value_template"], payload=state)) == 45
    assert render(entities["mute"]["value_template"], payload=state) == "ON"
    assert json.loads(render(entities["emotion"]["command_template"], value='a"b')) == {
        "emotion": 'a"b'
    }
    assert len(render(entities["last_error"]["value_template"], payload=state)) <= 255
    for key in ("say", "announce"):  # any message, even one that looks like JSON
        sent = render(entities[key]["command_template"], value='[注意] {"x": 1} <门>')
        assert json.loads(sent) == {"text": '[注意] {"x": 1} <门>'}


class FakeLink:
    def __init__(self) -> None:
        self.topics = Topics("voice", "hall")
        self.routes: dict[str, Callable[[RawMessage], None]] = {}
        self.connected: list[Callable[[], None]] = []
        self.published: list[tuple[str, bytes | str, bool]] = []

    def add_route(self, topic_filter: str, handler: Callable[[RawMessage], None]) -> None:
        self.routes[topic_filter] = handler

    def add_on_connected(self, callback: Callable[[], None]) -> None:
        self.connected.append(callback)

    def publish(self, topic: str, payload: str | bytes, *, qos: int = 1, retain: bool = False):  # type: ignore[no-untyped-def]
        self.published.append((topic, payload, retain))


class FakeService:
    def __init__(self) -> None:
        self.ready = asyncio.Event()
        self.voice = "beep"
        self.listeners: list[Callable[[dict[str, Any]], None]] = []

    def state(self) -> dict[str, Any]:
        return {"voice": self.voice, "emotion": "neutral"}

    def add_state_listener(self, listener: Callable[[dict[str, Any]], None]) -> None:
        self.listeners.append(listener)


async def test_published_when_ready_on_connect_birth_and_voice_change() -> None:
    link, service = FakeLink(), FakeService()
    discovery = HomeAssistantDiscovery(
        HomeAssistantSettings(),
        "hall",
        link,
        service,
        ToneEngine(),  # type: ignore[arg-type]
    )
    discovery.install()
    link.connected[0]()  # connected before the engine is ready: nothing yet
    assert link.published == []
    service.ready.set()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert [(t, r) for t, _, r in link.published] == [("homeassistant/device/hall/config", True)]
    service.listeners[0]({})  # a state change that changes nothing: not published again
    assert len(link.published) == 1
    link.routes["homeassistant/status"](RawMessage("homeassistant/status", b"offline", False))
    assert len(link.published) == 1
    link.routes["homeassistant/status"](RawMessage("homeassistant/status", b"online", False))
    assert len(link.published) == 2
    link.connected[0]()
    assert len(link.published) == 3


def test_switched_off_it_removes_the_device() -> None:
    link, service = FakeLink(), FakeService()
    discovery = HomeAssistantDiscovery(
        HomeAssistantSettings(enabled=False),
        "hall",
        link,
        service,  # type: ignore[arg-type]
        ToneEngine(),
    )
    discovery.install()
    assert link.routes == {}
    link.connected[0]()
    assert link.published == [("homeassistant/device/hall/config", b"", True)]


class TwoVoices(ToneEngine):
    def voices(self) -> list[str]:
        return ["plain", "emo"]

    def emotions(self, voice: str) -> list[str]:
        return ["neutral", "happy", "sad"] if voice == "emo" else ["neutral"]


async def test_a_new_default_voice_republishes_its_emotions() -> None:
    link, service = FakeLink(), FakeService()
    service.voice = "plain"
    service.ready.set()
    HomeAssistantDiscovery(
        HomeAssistantSettings(),
        "hall",
        link,
        service,
        TwoVoices(),  # type: ignore[arg-type]
    ).install()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    first = check(json.loads(link.published[-1][1]))
    assert first["emotion"]["options"] == ["neutral"]
    service.voice = "emo"
    service.listeners[0]({"voice": "emo"})
    assert len(link.published) == 2
    assert check(json.loads(link.published[-1][1]))["emotion"]["options"] == [
        "neutral",
        "happy",
        "sad",
    ]
