"""A measuring rig with no sound card: a private mosquitto, real PortAudio outputs that can be
read back, and a small MQTT client. Used by `voice-daemon bench` and by the tests.

- :class:`Broker`: mosquitto on a free loopback port.
- :class:`PulseRig`: a private PulseAudio server with a null sink, recorded by ``parec``:
  playback runs in real time, so the recording tells *when* a sound reached the device.
- :class:`AlsaCapture`: an ALSA ``file`` pcm: bit-exact samples, faster than real time.

Anything missing (mosquitto, pulseaudio, parec, PortAudio) raises :class:`RigError` naming it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

#: The bench's node id on its own broker.
NODE = "bench"


class RigError(RuntimeError):
    """The rig cannot be set up (a program is missing, or does not start)."""


def require(program: str) -> str:
    path = shutil.which(program)
    if path is None:
        raise RigError(f"{program} is not installed: run the README's test command")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, step: float = 0.02) -> Any:
    """The first true value of ``predicate``; TimeoutError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
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
        wait_for(self._answers, 10, "mosquitto to listen")

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
    """An ALSA `file` pcm named capture_sink: bit-exact samples, faster than real time.

    ``target`` other than the default (e.g. ``/dev/null``) makes it a fast sink that keeps
    nothing, for runs of thousands of announcements.
    """

    device = "capture_sink"

    def __init__(self, directory: Path, target: Path | None = None) -> None:
        self.directory = directory
        self.raw = target or directory / "capture.raw"
        self.asoundrc = directory / "asoundrc"
        self.asoundrc.write_text(
            "pcm.capture_sink {\n"
            "    type file\n"
            '    slave.pcm "null"\n'
            f'    file "{self.raw}"\n'
            '    format "raw"\n'
            f"    truncate {'false' if target is None else 'true'}\n"
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
        self._log: IO[bytes] | None = None

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
        self._log = (self.directory / "pulseaudio.log").open("ab")
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
            stdout=self._log,
            stderr=self._log,
        )
        wait_for(self.socket.exists, 10, "pulseaudio to start")
        # Without a suspend/resume the first clip is delayed ~1.8 s.
        wait_for(lambda: self._pactl("suspend-sink", "rig", "1"), 10, "pulseaudio to answer")
        if not self._pactl("suspend-sink", "rig", "0"):
            raise RigError("pulseaudio does not resume its null sink")

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
        wait_for(self.capture_path.exists, 5, "parec to start")

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
        if self._log is not None:
            self._log.close()
            self._log = None

    def kill_server(self) -> None:
        if self.server is not None:
            self.server.kill()
            self.server.wait(5)
            self.server = None


class Recording:
    """A growing raw float32 recording (parec's file), read incrementally.

    The time at which a sample is first seen in the file is when it reached the device,
    give or take parec's hand-over: the null sink consumes its streams in ~9 ms periods and
    parec writes each period as it comes (``--latency-msec=10``), so polling the file every
    millisecond sees a sample at most a period plus a millisecond after the sink took it.
    (Mapping sample indices to a steady clock instead is wrong by up to a period the other
    way: the sink takes a period's samples at once, at its end.)
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[bytes] | None = None
        self._read = 0  # bytes read so far

    def read_new(self) -> tuple[int, np.ndarray]:
        """Samples appended since the last call, and the index of the first of them."""
        if self._file is None:
            self._file = self.path.open("rb")
        start = self._read // 4
        data = self._file.read()
        usable = (self._read + len(data)) // 4 * 4 - self._read
        self._read += usable
        self._file.seek(self._read)
        return start, np.frombuffer(data[:usable], dtype=np.float32)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


# ---- MQTT -----------------------------------------------------------------------------------


@dataclass
class Received:
    topic: str
    payload: bytes
    time: float
    """Monotonic arrival time."""


@dataclass
class Client:
    """An MQTT client that records everything under ``voice/#`` and publishes commands."""

    port: int
    messages: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        import paho.mqtt.client as mqtt  # noqa: PLC0415 (the bench's MQTT part only)
        from paho.mqtt.enums import CallbackAPIVersion  # noqa: PLC0415

        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.client.on_connect = lambda client, *args: client.subscribe("voice/#", qos=1)
        self.client.on_subscribe = lambda *args: self._subscribed.set()
        self.client.on_message = self._on_message

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        with self._changed:
            self.messages.append(Received(message.topic, bytes(message.payload), time.monotonic()))
            self._changed.notify_all()

    def start(self) -> Client:
        self.client.connect("127.0.0.1", self.port)
        self.client.loop_start()
        if not self._subscribed.wait(10):
            raise RigError("cannot subscribe on the bench's broker")
        return self

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def publish(self, topic: str, payload: dict[str, Any] | str) -> None:
        data = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
        self.client.publish(topic, data, qos=1)

    def events(self, node: str, request_id: str | None = None) -> list[dict[str, Any]]:
        topic = f"voice/{node}/event"
        with self._lock:
            found = [json.loads(m.payload) for m in self.messages if m.topic == topic]
        return [e for e in found if request_id is None or e.get("id") == request_id]

    def first(
        self, topic: str, predicate: Callable[[Received], bool], timeout: float
    ) -> Received | None:
        """The first message on ``topic`` matching ``predicate``, waiting up to ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for message in self.messages:
                    if message.topic == topic and predicate(message):
                        return message
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._changed.wait(remaining)

    def terminal(self, node: str, request_id: str, timeout: float) -> dict[str, Any]:
        """The request's finished or rejected event."""

        def ends(message: Received) -> bool:
            event = json.loads(message.payload)
            return bool(
                event.get("id") == request_id and event["event"] in ("finished", "rejected")
            )

        found = self.first(f"voice/{node}/event", ends, timeout)
        if found is None:
            raise TimeoutError(f"no end of request {request_id} within {timeout} s")
        result: dict[str, Any] = json.loads(found.payload)
        return result

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()
