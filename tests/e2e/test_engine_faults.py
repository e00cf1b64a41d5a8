"""An engine that raises, returns garbage or hangs: that request fails with a clear code, the
daemon keeps serving, and a hung worker stops the systemd watchdog pings."""

from __future__ import annotations

import signal
import socket
import threading
import time
from pathlib import Path

import pytest

from tests.fault_engine import EMPTY, ENDLESS, HANG, NAN, RAISE
from tests.rig import AlsaCapture, Broker, Daemon, Watcher, wait_ready, wait_until

pytestmark = [pytest.mark.e2e]


class NotifySocket:
    """Stands in for systemd: records the daemon's sd_notify datagrams with their times."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.2)
        self.messages: list[tuple[float, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            self.messages.append((time.monotonic(), data.decode()))

    def pings_since(self, moment: float) -> int:
        return sum(1 for at, text in self.messages if at > moment and "WATCHDOG=1" in text)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


def test_engine_faults_and_watchdog(
    tmp_path: Path, broker: Broker, alsa: AlsaCapture, model_cache: Path
) -> None:
    notify = NotifySocket(tmp_path / "notify.sock")
    config = {
        "engine": {
            "name": "plugin",
            "plugin": "tests.fault_engine:FaultEngine",
            "cache_dir": str(model_cache),
        },
        "audio": {"device": alsa.device},
        "synthesis": {"timeout_s": 2.0},
    }
    env = {**alsa.env(), "NOTIFY_SOCKET": str(notify.path), "WATCHDOG_USEC": "1000000"}
    watcher = Watcher(broker.port).start()
    daemon = Daemon(tmp_path, broker.port, config=config, env=env).start()
    try:
        wait_ready(watcher, daemon)
        wait_until(lambda: any("READY=1" in text for _, text in notify.messages), 10, "READY=1")
        healthy_since = time.monotonic()
        time.sleep(1.5)
        assert notify.pings_since(healthy_since) >= 2  # every 0.5 s while healthy
        for request_id, trigger, code in [
            ("raises", RAISE, "engine_error"),
            ("nan", NAN, "engine_output"),
            ("empty", EMPTY, "engine_output"),
            ("endless", ENDLESS, "engine_output"),
        ]:
            watcher.say({"text": f"测试{trigger}。", "id": request_id})
            finished = watcher.wait_terminal(request_id, 30)
            assert (finished["result"], finished["error"]["code"]) == ("failed", code), finished
            watcher.say({"text": "还能正常播报。", "id": f"after-{request_id}"})
            assert watcher.wait_terminal(f"after-{request_id}", 30)["result"] == "completed"
        faults_done = time.monotonic()
        time.sleep(1.2)
        assert notify.pings_since(faults_done) >= 2  # faults that end are no hang

        watcher.say({"text": f"测试{HANG}。", "id": "hangs"})
        finished = watcher.wait_terminal("hangs", 30)
        assert (finished["result"], finished["error"]["code"]) == ("failed", "synth_timeout")
        # It keeps serving from fresh workers...
        watcher.say({"text": "挂起之后。", "id": "after-hang"})
        assert watcher.wait_terminal("after-hang", 30)["result"] == "completed"
        # ...but the hung worker withholds the watchdog pings, so systemd would restart it.
        wait_until(lambda: "withholding watchdog pings" in daemon.log(), 10, "the hang report")
        quiet_from = time.monotonic()
        time.sleep(2.0)
        assert notify.pings_since(quiet_from) == 0
        assert daemon.alive()
        # SIGTERM still ends it promptly: the hung worker is not waited for.
        began = time.monotonic()
        daemon.signal(signal.SIGTERM)
        assert daemon.wait(10) == 0
        assert time.monotonic() - began < 5
    finally:
        daemon.stop()
        watcher.stop()
        notify.close()
