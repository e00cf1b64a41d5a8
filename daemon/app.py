"""`voice-daemon run`: wires settings, engine, player, service and MQTT, one task per concern."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path

from daemon.audio.chimes import Chimes
from daemon.audio.device import DeviceOutput
from daemon.audio.player import Output, Player
from daemon.audio.wav_output import WavDirOutput
from daemon.engines import create_engine
from daemon.http import HttpServer, HttpServerError
from daemon.integrations.hermes import HermesBridge
from daemon.integrations.homeassistant import HomeAssistantDiscovery
from daemon.integrations.tooling import ToolingTopics
from daemon.journal import Journal, JournalError
from daemon.mqtt_link import MqttLink
from daemon.service import VoiceService
from daemon.settings import AudioSettings, ConfigError, Settings
from daemon.systemd_notify import notify, watchdog_interval_s

log = logging.getLogger(__name__)


def make_output(settings: AudioSettings, source_rate: int) -> Output:
    if settings.output == "wav_dir":
        return WavDirOutput(Path(settings.wav_dir), settings.sample_rate or source_rate)
    return DeviceOutput(settings.device, source_rate, settings.sample_rate)


async def _supervise(name: str, work: Callable[[], Awaitable[None]]) -> None:
    """Run a long-lived task; log and restart it with back-off if it ever fails."""
    delay = 1.0
    while True:
        try:
            await work()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("[-] task %s failed; restarting in %.0f s", name, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 60.0)


async def _watchdog(interval_s: float, health_problem: Callable[[], str | None]) -> None:
    """Ping systemd's watchdog while the daemon can serve; a hung worker stops the pings,
    so systemd restarts the service (the journal keeps what was queued)."""
    reported = False
    while True:
        problem = health_problem()
        if problem is None:
            notify("WATCHDOG=1")
            reported = False
        elif not reported:
            log.error("[-] %s; withholding watchdog pings so systemd restarts the service", problem)
            reported = True
        await asyncio.sleep(interval_s)


async def run_daemon(settings: Settings) -> int:
    """Run until SIGTERM/SIGINT; returns the exit code."""
    engine = create_engine(settings.engine, settings.cache_dir)
    player = Player(
        make_output(settings.audio, engine.sample_rate),
        source_rate=engine.sample_rate,
        block_ms=settings.audio.block_ms,
        trailing_silence_ms=settings.audio.trailing_silence_ms,
        volume=settings.audio.volume,
        muted=settings.audio.muted,
    )
    service: VoiceService

    def ready_check() -> None:
        service.publish_state()
        if service.ready.is_set():
            notify("READY=1")

    link = MqttLink(
        settings.mqtt,
        settings.node_id,
        on_message=lambda message: service.handle(message),  # noqa: PLW0108 (bound later)
        on_connected=ready_check,
    )
    journal = None
    if settings.queue.persist:
        try:
            journal = Journal(settings.journal_path, keep_finished=settings.queue.dedupe_ids)
        except JournalError as error:
            log.error("[-] %s; running without crash safety", error)
    chimes = await asyncio.to_thread(Chimes.load, settings.chimes, engine.sample_rate)
    service = VoiceService(settings, engine, player, link, journal, chimes=chimes)
    restored = service.restore()
    if restored:
        log.info("[-] %d unfinished request(s) restored from %s", restored, settings.journal_path)
    http = HttpServer(settings, service, engine) if settings.http.enabled else None
    if http is not None:
        try:
            await http.start()
        except (ConfigError, HttpServerError) as failure:
            log.error("[-] cannot start the web page and HTTP API: %s", failure)
            player.close()
            if journal is not None:
                journal.close()
            return 2 if isinstance(failure, ConfigError) else 1

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)

    log.info(
        "[-] voice-daemon starting: node %s, engine %s, broker %s:%d",
        settings.node_id,
        engine.name,
        settings.mqtt.host,
        settings.mqtt.port,
    )
    # Integrations subscribe and listen through the link's and the service's extension points.
    HomeAssistantDiscovery(
        settings.homeassistant, settings.node_id, link, service, engine
    ).install()
    HermesBridge(
        settings.hermes,
        link,
        service,
        sample_rate=engine.sample_rate,
        max_text_chars=settings.queue.max_text_chars,
        priority=settings.queue.default_priority,
    ).install()
    ToolingTopics(settings, link, service, engine, cache=service.phrase_cache).install()
    link.start()
    tasks = [asyncio.create_task(_supervise("speaker", service.run))]
    interval = watchdog_interval_s()
    if interval:
        tasks.append(asyncio.create_task(_watchdog(interval, service.health_problem)))
    exit_code = 0
    loader = asyncio.create_task(service.load_engine())
    stopper = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait({loader, stopper}, return_when=asyncio.FIRST_COMPLETED)
    if loader in done and loader.exception() is not None:
        error = loader.exception()
        log.error("[-] cannot load engine %s: %s", engine.name, error)
        exit_code = 1
    else:
        if loader in done and link.connected.is_set():
            notify("READY=1")
        await stopper
    notify("STOPPING=1")
    log.info("[-] shutting down")
    loader.cancel()
    await service.shutdown()
    if http is not None:
        await http.close()
    for task in tasks:
        task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.to_thread(link.stop)
    player.close()
    if journal is not None:
        journal.close()
    return exit_code
