"""The test rig: a real mosquitto broker, real PortAudio outputs we can read back, the real
daemon process, and an MQTT watcher. Recipes from shared/docs/testing-rig.md. The broker
and the sound rigs live in daemon/bench/rig.py: `voice-daemon bench` uses them too.

Anything missing (mosquitto, pulseaudio, PortAudio) makes the fixture fail loudly.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import paho.mqtt.client as mqtt
import yaml
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from daemon.bench.rig import (  # noqa: F401 (re-exported: the tests import them from here)
    AlsaCapture,
    Broker,
    PulseRig,
    free_port,
    require,
    wait_for,
)

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
NODE = "testnode"


def wait_until(predicate: Callable[[], Any], timeout: float, what: str, step: float = 0.02) -> Any:
    """The bench rig's wait, failing as a test assertion."""
    try:
        return wait_for(predicate, timeout, what, step)
    except TimeoutError as error:
        raise AssertionError(str(error)) from None


# ---- MQTT watcher ---------------------------------------------------------------------------


@dataclass
class Message:
    topic: str
    payload: bytes
    retain: bool
    received: float
    properties: Any = None

    def json(self) -> Any:
        return json.loads(self.payload)


@dataclass
class Watcher:
    """An MQTT client that records every message under voice/# and publishes commands."""

    port: int
    protocol: int = mqtt.MQTTv5
    messages: list[Message] = field(default_factory=list)
    subscribe_to: tuple[str, ...] = ("voice/#",)
    persistent: bool = False
    """Keep a broker session (MQTT 5) so nothing is missed across a broker restart."""

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            protocol=self.protocol,
            client_id=f"watcher-{os.getpid()}-{id(self)}" if self.persistent else "",
        )
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *args: self._subscribed.set()
        self.client.on_connect = self._on_connect

    def _on_connect(self, client: mqtt.Client, *args: Any) -> None:
        client.subscribe([(topic, 1) for topic in self.subscribe_to])

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append(
                Message(
                    msg.topic,
                    bytes(msg.payload),
                    bool(msg.retain),
                    time.monotonic(),
                    getattr(msg, "properties", None),
                )
            )

    def start(self) -> Watcher:
        if self.persistent:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = 600
            self.client.connect("127.0.0.1", self.port, clean_start=False, properties=props)
        else:
            self.client.connect("127.0.0.1", self.port)
        self.client.reconnect_delay_set(1, 1)
        self.client.loop_start()
        assert self._subscribed.wait(10), "watcher could not subscribe"
        return self

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def publish(
        self,
        topic: str,
        payload: str | bytes | dict[str, Any],
        *,
        qos: int = 1,
        properties: Properties | None = None,
    ) -> None:
        if isinstance(payload, dict):
            payload = json.dumps(payload, ensure_ascii=False)
        self.client.publish(topic, payload, qos=qos, properties=properties).wait_for_publish(5)

    def say(self, payload: str | bytes | dict[str, Any], node: str = NODE) -> None:
        self.publish(f"voice/{node}/say", payload)

    def on(self, topic: str) -> list[Message]:
        with self._lock:
            return [m for m in self.messages if m.topic == topic]

    def events(self, request_id: str | None = None, node: str = NODE) -> list[dict[str, Any]]:
        found = [m.json() for m in self.on(f"voice/{node}/event")]
        return [e for e in found if request_id is None or e.get("id") == request_id]

    def wait_event(self, request_id: str, name: str, timeout: float = 60) -> dict[str, Any]:
        def find() -> dict[str, Any] | None:
            matches = [e for e in self.events(request_id) if e["event"] == name]
            return matches[0] if matches else None

        event: dict[str, Any] = wait_until(find, timeout, f"{name} event of {request_id}")
        return event

    def wait_terminal(self, request_id: str, timeout: float = 60) -> dict[str, Any]:
        def find() -> dict[str, Any] | None:
            matches = [e for e in self.events(request_id) if e["event"] in ("finished", "rejected")]
            return matches[0] if matches else None

        event: dict[str, Any] = wait_until(find, timeout, f"the end of {request_id}")
        return event

    def last_state(self, node: str = NODE) -> dict[str, Any] | None:
        states = self.on(f"voice/{node}/state")
        return states[-1].json() if states else None

    def wait_state(
        self,
        predicate: Callable[[dict[str, Any]], bool],
        timeout: float = 30,
        what: str = "a state",
    ) -> dict[str, Any]:
        def check() -> dict[str, Any] | None:
            state = self.last_state()
            return state if state is not None and predicate(state) else None

        state: dict[str, Any] = wait_until(check, timeout, what)
        return state

    def availability(self, node: str = NODE) -> str | None:
        found = self.on(f"voice/{node}/availability")
        return found[-1].payload.decode() if found else None


# ---- the daemon process ---------------------------------------------------------------------


class Daemon:
    """`voice-daemon run` as a subprocess with its own config and environment."""

    def __init__(
        self, directory: Path, broker_port: int, *, config: dict[str, Any], env: dict[str, str]
    ) -> None:
        self.directory = directory
        self.config_path = directory / "voice-daemon.yaml"
        self.log_path = directory / "daemon.log"
        base: dict[str, Any] = {
            "mqtt": {
                "host": "127.0.0.1",
                "port": broker_port,
                "node_id": NODE,
                "reconnect_min_s": 1,
                "reconnect_max_s": 2,
            },
            "queue": {"journal": str(directory / "journal.sqlite3")},
            # Each test its own phrase cache: nothing cached by one test plays in another.
            "cache": {"dir": str(directory / "phrases")},
            "log_level": "DEBUG",
        }
        for section, values in config.items():
            if isinstance(values, dict):
                base.setdefault(section, {}).update(values)
            else:
                base[section] = values
        self.config_path.write_text(yaml.safe_dump(base, allow_unicode=True))
        self.env = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Daemon:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "daemon.cli", "-c", str(self.config_path), "run"],
                cwd=REPO,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def signal(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    def wait(self, timeout: float) -> int:
        assert self.process is not None
        return self.process.wait(timeout)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


def wait_ready(watcher: Watcher, daemon: Daemon, timeout: float = 90) -> None:
    try:
        watcher.wait_state(lambda s: s["ready"], timeout, "the daemon to be ready")
    except AssertionError:
        raise AssertionError(f"daemon not ready; its log:\n{daemon.log()[-4000:]}") from None


@contextlib.contextmanager
def running_daemon(
    directory: Path,
    broker: Broker,
    *,
    config: dict[str, Any],
    env: dict[str, str],
    watcher: Watcher | None = None,
) -> Iterator[tuple[Daemon, Watcher]]:
    watcher = watcher or Watcher(broker.port).start()
    daemon = Daemon(directory, broker.port, config=config, env=env).start()
    try:
        wait_ready(watcher, daemon)
        yield daemon, watcher
    finally:
        daemon.stop()
        watcher.stop()


def find_signal(haystack: np.ndarray, needle: np.ndarray) -> int:
    """Offset where ``needle`` starts inside ``haystack`` (exact sample match)."""
    first = np.flatnonzero(np.abs(needle) > 1e-4)
    assert first.size, "the reference audio is silent"
    start = int(first[0])
    candidates = np.flatnonzero(haystack == needle[start])
    for candidate in candidates:
        offset = int(candidate) - start
        if offset >= 0 and np.array_equal(haystack[offset : offset + needle.size], needle):
            return offset
    raise AssertionError("the reference audio does not occur in the capture")


class TcpProxy:
    """A loopback TCP proxy in front of the broker that a test can cut and restore, to
    simulate the network between the daemon and the broker failing."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._connections: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> TcpProxy:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(8)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), 5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._connections += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        """Drop every connection and refuse new ones."""
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with self._lock:
            for sock in self._connections:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._connections.clear()

    def restore(self) -> None:
        self.start()
