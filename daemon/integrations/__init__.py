"""Integrations that fit the daemon into a smart home, each over the MQTT link's extension
points (extra routes, on-connected callbacks, plain publishing) and the service's doors
(``accept`` and event listeners): Home Assistant discovery, Rhasspy/Hermes, tooling topics.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from daemon.mqtt_link import RouteHandler, Topics


class Link(Protocol):
    """What integrations use of :class:`daemon.mqtt_link.MqttLink`."""

    @property
    def topics(self) -> Topics: ...

    def add_route(self, topic_filter: str, handler: RouteHandler) -> None: ...
    def add_on_connected(self, callback: Callable[[], None]) -> None: ...
    def publish(
        self, topic: str, payload: str | bytes, *, qos: int = 1, retain: bool = False
    ) -> None: ...
