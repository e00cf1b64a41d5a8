"""Home Assistant MQTT discovery: the daemon appears as one device with its entities.

One retained device-based discovery message (``<prefix>/device/<node>/config``, with the
``dev`` device block, the ``o`` origin block and the ``cmps`` components) describes:

- ``notify``: HA's notify entity; its command topic is the node's ``say`` topic (the
  message goes as ``{"text": message}``, so any text is spoken as it is);
- ``text``: type a sentence in HA's UI and it is spoken (no JSON needed);
- ``button``: stop what is playing and clear the queue;
- ``number``: master volume in percent; ``switch``: mute;
- two ``select``s: the default emotion and voice (options from the engine);
- ``sensor``s: state, queue length and the last error.

Every entity drives the daemon's public topics (``say``, ``stop``, ``set``) and reads the
retained ``state``, through HA's own command and value templates: no private topics. All
share the daemon's availability topic. Unique ids are derived from the node id only, so
they are stable across restarts.

The message is published once the engine is ready (the selects need its voices), again on
every (re)connection, whenever HA's birth message (``homeassistant/status`` = ``online``)
arrives, and when the default voice changes (its emotions may differ). With the feature
switched off, an empty retained message removes the device from HA.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from dataclasses import dataclass
from typing import Any, Final

from daemon import __version__
from daemon.engines.base import Engine
from daemon.integrations import Link
from daemon.mqtt_link import RawMessage, Topics
from daemon.service import VoiceService
from daemon.settings import HomeAssistantSettings

log = logging.getLogger(__name__)

ORIGIN_NAME: Final = "voice-daemon"
#: Home Assistant keeps a text entity's value to 255 characters.
TEXT_MAX: Final = 255
STATES: Final = ("idle", "synthesizing", "speaking")
#: The message as ``{"text": ...}``: plain text would do, but a message that happens to
#: start with "{" or "[" would then be read as JSON.
AS_SAY_JSON: Final = '{{ {"text": value} | tojson }}'


def object_id(node: str) -> str:
    """The node id in the characters HA allows in discovery topics ([a-zA-Z0-9_-])."""
    return re.sub(r"[^a-zA-Z0-9_-]", "_", node)


@dataclass(frozen=True)
class DeviceInfo:
    """What the discovery message is built from."""

    node: str
    topics: Topics
    device_name: str
    engine: str
    voices: list[str]
    emotions: list[str]

    @property
    def object_id(self) -> str:
        return object_id(self.node)

    def unique_id(self, key: str) -> str:
        return f"voice_daemon_{self.object_id}_{key}"

    def entity_id(self, platform: str, key: str) -> str:
        """The entity id HA should give (``default_entity_id``), e.g. notify.voice_hall_say."""
        return f"{platform}.voice_{self.object_id.lower().replace('-', '_')}_{key}"


def _component(info: DeviceInfo, platform: str, key: str, name: str, **options: Any) -> Any:
    return {
        "p": platform,
        "name": name,
        "unique_id": info.unique_id(key),
        "default_entity_id": info.entity_id(platform, key),
        **options,
    }


def discovery_payload(info: DeviceInfo) -> dict[str, Any]:
    """The device-based discovery message (HA's documented schema, abbreviated top keys)."""
    topics = info.topics
    state = topics.state
    commands = {"qos": 1}
    components = {
        "say": _component(
            info,
            "notify",
            "say",
            "Say",
            command_topic=topics.say,
            command_template=AS_SAY_JSON,
            **commands,
        ),
        "announce": _component(
            info,
            "text",
            "announce",
            "Announce",
            command_topic=topics.say,
            command_template=AS_SAY_JSON,
            max=TEXT_MAX,
            icon="mdi:bullhorn",
            **commands,
        ),
        "stop": _component(
            info,
            "button",
            "stop",
            "Stop",
            command_topic=topics.stop,
            payload_press=json.dumps({"all": True}),
            icon="mdi:stop",
            **commands,
        ),
        "volume": _component(
            info,
            "number",
            "volume",
            "Volume",
            command_topic=topics.set,
            command_template='{"volume": {{ value / 100 }}}',
            state_topic=state,
            value_template="{{ (value_json.volume * 100) | round(0) }}",
            min=0,
            max=100,
            step=1,
            mode="slider",
            unit_of_measurement="%",
            icon="mdi:volume-high",
            **commands,
        ),
        "mute": _component(
            info,
            "switch",
            "mute",
            "Mute",
            command_topic=topics.set,
            payload_on=json.dumps({"muted": True}),
            payload_off=json.dumps({"muted": False}),
            state_topic=state,
            value_template="{{ 'ON' if value_json.muted else 'OFF' }}",
            state_on="ON",
            state_off="OFF",
            icon="mdi:volume-off",
            **commands,
        ),
        "emotion": _component(
            info,
            "select",
            "emotion",
            "Default emotion",
            command_topic=topics.set,
            command_template='{"emotion": {{ value | tojson }}}',
            state_topic=state,
            value_template="{{ value_json.emotion }}",
            options=info.emotions,
            entity_category="config",
            icon="mdi:emoticon-outline",
            **commands,
        ),
        "voice": _component(
            info,
            "select",
            "voice",
            "Default voice",
            command_topic=topics.set,
            command_template='{"voice": {{ value | tojson }}}',
            state_topic=state,
            value_template="{{ value_json.voice }}",
            options=info.voices,
            entity_category="config",
            icon="mdi:account-voice",
            **commands,
        ),
        "state": _component(
            info,
            "sensor",
            "state",
            "State",
            state_topic=state,
            value_template="{{ value_json.state }}",
            device_class="enum",
            options=list(STATES),
            icon="mdi:account-voice",
            qos=1,
        ),
        "queue": _component(
            info,
            "sensor",
            "queue",
            "Queue",
            state_topic=state,
            value_template="{{ value_json.queue }}",
            state_class="measurement",
            unit_of_measurement="requests",
            icon="mdi:tray-full",
            qos=1,
        ),
        "last_error": _component(
            info,
            "sensor",
            "last_error",
            "Last error",
            state_topic=state,
            value_template="{{ (value_json.last_error or 'none')[:250] }}",
            entity_category="diagnostic",
            icon="mdi:alert-circle-outline",
            qos=1,
        ),
    }
    return {
        "dev": {
            "ids": [f"voice_daemon_{info.object_id}"],
            "name": info.device_name,
            "mf": "voice-daemon",
            "mdl": f"text-to-speech ({info.engine})",
            "sw": __version__,
        },
        "o": {"name": ORIGIN_NAME, "sw": __version__},
        "avty_t": topics.availability,
        "cmps": components,
    }


class HomeAssistantDiscovery:
    """Publishes, refreshes or removes the daemon's HA discovery message."""

    def __init__(
        self,
        settings: HomeAssistantSettings,
        node: str,
        link: Link,
        service: VoiceService,
        engine: Engine,
    ) -> None:
        self._settings = settings
        self._node = node
        self._link = link
        self._service = service
        self._engine = engine
        self._published: str | None = None
        self._waiter: asyncio.Task[None] | None = None

    @property
    def topic(self) -> str:
        return f"{self._settings.discovery_prefix}/device/{object_id(self._node)}/config"

    def install(self) -> None:
        """Hook into the link and the service (on the event loop; the link may be up already)."""
        if not self._settings.enabled:
            self._link.add_on_connected(self._remove)
            return
        self._link.add_on_connected(lambda: self.publish(force=True))
        self._link.add_route(self._settings.status_topic, self._on_ha_status)
        self._service.add_state_listener(self._on_state)
        self._waiter = asyncio.create_task(self._publish_when_ready())

    def info(self) -> DeviceInfo:
        """The current device description (the engine must be loaded)."""
        state = self._service.state()
        voice = str(state["voice"])
        return DeviceInfo(
            node=self._node,
            topics=self._link.topics,
            device_name=self._settings.device_name or f"voice {self._node}",
            engine=self._engine.name,
            voices=list(self._engine.voices()),
            emotions=list(self._engine.emotions(voice)),
        )

    def publish(self, *, force: bool = False) -> None:
        """Publish the discovery message when the engine is ready and it changed (or forced)."""
        if not self._service.ready.is_set():
            return
        try:
            payload = json.dumps(discovery_payload(self.info()), ensure_ascii=False)
        except Exception:
            log.exception("[-] cannot build the Home Assistant discovery message")
            return
        if payload == self._published and not force:
            return
        self._published = payload
        log.info("[-] Home Assistant discovery published on %s", self.topic)
        self._link.publish(self.topic, payload, qos=1, retain=True)

    async def _publish_when_ready(self) -> None:
        await self._service.ready.wait()
        self.publish()

    def _remove(self) -> None:
        """Feature off: an empty retained config removes the device (if it was announced)."""
        log.info("[-] Home Assistant discovery off; clearing %s", self.topic)
        self._link.publish(self.topic, b"", qos=1, retain=True)

    def _on_ha_status(self, message: RawMessage) -> None:
        if message.payload.strip() == b"online":
            log.info("[-] Home Assistant is online; publishing discovery again")
            self.publish(force=True)

    def _on_state(self, state: dict[str, Any]) -> None:
        """A new state: the default voice (so the emotions it offers) may have changed."""
        del state
        self.publish()
