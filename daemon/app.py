"""`voice-daemon run`: wires settings, engine, player, service and MQTT, one task per concern.

The broker connection comes first: availability is ``online`` within a second of start,
while the rest is imported and the engine loads (state ``ready: false``). Commands that
arrive meanwhile are held and handled in order once the service exists; requests then wait
for the engine like any other. The modules that are slow to import (the text frontend, the
engine runtime, aiohttp) are imported after the link has started, on a worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import signal
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from daemon.incoming import Incoming
from daemon.mqtt_link import MqttLink
from daemon.settings import AudioSettings, ConfigError, Settings
from daemon.systemd_notify import notify, watchdog_interval_s

if TYPE_CHECKING:
    from daemon.audio.player import Output, Player
    from daemon.engines import Engine
    from daemon.service import VoiceService

#: Imported once the link has started (together ~2 s on a small board, more under load).
_SLOW_MODULES = (
    "daemon.service",
    "daemon.audio.chimes",
    "daemon.audio.device",
    "daemon.audio.wav_output",
    "daemon.engines",
    "daemon.journal",
    "daemon.integrations.hermes",
    "daemon.integrations.homeassistant",
    "daemon.integrations.tooling",
)

log = logging.getLogger(__name__)


def make_output(settings: AudioSettings, source_rate: int) -> Output:
    from daemon.audio.device import DeviceOutput  # noqa: PLC0415 (see _SLOW_MODULES)
    from daemon.audio.wav_output import WavDirOutput  # noqa: PLC0415

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


def _load(settings: Settings) -> Engine:
    """The slow part of starting (worker thread): imports, and the engine built (not loaded)."""
    for module in _SLOW_MODULES:
        importlib.import_module(module)
    if settings.http.enabled:
        importlib.import_module("daemon.http")
    from daemon.engines import create_engine  # noqa: PLC0415

    return create_engine(settings.engine, settings.cache_dir)


async def _prepare_output(player: Player) -> None:
    """Open the sound card now rather than on the first announcement."""
    from daemon.audio.errors import AudioDeviceError  # noqa: PLC0415

    try:
        await player.prepare()
    except AudioDeviceError as error:
        log.warning("[-] output not ready yet (%s); it is tried again for each request", error)


async def run_daemon(settings: Settings) -> int:
    """Run until SIGTERM/SIGINT; returns the exit code."""
    began = time.monotonic()
    service: VoiceService | None = None
    held: list[Incoming] = []

    def on_message(message: Incoming) -> None:
        if service is None:
            held.append(message)  # handled once the service exists
        else:
            service.handle(message)

    def ready_check() -> None:
        if service is None:
            return
        service.publish_state()
        if service.ready.is_set():
            notify("READY=1")

    link = MqttLink(
        settings.mqtt, settings.node_id, on_message=on_message, on_connected=ready_check
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    log.info(
        "[-] voice-daemon starting: node %s, engine %s, broker %s:%d",
        settings.node_id,
        settings.engine.name,
        settings.mqtt.host,
        settings.mqtt.port,
    )
    link.start()

    engine = await asyncio.to_thread(_load, settings)
    from daemon.audio.chimes import Chimes  # noqa: PLC0415 (imported by _load)
    from daemon.audio.player import Player  # noqa: PLC0415
    from daemon.integrations.hermes import HermesBridge  # noqa: PLC0415
    from daemon.integrations.homeassistant import HomeAssistantDiscovery  # noqa: PLC0415
    from daemon.integrations.tooling import ToolingTopics  # noqa: PLC0415
    from daemon.journal import Journal, JournalError  # noqa: PLC0415
    from daemon.service import VoiceService  # noqa: PLC0415

    player = Player(
        make_output(settings.audio, engine.sample_rate),
        source_rate=engine.sample_rate,
        block_ms=settings.audio.block_ms,
        trailing_silence_ms=settings.audio.trailing_silence_ms,
        volume=settings.audio.volume,
        muted=settings.audio.muted,
    )
    preparing = asyncio.create_task(_prepare_output(player))
    journal = None
    if settings.queue.persist:
        try:
            journal = Journal(settings.journal_path, keep_finished=settings.queue.dedupe_ids)
        except JournalError as error:
            log.error("[-] %s; running without crash safety", error)
    chimes = await asyncio.to_thread(Chimes.load, settings.chimes, engine.sample_rate)
    voice_service = VoiceService(settings, engine, player, link, journal, chimes=chimes)
    http = None
    if settings.http.enabled:
        from daemon.http import HttpServer, HttpServerError  # noqa: PLC0415

        http = HttpServer(settings, voice_service, engine)
        try:
            await http.start()
        except (ConfigError, HttpServerError) as failure:
            log.error("[-] cannot start the web page and HTTP API: %s", failure)
            await asyncio.to_thread(link.stop)
            await preparing
            player.close()
            if journal is not None:
                journal.close()
            return 2 if isinstance(failure, ConfigError) else 1

    # Restored after every door's listener is in place, so each sees their queued event.
    restored = voice_service.restore()
    if restored:
        log.info("[-] %d unfinished request(s) restored from %s", restored, settings.journal_path)

    # Integrations subscribe and listen through the link's and the service's extension points
    # (the link may be connected already: both extension points allow for that).
    HomeAssistantDiscovery(
        settings.homeassistant, settings.node_id, link, voice_service, engine
    ).install()
    HermesBridge(
        settings.hermes,
        link,
        voice_service,
        sample_rate=engine.sample_rate,
        max_text_chars=settings.queue.max_text_chars,
        priority=settings.queue.default_priority,
    ).install()
    ToolingTopics(settings, link, voice_service, engine, cache=voice_service.phrase_cache).install()
    service = voice_service
    for message in held:
        service.handle(message)
    held.clear()
    if link.connected.is_set():
        service.publish_state()
    log.info(
        "[-] serving %.2f s after start; loading engine %s", time.monotonic() - began, engine.name
    )
    tasks = [asyncio.create_task(_supervise("speaker", service.run))]
    interval = watchdog_interval_s()
    if interval:
        tasks.append(asyncio.create_task(_watchdog(interval, service.health_problem)))
    exit_code = 0
    loader = asyncio.create_task(service.load_engine())
    stopper = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait({loader, stopper}, return_when=asyncio.FIRST_COMPLETED)
    if loader in done and loader.exception() is not None:
        log.error("[-] cannot load engine %s: %s", engine.name, loader.exception())
        exit_code = 1
    else:
        if loader in done and link.connected.is_set():
            notify("READY=1")
        await stopper
    notify("STOPPING=1")
    log.info("[-] shutting down")
    loader.cancel()
    preparing.cancel()
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
