"""`voice-daemon say`: publish a request to a running daemon and follow its events.

Exit code: 0 completed, 1 failed/cancelled/expired, 2 rejected, 3 no answer in time.
"""

from __future__ import annotations

import argparse
import json
import queue
import sys
import time
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from daemon.mqtt_link import Topics, tls_context
from daemon.request import new_id
from daemon.settings import Settings, read_password

_EXIT = {"completed": 0, "failed": 1, "cancelled": 1, "expired": 1}


def _request(args: argparse.Namespace, request_id: str) -> dict[str, Any]:
    request: dict[str, Any] = {"id": request_id, "text": args.text}
    for name in ("emotion", "voice", "speed", "volume", "priority", "ttl"):
        value = getattr(args, name)
        if value is not None:
            request[name] = value
    if args.interrupt:
        request["interrupt"] = True
    if args.chime is not None:
        request["chime"] = False if args.chime == "none" else args.chime
    if getattr(args, "no_cache", False):
        request["cache"] = False
    return request


def say(args: argparse.Namespace, settings: Settings) -> int:
    node = args.node or settings.node_id
    topics = Topics(settings.mqtt.base_topic, node)
    event_topic = f"{settings.mqtt.base_topic}/+/event" if node == "all" else topics.event
    request_id = args.id or new_id()
    events: queue.Queue[dict[str, Any]] = queue.Queue()
    subscribed: queue.Queue[bool] = queue.Queue()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"voice-daemon-say-{new_id()}")
    if settings.mqtt.username:
        client.username_pw_set(settings.mqtt.username, read_password(settings.mqtt))
    if settings.mqtt.tls.enabled:
        client.tls_set_context(tls_context(settings.mqtt))

    def on_connect(client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            print(f"voice-daemon say: broker refused the connection: {reason}", file=sys.stderr)
            return
        client.subscribe(event_topic, qos=1)

    def on_subscribe(*_: Any) -> None:
        subscribed.put(True)

    def on_message(client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            event = json.loads(message.payload)
        except ValueError:
            return
        if isinstance(event, dict) and event.get("id") == request_id:
            events.put(event)

    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    try:
        client.connect(settings.mqtt.host, settings.mqtt.port, keepalive=30)
    except OSError as error:
        print(
            f"voice-daemon say: cannot reach the broker at {settings.mqtt.host}:"
            f"{settings.mqtt.port}: {error}",
            file=sys.stderr,
        )
        return 3
    client.loop_start()
    try:
        try:
            subscribed.get(timeout=10)
        except queue.Empty:
            print("voice-daemon say: could not subscribe to events", file=sys.stderr)
            return 3
        client.publish(
            topics.say, json.dumps(_request(args, request_id), ensure_ascii=False), qos=1
        )
        deadline = time.monotonic() + args.timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                print(
                    f"voice-daemon say: no end of request {request_id} after {args.timeout:g} s",
                    file=sys.stderr,
                )
                return 3
            try:
                event = events.get(timeout=remaining)
            except queue.Empty:
                continue
            print(json.dumps(event, ensure_ascii=False), flush=True)
            if event.get("event") == "rejected":
                return 2
            if event.get("event") == "finished":
                return _EXIT.get(str(event.get("result")), 1)
    finally:
        client.disconnect()
        client.loop_stop()
