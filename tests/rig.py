"""The test rig: a real mosquitto broker, real PortAudio outputs we can read back, the real
daemon process, and an MQTT watcher. Recipes from shared/docs/testing-rig.md.

Anything missing (mosquitto, pulseaudio, PortAudio) makes the fixture fail loudly.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
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

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
NODE = "testnode"


def require(program: str) -> str:
    path = shutil.which(program)
    if path is None:
        raise RuntimeError(f"{program} is not installed: run the README's test command")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: Callable[[], Any], timeout: float, what: str, step: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(step)


# ---- broker ---------------------------------------------------------------------------------


class Broker:
    """mosquitto on a free loopback port; can be stopped and restarted on the same port."""

    def __init__(
        self, directory: Path, *, persistence: bool = False, extra: str = "", anonymous: bool = True
    ) -> None:
        self.directory = directory
        self.anonymous = anonymous
        self.port = free_port()
        self.persistence = persistence
        self.extra = extra
        self.process: subprocess.Popen[bytes] | None = None
        self.log = directory / "mosquitto.log"

    def start(self) -> None:
        conf = self.directory / "mosquitto.conf"
        lines = [
            f"listener {self.port} 127.0.0.1",
            f"allow_anonymous {'true' if self.anonymous else 'false'}",
            "log_dest stderr",
            "user root",
            # mosquitto drops QoS 1 messages beyond 1,000 queued per client by default; the
            # soak tests publish 10,000 at once.
            "max_queued_messages 100000",
            f"persistence {'true' if self.persistence else 'false'}",
        ]
        if self.persistence:
            lines.append(f"persistence_location {self.directory}/")
        conf.write_text("\n".join(lines) + "\n" + self.extra)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [require("mosquitto"), "-c", str(conf)], stdout=log, stderr=log
            )
        wait_until(self._answers, 10, "mosquitto to listen")

    def _answers(self) -> bool:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.2):
            return True
        return False

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


# ---- audio ----------------------------------------------------------------------------------


class AlsaCapture:
    """An ALSA `file` pcm named capture_sink: bit-exact samples, faster than real time."""

    device = "capture_sink"

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.raw = directory / "capture.raw"
        self.asoundrc = directory / "asoundrc"
        self.asoundrc.write_text(
            "pcm.capture_sink {\n"
            "    type file\n"
            '    slave.pcm "null"\n'
            f'    file "{self.raw}"\n'
            '    format "raw"\n'
            "    truncate false\n"
            '    hint { show on description "test capture sink" }\n'
            "}\n"
        )

    def env(self) -> dict[str, str]:
        return {"ALSA_CONFIG_PATH": f"/usr/share/alsa/alsa.conf:{self.asoundrc}"}

    def samples(self) -> np.ndarray:
        """Everything written so far, across stream reopenings (capture.raw, .0001, ...)."""
        files = sorted(self.directory.glob("capture.raw*"))
        parts = [np.fromfile(path, dtype=np.float32) for path in files]
        return np.concatenate(parts) if parts else np.zeros(0, np.float32)


class PulseRig:
    """A private PulseAudio server with a null sink, captured in real time with parec."""

    rate = 48000

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.runtime = directory / "run"
        self.socket = directory / "native"
        self.capture_path = directory / "pulse-capture.raw"
        self.server: subprocess.Popen[bytes] | None = None
        self.recorder: subprocess.Popen[bytes] | None = None

    def env(self) -> dict[str, str]:
        return {
            "HOME": str(self.directory),
            "XDG_RUNTIME_DIR": str(self.runtime),
            "PULSE_SERVER": f"unix:{self.socket}",
        }

    def _environ(self) -> dict[str, str]:
        return {**os.environ, **self.env()}

    def start(self) -> None:
        self.runtime.mkdir(mode=0o700, exist_ok=True)
        self.socket.unlink(missing_ok=True)  # left behind by a killed server
        script = self.directory / "rig.pa"
        script.write_text(
            f"load-module module-native-protocol-unix socket={self.socket} auth-anonymous=1\n"
            f"load-module module-null-sink sink_name=rig format=float32le rate={self.rate} "
            "channels=1 norewinds=1\n"
            "set-default-sink rig\n"
        )
        log = (self.directory / "pulseaudio.log").open("ab")
        self.server = subprocess.Popen(
            [
                require("pulseaudio"),
                "-n",
                "-F",
                str(script),
                "--daemonize=no",
                "--exit-idle-time=-1",
                "--use-pid-file=no",
                "--disable-shm=yes",
            ],
            env=self._environ(),
            stdout=log,
            stderr=log,
        )
        wait_until(self.socket.exists, 10, "pulseaudio to start")
        # Without a suspend/resume the first clip is delayed ~1.8 s.
        wait_until(lambda: self._pactl("suspend-sink", "rig", "1"), 10, "pulseaudio to answer")
        assert self._pactl("suspend-sink", "rig", "0")

    def _pactl(self, *args: str) -> bool:
        done = subprocess.run(
            [require("pactl"), *args],
            env=self._environ(),
            capture_output=True,
            timeout=10,
            check=False,
        )
        return done.returncode == 0

    def start_capture(self) -> None:
        self.capture_path.unlink(missing_ok=True)
        self.recorder = subprocess.Popen(
            [
                require("parec"),
                "--device=rig.monitor",
                "--format=float32le",
                f"--rate={self.rate}",
                "--channels=1",
                "--raw",
                "--latency-msec=10",
                str(self.capture_path),
            ],
            env=self._environ(),
        )
        wait_until(self.capture_path.exists, 5, "parec to start")

    def capture_seconds(self) -> float:
        return self.samples().size / self.rate

    def samples(self) -> np.ndarray:
        if not self.capture_path.exists():
            return np.zeros(0, np.float32)
        data = self.capture_path.read_bytes()
        return np.frombuffer(data[: len(data) // 4 * 4], dtype=np.float32)

    def stop(self) -> None:
        for process in (self.recorder, self.server):
            if process is not None and process.poll() is None:
                process.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(5)
                if process.poll() is None:
                    process.kill()
        self.recorder = self.server = None

    def kill_server(self) -> None:
        if self.server is not None:
            self.server.kill()
            self.server.wait(5)
            self.server = None


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
