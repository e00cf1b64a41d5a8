"""The MQTT side: paho's network thread in, the event loop out.

paho runs its own thread (``loop_start``) and reconnects with back-off by itself. Incoming
messages are copied and handed to the event loop with ``call_soon_threadsafe``; nothing
is parsed or synthesized on paho's thread. Topics:

- in:  <base>/<node>/say, <base>/all/say, <base>/<node>/stop, <base>/<node>/set (QoS 1)
- out: <base>/<node>/event (QoS 1), <base>/<node>/state and /availability (retained)
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from daemon.events import ReplyTo
from daemon.incoming import Incoming
from daemon.settings import MqttSettings, read_password

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Topics:
    """Every topic of one node."""

    base: str
    node: str

    @property
    def say(self) -> str:
        return f"{self.base}/{self.node}/say"

    @property
    def say_all(self) -> str:
        return f"{self.base}/all/say"

    @property
    def stop(self) -> str:
        return f"{self.base}/{self.node}/stop"

    @property
    def set(self) -> str:
        return f"{self.base}/{self.node}/set"

    @property
    def event(self) -> str:
        return f"{self.base}/{self.node}/event"

    @property
    def state(self) -> str:
        return f"{self.base}/{self.node}/state"

    @property
    def availability(self) -> str:
        return f"{self.base}/{self.node}/availability"

    def kind(self, topic: str) -> str | None:
        """Which command a topic carries, or None for topics that aren't ours."""
        return {self.say: "say", self.say_all: "say", self.stop: "stop", self.set: "set"}.get(topic)


@dataclass(frozen=True)
class RawMessage:
    """A message on a topic an integration registered with :meth:`MqttLink.add_route`."""

    topic: str
    payload: bytes
    retained: bool


RouteHandler = Callable[[RawMessage], None]


def tls_context(settings: MqttSettings) -> ssl.SSLContext:
    tls = settings.tls
    context = ssl.create_default_context(cafile=tls.ca_file)
    if tls.cert_file:
        context.load_cert_chain(tls.cert_file, tls.key_file)
    context.check_hostname = tls.verify_hostname
    return context


class MqttLink:
    """One persistent MQTT session carrying commands in and events out."""

    def __init__(
        self,
        settings: MqttSettings,
        node: str,
        on_message: Callable[[Incoming], None],
        on_connected: Callable[[], None],
    ) -> None:
        self._settings = settings
        self.topics = Topics(settings.base_topic, node)
        self._on_message = on_message
        self._on_connected: list[Callable[[], None]] = [on_connected]
        #: Extra topic filters (integrations) and their handlers, called on the event loop.
        self._routes: dict[str, RouteHandler] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = threading.Event()
        self._connector = threading.Thread(
            target=self._connect_until_up, name="mqtt-connect", daemon=True
        )
        self.connected = asyncio.Event()
        self._v5 = settings.protocol == "5"
        client_id = settings.client_id or f"voice-daemon-{node}"
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv5 if self._v5 else mqtt.MQTTv311,
            # A persistent session: requests published while we were briefly away are kept.
            clean_session=None if self._v5 else False,
        )
        self._client.max_queued_messages_set(10000)
        # Commands are acknowledged only once handled and journaled: a crash before that
        # makes the broker deliver them again (duplicates are recognised by id).
        self._client.manual_ack_set(True)
        self._client.reconnect_delay_set(
            int(max(1, settings.reconnect_min_s)), int(max(1, settings.reconnect_max_s))
        )
        self._client.will_set(self.topics.availability, "offline", qos=1, retain=True)
        if settings.username:
            self._client.username_pw_set(settings.username, read_password(settings))
        if settings.tls.enabled:
            self._client.tls_set_context(tls_context(settings))
        self._client.on_connect = self._handle_connect
        self._client.on_disconnect = self._handle_disconnect
        self._client.on_message = self._handle_message
        self._client.on_connect_fail = self._handle_connect_fail

    # ---- paho's thread -------------------------------------------------------------------

    def _handle_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: ReasonCode, props: Any
    ) -> None:
        del userdata, props
        if reason.is_failure:
            log.error("[-] broker refused the connection: %s", reason)
            return
        log.info(
            "[-] connected to %s:%d (session present: %s)",
            self._settings.host,
            self._settings.port,
            flags.session_present,
        )
        client.subscribe(
            [
                (topic, 1)
                for topic in (
                    self.topics.say,
                    self.topics.say_all,
                    self.topics.stop,
                    self.topics.set,
                    *list(self._routes),  # integrations' extra topic filters
                )
            ]
        )
        client.publish(self.topics.availability, "online", qos=1, retain=True)
        self._to_loop(self._connected)

    def _handle_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: ReasonCode, props: Any
    ) -> None:
        del client, userdata, flags, props
        log.warning("[-] disconnected from the broker (%s); reconnecting with back-off", reason)
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.connected.clear)

    def _handle_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        del client, userdata
        log.warning(
            "[-] cannot reach the broker at %s:%d; retrying with back-off",
            self._settings.host,
            self._settings.port,
        )

    def _handle_message(
        self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage
    ) -> None:
        del userdata
        kind = self.topics.kind(message.topic)
        if kind is None:
            client.ack(message.mid, message.qos)
            self._route(message)
            return
        props = getattr(message, "properties", None)
        response_topic = getattr(props, "ResponseTopic", None)
        incoming = Incoming(
            kind=kind,
            payload=bytes(message.payload),
            retained=bool(message.retain),
            reply_to=ReplyTo(response_topic, getattr(props, "CorrelationData", None))
            if response_topic
            else None,
            ack=functools.partial(client.ack, message.mid, message.qos),
        )
        self._to_loop(lambda: self._on_message(incoming))

    def _route(self, message: mqtt.MQTTMessage) -> None:
        for topic_filter, handler in self._routes.items():
            if mqtt.topic_matches_sub(topic_filter, message.topic):
                raw = RawMessage(message.topic, bytes(message.payload), bool(message.retain))
                self._to_loop(functools.partial(handler, raw))
                return

    def _to_loop(self, callback: Callable[[], None]) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(callback)

    # ---- event loop ----------------------------------------------------------------------

    def _connected(self) -> None:
        self.connected.set()
        for callback in self._on_connected:
            callback()

    def add_route(self, topic_filter: str, handler: RouteHandler) -> None:
        """Subscribe (QoS 1) to another topic filter; ``handler`` runs on the event loop.
        Works before and after :meth:`start` (the daemon connects first, then installs its
        integrations while the rest loads)."""
        self._routes[topic_filter] = handler
        # paho's own state, not ``connected``: that is set on the loop a little after the
        # connect callback has subscribed what ``_routes`` held, so a route added in between
        # would be missed. Subscribing twice is harmless.
        if self._client.is_connected():
            self._client.subscribe(topic_filter, qos=1)

    def add_on_connected(self, callback: Callable[[], None]) -> None:
        """Also call ``callback`` (on the event loop) after every (re)connection, and soon
        if the link is connected already."""
        self._on_connected.append(callback)
        if self.connected.is_set() and self._loop is not None:
            self._loop.call_soon(callback)

    def publish(
        self, topic: str, payload: str | bytes, *, qos: int = 1, retain: bool = False
    ) -> None:
        """Publish anything (integrations); queued by paho while disconnected."""
        self._client.publish(topic, payload, qos=qos, retain=retain)

    def start(self) -> None:
        """Connect in the background, retrying with back-off until the broker answers."""
        self._loop = asyncio.get_running_loop()
        self._connector.start()

    def _connect_until_up(self) -> None:
        """The first connection, on a thread of its own so the reason of each failure (refused,
        TLS verification, DNS) can be logged; afterwards paho's loop reconnects by itself."""
        properties = None
        if self._v5:
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = self._settings.session_expiry_s
        delay = self._settings.reconnect_min_s
        while not self._stopping.is_set():
            try:
                self._client.connect(
                    self._settings.host,
                    self._settings.port,
                    keepalive=self._settings.keepalive_s,
                    clean_start=False if self._v5 else mqtt.MQTT_CLEAN_START_FIRST_ONLY,
                    properties=properties,
                )
            except (OSError, ValueError) as error:  # ssl.SSLError is an OSError
                log.warning(
                    "[-] cannot reach the broker at %s:%d: %s; retrying in %.0f s",
                    self._settings.host,
                    self._settings.port,
                    error,
                    delay,
                )
                self._stopping.wait(delay)
                delay = min(delay * 2, self._settings.reconnect_max_s)
                continue
            self._client.loop_start()
            return

    def event(self, event: dict[str, Any], reply_to: ReplyTo | None) -> None:
        """Publish an event; terminal ones also go to the request's MQTT 5 response topic."""
        payload = json.dumps(event, ensure_ascii=False)
        self._client.publish(self.topics.event, payload, qos=1)
        if reply_to is not None and self._v5:
            props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
            if reply_to.correlation_data is not None:
                props.CorrelationData = reply_to.correlation_data
            self._client.publish(reply_to.topic, payload, qos=1, properties=props)

    def state(self, state: dict[str, Any]) -> None:
        self._client.publish(
            self.topics.state, json.dumps(state, ensure_ascii=False), qos=1, retain=True
        )

    def stop(self) -> None:
        """Publish offline (the clean-shutdown twin of the last will) and disconnect."""
        self._stopping.set()
        if self._connector.is_alive():
            self._connector.join(timeout=5)
        info = self._client.publish(self.topics.availability, "offline", qos=1, retain=True)
        if self.connected.is_set():
            try:
                info.wait_for_publish(timeout=2.0)
            except RuntimeError as error:
                log.warning("[-] could not publish offline: %s", error)
        self._client.disconnect()
        self._client.loop_stop()
