"""Daemon-level numbers: the real `voice-daemon run` process, a real mosquitto and real
PortAudio devices, measured from the outside.

Time to first audio is measured at the device: from just before the MQTT publish to the
moment the first non-silent sample (above -80 dBFS) is seen in the recording of a
PulseAudio null sink, polled every millisecond (never from the daemon's own events or log;
the recording lags the sink by at most one ~9 ms period, so the figures err long). Three
daemons run side by side on the same broker, so every comparison is made on the same
machine at the same moment:

- ``streaming``: the shipped configuration (streaming on, phrase cache on), on PulseAudio;
- ``whole_text``: ``synthesis.streaming: false`` and no cache, i.e. the whole text is
  synthesized before playback (as the usual Flask/ModelScope pipeline service does), on a
  PulseAudio server of its own; its requests alternate with the first daemon's;
- ``capacity``: like the first, on an ALSA ``file`` device writing to /dev/null (a real
  PortAudio device that plays faster than real time), for throughput and the memory soak.

Between two measurements the previous request is stopped once its first sound is heard,
and the daemon is left to go quiet (no CPU used), so no measurement waits behind another.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from pydantic import TypeAdapter

from daemon.bench.engine import TEXTS
from daemon.bench.rig import AlsaCapture, Broker, Client, PulseRig, Recording
from daemon.settings import Settings

#: A sample above this (-80 dBFS) is sound; the null sink records exact zeros otherwise.
SILENCE = 1e-4
#: The recording must be this quiet before a measurement starts.
QUIET_S = 0.15
CACHED_PHRASE = "门口有人按门铃。"
ONE_SENTENCE = [
    "洗衣机已经洗完了，请及时晾晒衣服。",
    "快递已经放在门口的柜子里了。",
    "车库门已经关好，晚安。",
    "客厅的空调已经打开了。",
    "今天下午有雨，出门记得带伞。",
]
#: About 200 characters in seven sentences.
LONG = TEXTS[200] + "门窗均已关好，安防系统已经开启，扫地机器人正在充电，祝您晚安。"
#: Different texts for the queue and soak runs (numbers keep them apart).
SHORT = "第{n}条提醒：请关好门窗。"


@dataclass(frozen=True)
class Plan:
    """How many of each measurement; --quick runs fewer."""

    first_audio_repeats: int
    long_repeats: int
    queue_requests: int
    soak_requests: int
    idle_s: float

    @classmethod
    def make(cls, quick: bool) -> Plan:
        if quick:
            return cls(
                first_audio_repeats=4, long_repeats=2, queue_requests=20, soak_requests=100,
                idle_s=3.0,
            )  # fmt: skip
        return cls(
            first_audio_repeats=20, long_repeats=10, queue_requests=50, soak_requests=1000,
            idle_s=30.0,
        )  # fmt: skip


class BenchDaemon:
    """One `voice-daemon run` process with its own config, node id and environment."""

    def __init__(
        self,
        name: str,
        directory: Path,
        settings: Settings,
        port: int,
        *,
        device: str,
        streaming: bool,
        cache: bool,
        env: dict[str, str],
    ) -> None:
        self.name = name
        self.node = f"bench-{name.replace('_', '-')}"
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        config: dict[str, Any] = TypeAdapter(Settings).dump_python(settings, mode="json")
        config["mqtt"] = {"host": "127.0.0.1", "port": port, "node_id": self.node}
        config["engine"]["cache_dir"] = str(settings.cache_dir)  # models converted once
        config["synthesis"]["streaming"] = streaming
        config["queue"].update(max_length=200, journal=str(directory / "journal.sqlite3"))
        config["audio"] = {"output": "device", "device": device}
        config["cache"] = {"enabled": cache, "dir": str(directory / "phrases")}
        for section in ("http", "hermes", "homeassistant"):
            config[section] = {"enabled": False}
        config["log_level"] = "INFO"
        self.config_path = directory / "voice-daemon.yaml"
        self.config_path.write_text(yaml.safe_dump(config, allow_unicode=True))
        self.log_path = directory / "daemon.log"
        self.env = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0

    @property
    def say_topic(self) -> str:
        return f"voice/{self.node}/say"

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.started_at = time.monotonic()
            self.process = subprocess.Popen(
                [sys.executable, "-m", "daemon.cli", "-c", str(self.config_path), "run"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def cpu_s(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def memory_mb(self, field: str = "VmRSS") -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
        raise RuntimeError(f"no {field} for process {self.pid}")

    def wait_quiet(self, timeout: float = 30.0) -> None:
        """Until the process has used under 3 ms of CPU in 100 ms (its work is done)."""
        deadline = time.monotonic() + timeout
        before = self.cpu_s()
        while time.monotonic() < deadline:
            time.sleep(0.1)
            now = self.cpu_s()
            if now - before < 0.003:
                return
            before = now

    def log_tail(self) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return text[-3000:]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


class Listener:
    """Watches a PulseAudio rig's recording as it grows: when sound starts, when it is quiet."""

    def __init__(self, rig: PulseRig) -> None:
        self.rig = rig
        self.recording = Recording(rig.capture_path)
        self.end = 0
        self.last_loud = -1

    def _update(self) -> tuple[int, np.ndarray]:
        start, samples = self.recording.read_new()
        self.end = start + samples.size
        loud = np.flatnonzero(np.abs(samples) > SILENCE)
        if loud.size:
            self.last_loud = start + int(loud[-1])
        return start, loud

    def wait_quiet(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._update()
            if self.end - self.last_loud >= QUIET_S * self.rig.rate:
                return
            time.sleep(0.01)
        raise TimeoutError("the sink never went quiet")

    def first_sound(self, after: int, timeout: float) -> float:
        """Monotonic time at which a sound after sample ``after`` is first seen recorded."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            start, loud = self._update()
            if loud.size and start + int(loud[-1]) >= after:
                return time.monotonic()
            time.sleep(0.001)
        raise TimeoutError(f"no sound within {timeout} s")


class Bench:
    """The daemon-level run; :meth:`run` returns the report's ``daemon`` section."""

    def __init__(self, settings: Settings, directory: Path, quick: bool) -> None:
        self.settings = settings
        self.directory = directory
        self.plan = Plan.make(quick)
        self.broker = Broker(directory)
        self.rigs = {name: PulseRig(directory / f"pulse-{name}") for name in ("streaming", "whole")}
        (directory / "alsa").mkdir(parents=True, exist_ok=True)
        self.alsa = AlsaCapture(directory / "alsa", target=Path("/dev/null"))
        self.daemons: dict[str, BenchDaemon] = {}
        self.listeners: dict[str, Listener] = {}
        self.client: Client | None = None
        self.counter = 0

    # ---- setup ---------------------------------------------------------------------------

    def _daemon(self, name: str, **options: Any) -> BenchDaemon:
        daemon = BenchDaemon(
            name, self.directory / name, self.settings, self.broker.port, **options
        )
        self.daemons[name] = daemon
        return daemon

    def _ready(self, daemon: BenchDaemon, timeout: float = 180.0) -> dict[str, float]:
        client = self._client()
        availability = f"voice/{daemon.node}/availability"
        online = client.first(
            availability, lambda m: m.payload == b"online" and m.time > daemon.started_at, timeout
        )

        def is_ready(message: Any) -> bool:
            return bool(json.loads(message.payload).get("ready"))

        ready = client.first(f"voice/{daemon.node}/state", is_ready, timeout)
        if online is None or ready is None:
            raise RuntimeError(f"daemon {daemon.name} did not start:\n{daemon.log_tail()}")
        return {
            "online_s": round(online.time - daemon.started_at, 3),
            "ready_s": round(ready.time - daemon.started_at, 3),
        }

    def _client(self) -> Client:
        if self.client is None:
            self.client = Client(self.broker.port).start()
        return self.client

    def setup(self) -> dict[str, Any]:
        self.broker.start()
        for name, rig in self.rigs.items():
            rig.directory.mkdir(parents=True, exist_ok=True)
            rig.start()
            rig.start_capture()
            self.listeners[name] = Listener(rig)
        self._client()
        streaming = self._daemon(
            "streaming",
            device="pulse",
            streaming=True,
            cache=True,
            env=self.rigs["streaming"].env(),
        )
        whole = self._daemon(
            "whole_text", device="pulse", streaming=False, cache=False, env=self.rigs["whole"].env()
        )
        capacity = self._daemon(
            "capacity", device=AlsaCapture.device, streaming=True, cache=True, env=self.alsa.env()
        )
        # The shipped configuration starts alone, so its start-up is timed undisturbed.
        streaming.start()
        startup = self._ready(streaming)
        whole.start()
        capacity.start()
        self._ready(whole)
        self._ready(capacity)
        return startup

    def close(self) -> None:
        for daemon in self.daemons.values():
            daemon.stop()
        if self.client is not None:
            self.client.stop()
        for listener in self.listeners.values():
            listener.recording.close()
        for rig in self.rigs.values():
            rig.stop()
        self.broker.stop()

    # ---- measurements --------------------------------------------------------------------

    def _id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}-{self.counter}"

    def first_audio_ms(self, daemon: BenchDaemon, rig: str, payload: dict[str, Any]) -> float:
        """Publish -> first sound at the sink; then stop the request and let things settle."""
        client = self._client()
        listener = self.listeners[rig]
        daemon.wait_quiet()
        listener.wait_quiet()
        request_id = self._id(daemon.name)
        began = time.monotonic()
        client.publish(daemon.say_topic, {**payload, "id": request_id})
        heard = listener.first_sound(listener.end, timeout=120.0)
        client.publish(f"voice/{daemon.node}/stop", {"id": request_id})
        end = client.terminal(daemon.node, request_id, 60.0)
        if end["event"] != "finished" or end["result"] not in ("completed", "cancelled"):
            raise RuntimeError(f"{daemon.name}: request {request_id} ended {end}")
        return (heard - began) * 1000

    def play_through(self, daemon: BenchDaemon, rig: str, payload: dict[str, Any]) -> None:
        """Speak a request to the end (a warm-up, or to fill the cache)."""
        client = self._client()
        request_id = self._id(daemon.name)
        client.publish(daemon.say_topic, {**payload, "id": request_id})
        client.terminal(daemon.node, request_id, 120.0)
        daemon.wait_quiet()
        self.listeners[rig].wait_quiet()

    def first_audio(self) -> dict[str, Any]:
        streaming, whole = self.daemons["streaming"], self.daemons["whole_text"]
        # Warm-ups: the first request after start pays for lazy work; the phrase gets cached.
        self.play_through(streaming, "streaming", {"text": CACHED_PHRASE})
        self.play_through(whole, "whole", {"text": ONE_SENTENCE[0], "cache": False})
        repeats, long_repeats = self.plan.first_audio_repeats, self.plan.long_repeats
        cached = [
            self.first_audio_ms(streaming, "streaming", {"text": CACHED_PHRASE})
            for _ in range(repeats)
        ]
        one: dict[str, list[float]] = {"streaming": [], "whole_text": []}
        for index in range(repeats):
            payload = {"text": ONE_SENTENCE[index % len(ONE_SENTENCE)], "cache": False}
            one["streaming"].append(self.first_audio_ms(streaming, "streaming", payload))
            one["whole_text"].append(self.first_audio_ms(whole, "whole", payload))
        long: dict[str, list[float]] = {"streaming": [], "whole_text": []}
        for _ in range(long_repeats):
            payload = {"text": LONG, "cache": False}
            long["streaming"].append(self.first_audio_ms(streaming, "streaming", payload))
            long["whole_text"].append(self.first_audio_ms(whole, "whole", payload))
        return {
            "cached_phrase": _percentiles(cached) | {"text": CACHED_PHRASE},
            "uncached_sentence": _percentiles(one["streaming"]),
            "uncached_200_chars": _percentiles(long["streaming"]) | {"chars": len(LONG)},
            "streaming_disabled": {
                "uncached_sentence": _percentiles(one["whole_text"]),
                "uncached_200_chars": _percentiles(long["whole_text"]),
            },
            "gain": {
                "uncached_sentence": _ratio(one["whole_text"], one["streaming"]),
                "uncached_200_chars": _ratio(long["whole_text"], long["streaming"]),
            },
        }

    def _run_requests(
        self, daemon: BenchDaemon, payloads: list[dict[str, Any]], window: int = 40
    ) -> list[dict[str, Any]]:
        """Publish ``payloads`` keeping at most ``window`` unfinished; their finished events."""
        client = self._client()
        ids = [self._id(daemon.name) for _ in payloads]
        ends: list[dict[str, Any]] = []
        sent = 0
        while len(ends) < len(ids):
            while sent < len(ids) and sent - len(ends) < window:
                client.publish(daemon.say_topic, {**payloads[sent], "id": ids[sent]})
                sent += 1
            ends.append(client.terminal(daemon.node, ids[len(ends)], 300.0))
        return ends

    def throughput(self) -> dict[str, Any]:
        daemon = self.daemons["capacity"]
        self._run_requests(daemon, [{"text": SHORT.format(n=0), "cache": False}])  # warm-up
        daemon.wait_quiet()
        count = self.plan.queue_requests
        payloads = [{"text": SHORT.format(n=n + 1), "cache": False} for n in range(count)]
        began = time.monotonic()
        ends = self._run_requests(daemon, payloads, window=count)
        wall_s = time.monotonic() - began
        completed = [e for e in ends if e.get("result") == "completed"]
        audio_s = sum(e.get("audio_ms", 0) for e in completed) / 1000
        return {
            "requests": count,
            "completed": len(completed),
            "wall_s": round(wall_s, 3),
            "requests_per_s": round(count / wall_s, 2),
            "audio_s": round(audio_s, 2),
            "audio_s_per_s": round(audio_s / wall_s, 2),
            "device": "ALSA file pcm to /dev/null (faster than real time: the daemon's capacity)",
        }

    def memory(self) -> dict[str, Any]:
        daemon = self.daemons["capacity"]
        phrases = [CACHED_PHRASE, *ONE_SENTENCE]
        emotions = ["neutral", "happy", "sad", "angry", "calm"]

        def payload(n: int) -> dict[str, Any]:
            if n % 10 == 0:  # one in ten synthesized afresh
                return {"text": SHORT.format(n=n), "cache": False}
            return {"text": phrases[n % len(phrases)], "emotion": emotions[n % len(emotions)]}

        self._run_requests(daemon, [payload(n) for n in range(1, 21)])  # everything touched once
        daemon.wait_quiet()
        before = daemon.memory_mb()
        count = self.plan.soak_requests
        began = time.monotonic()
        ends = self._run_requests(daemon, [payload(n) for n in range(21, 21 + count)])
        wall_s = time.monotonic() - began
        daemon.wait_quiet()
        after = daemon.memory_mb()
        return {
            "requests": count,
            "completed": sum(1 for e in ends if e.get("result") == "completed"),
            "wall_s": round(wall_s, 2),
            "rss_before_mb": round(before, 1),
            "rss_after_mb": round(after, 1),
            "rss_growth_mb": round(after - before, 1),
            "peak_rss_mb": round(daemon.memory_mb("VmHWM"), 1),
        }

    def idle_cpu(self) -> dict[str, Any]:
        daemon = self.daemons["streaming"]
        daemon.wait_quiet()
        before, began = daemon.cpu_s(), time.monotonic()
        time.sleep(self.plan.idle_s)
        used, elapsed = daemon.cpu_s() - before, time.monotonic() - began
        return {
            "seconds": round(elapsed, 1),
            "cpu_percent_of_a_core": round(100 * used / elapsed, 3),
        }

    def run(self) -> dict[str, Any]:
        began = time.monotonic()
        result: dict[str, Any] = {}
        phases: dict[str, float] = {}
        try:
            for name, phase in (
                ("startup", self.setup),
                ("first_audio_ms", self.first_audio),
                ("throughput", self.throughput),
                ("memory", self.memory),
                ("idle", self.idle_cpu),
            ):
                phase_began = time.monotonic()
                result[name] = phase()
                phases[name] = round(time.monotonic() - phase_began, 1)
            result["rss_mb"] = {
                name: round(daemon.memory_mb(), 1) for name, daemon in self.daemons.items()
            }
        finally:
            self.close()
        result["plan"] = vars(self.plan)
        result["phase_s"] = phases
        result["seconds"] = round(time.monotonic() - began, 1)
        return result


def _percentiles(values: list[float]) -> dict[str, Any]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "p50": round(statistics.median(ordered), 1),
        "p95": round(p95, 1),
        "min": round(ordered[0], 1),
        "max": round(ordered[-1], 1),
        "n": len(ordered),
    }


def _ratio(slow: list[float], fast: list[float]) -> float:
    """How many times sooner the first sound comes (ratio of medians)."""
    return round(statistics.median(slow) / statistics.median(fast), 2)


def bench_daemon(settings: Settings, directory: Path, quick: bool) -> dict[str, Any]:
    return Bench(settings, directory, quick).run()
