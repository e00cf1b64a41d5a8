"""The daemon's core: accepts commands, keeps the queue, runs one speaker, reports state.

Everything here runs on the asyncio event loop; blocking work (engine load, synthesis,
playback) is awaited from worker threads. Every accepted request ends in exactly one
``finished`` event, published from a ``finally`` block.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from daemon import __version__, events
from daemon.audio.chimes import Chimes
from daemon.audio.errors import AudioDeviceError
from daemon.audio.player import Player
from daemon.engines.base import Engine, EngineError
from daemon.events import Failure, ReplyTo, Result
from daemon.incoming import Incoming
from daemon.journal import Journal, JournalError
from daemon.phrase_cache import AsyncPhraseCache, PhraseCache
from daemon.recent_ids import RecentIds
from daemon.request import (
    Rejected,
    SayRequest,
    StopCommand,
    parse_say,
    parse_set,
    parse_stop,
    peek_id,
)
from daemon.request_queue import RequestQueue
from daemon.settings import PrewarmPhrase, Settings
from daemon.speaker import Job, Speaker, TextPlan
from daemon.synthesis import SynthesisError, SynthesisPool
from daemon.text import normalize

log = logging.getLogger(__name__)


class Publisher(Protocol):
    """Where events and state go (MQTT in the daemon, a list in unit tests)."""

    def event(self, event: dict[str, Any], reply_to: ReplyTo | None) -> None: ...
    def state(self, state: dict[str, Any]) -> None: ...


class VoiceService:
    """Queue, speaker and state of one voice daemon."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        player: Player,
        publisher: Publisher,
        journal: Journal | None = None,
        *,
        chimes: Chimes | None = None,
    ) -> None:
        self._settings = settings
        self._journal = journal
        self._chimes = chimes
        self._engine = engine
        self._player = player
        self._publisher = publisher
        self._listeners: list[Callable[[dict[str, Any]], None]] = []
        self._state_listeners: list[Callable[[dict[str, Any]], None]] = []
        self._pool = SynthesisPool(
            engine,
            max_concurrent=settings.synthesis.max_concurrent,
            timeout_s=settings.synthesis.timeout_s,
        )
        self._cache = (
            AsyncPhraseCache(
                PhraseCache(settings.phrase_cache_dir, int(settings.cache.max_mb * 1_000_000))
            )
            if settings.cache.enabled
            else None
        )
        self._prewarming: asyncio.Task[None] | None = None
        self._speaker = Speaker(
            self._pool,
            player,
            TextPlan(
                settings.synthesis.max_sentence_chars, settings.synthesis.first_sentence_chars
            ),
            lookahead=settings.synthesis.max_concurrent,
            cache=self._cache,
            streaming=settings.synthesis.streaming,
        )
        self._queue = RequestQueue(settings.queue.max_length)
        self._recent = RecentIds(settings.queue.dedupe_ids)
        self._wakeup = asyncio.Event()
        self.ready = asyncio.Event()
        self._current: Job | None = None
        self._activity = "idle"
        self._last_error: str | None = None
        self._accepting = True
        self._default_voice = settings.engine.voice
        self._default_emotion = settings.engine.emotion
        self._started_at = time.monotonic()

    # ---- state ---------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        return {
            "state": self._activity,
            "current": self._current.request.id if self._current else None,
            "queue": len(self._queue),
            "volume": self._player.volume,
            "muted": self._player.muted,
            "engine": self._engine.name,
            "voice": self._voice_or_default(None) if self.ready.is_set() else self._default_voice,
            "emotion": self._default_emotion,
            "ready": self.ready.is_set(),
            "last_error": self._last_error,
            "version": __version__,
            "uptime_s": round(time.monotonic() - self._started_at),
        }

    def health_problem(self) -> str | None:
        """Why the daemon can no longer serve (a hung worker), or None when it is healthy."""
        stuck = self._pool.stuck_s()
        if stuck > 0:
            return f"a synthesis worker is hung ({stuck:.0f} s past synthesis.timeout_s)"
        stuck = self._player.stuck_s()
        if stuck > 0:
            return f"the playback worker is hung ({stuck:.0f} s without progress)"
        return None

    def add_listener(self, listener: Callable[[dict[str, Any]], None]) -> None:
        """Also hand every event to ``listener`` (on the event loop), e.g. HTTP or Hermes."""
        self._listeners.append(listener)

    def add_state_listener(self, listener: Callable[[dict[str, Any]], None]) -> None:
        """Also hand every published state to ``listener`` (on the event loop)."""
        self._state_listeners.append(listener)

    @property
    def phrase_cache(self) -> AsyncPhraseCache | None:
        """The phrase cache (None when disabled)."""
        return self._cache

    @property
    def synthesis_pool(self) -> SynthesisPool:
        """The pool the speaker synthesizes on (other doors share its CPU bound)."""
        return self._pool

    def _emit(self, event: dict[str, Any], reply_to: ReplyTo | None) -> None:
        self._publisher.event(event, reply_to)
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:
                log.exception("[%s] an event listener failed", event.get("id") or "-")

    def publish_state(self) -> None:
        state = self.state()
        self._publisher.state(state)
        for listener in self._state_listeners:
            try:
                listener(state)
            except Exception:
                log.exception("[-] a state listener failed")

    def _set_activity(self, activity: str) -> None:
        if activity != self._activity:
            self._activity = activity
            self.publish_state()

    # ---- engine --------------------------------------------------------------------------

    async def load_engine(self) -> None:
        """Load the engine off the loop; requests wait (they don't fail) until it is ready."""
        began = time.perf_counter()
        opening = asyncio.create_task(self._open_cache())
        await asyncio.to_thread(self._engine.load)
        await opening
        log.info("engine %s ready in %.2f s", self._engine.name, time.perf_counter() - began)
        self.ready.set()
        self._check_defaults()
        self.publish_state()
        self._wakeup.set()
        if self._cache is not None and self._settings.cache.prewarm:
            self._prewarming = asyncio.create_task(self._prewarm())

    async def _open_cache(self) -> None:
        if self._cache is None:
            return
        try:
            await self._cache.open()
        except OSError as error:
            log.error("[-] phrase cache unusable, running without it: %s", error)

    async def _prewarm(self) -> None:
        """Render the configured phrases into the cache, one sentence at a time, while no
        request is waiting or playing."""
        rendered = 0
        for entry in self._settings.cache.prewarm:
            phrase = PrewarmPhrase(text=entry) if isinstance(entry, str) else entry
            voice = self._voice_or_default(phrase.voice)
            emotion = phrase.emotion or self._default_emotion
            if voice not in self._engine.voices() or emotion not in self._engine.emotions(voice):
                log.error("[-] cache.prewarm: %r needs an unknown voice or emotion", phrase.text)
                continue
            while self._current is not None or len(self._queue):
                await asyncio.sleep(0.1)
            try:
                rendered += await self._speaker.prewarm(
                    phrase.text, voice=voice, emotion=emotion, speed=phrase.speed
                )
            except (SynthesisError, EngineError) as error:
                log.error("[-] cache.prewarm: cannot render %r: %s", phrase.text, error)
        log.info("[-] phrase cache prewarmed: %d sentence(s) rendered", rendered)

    def _check_defaults(self) -> None:
        voices = self._engine.voices()
        if self._default_voice is not None and self._default_voice not in voices:
            raise EngineError(
                "unknown_voice",
                f"engine.voice: unknown voice {self._default_voice!r}; valid: {', '.join(voices)}",
            )
        emotions = self._engine.emotions(self._voice_or_default(None))
        if self._default_emotion not in emotions:
            raise EngineError(
                "unknown_emotion",
                f"engine.emotion: unknown emotion {self._default_emotion!r}; "
                f"valid: {', '.join(emotions)}",
            )

    def resolve(self, request: SayRequest) -> tuple[str, str]:
        """The request's voice and emotion, checked against the engine; raises Rejected."""
        return self._resolve(request)

    def _voice_or_default(self, voice: str | None) -> str:
        return voice or self._default_voice or self._engine.default_voice()

    def _resolve(self, request: SayRequest) -> tuple[str, str]:
        """The request's voice and emotion, checked against the engine."""
        voices = self._engine.voices()
        voice = self._voice_or_default(request.voice)
        if voice not in voices:
            raise Rejected(
                "unknown_voice", f"voice: unknown {voice!r}; valid: {', '.join(voices)}", request.id
            )
        emotion = request.emotion or self._default_emotion
        emotions = self._engine.emotions(voice)
        if emotion not in emotions:
            raise Rejected(
                "unknown_emotion",
                f"emotion: unknown {emotion!r} for voice {voice}; valid: {', '.join(emotions)}",
                request.id,
            )
        return voice, emotion

    # ---- commands ------------------------------------------------------------------------

    def handle(self, message: Incoming) -> None:
        """Entry point for every command; never raises."""
        try:
            if message.kind == "say":
                self._handle_say(message)
            elif message.kind == "stop":
                self._handle_stop(message)
            elif message.kind == "set":
                self._handle_set(message)
        except Rejected as rejected:
            log.warning("[%s] rejected %s: %s", rejected.request_id or "-", message.kind, rejected)
            self._emit(
                events.rejected(rejected.request_id, rejected.code, rejected.message),
                message.reply_to if message.kind == "say" else None,
            )
        except Exception:
            log.exception("[-] unexpected error handling a %s command", message.kind)
        finally:
            if message.ack is not None:
                message.ack()

    def _handle_say(self, message: Incoming) -> None:
        if message.retained:
            log.warning(
                "[%s] ignoring a retained say (it would replay at every restart)",
                peek_id(message.payload) or "-",
            )
            return
        limit = self._settings.mqtt.max_payload_bytes
        if len(message.payload) > limit:
            raise Rejected(
                "payload_too_large",
                f"payload is {len(message.payload)} bytes, the limit is {limit}",
                None,
            )
        request = parse_say(
            message.payload,
            max_text_chars=self._settings.queue.max_text_chars,
            default_priority=self._settings.queue.default_priority,
            reply_to=message.reply_to,
        )
        self.accept(request)

    def accept(self, request: SayRequest) -> None:
        """Queue a parsed request (also the entry point for non-MQTT doors)."""
        if not self._accepting:
            raise Rejected("shutting_down", "the daemon is shutting down", request.id)
        if (
            request.id in self._recent
            or request.id in self._queue
            or (self._current is not None and self._current.request.id == request.id)
        ):
            raise Rejected("duplicate", f"request {request.id} was already received", request.id)
        if self.ready.is_set():
            self._resolve(request)
        self._check_chime(request)
        if request.audio is None and not normalize(request.text).text.strip("，。！？；：、"):
            raise Rejected("unspeakable_text", "text: nothing in it can be read aloud", request.id)
        position = self._queue.push(request)
        self._recent.add(request.id)
        # A raw audio clip (Hermes playBytes) is not journaled: its sender waits for the
        # answer now and would not want it played after a restart.
        if self._journal is not None and request.audio is None:
            try:
                self._journal.add(request)
            except JournalError as error:
                log.error("[%s] %s (the request is kept in memory only)", request.id, error)
        log.info(
            "[%s] queued at %d (%s, %d chars)",
            request.id,
            position,
            request.priority,
            len(request.text),
        )
        self._emit(events.queued(request.id, position), None)
        if request.preempts and self._current is not None:
            current = self._current.request
            # A playing critical alert is only pre-empted by another critical one.
            if request.priority == "critical" or current.priority != "critical":
                log.info("[%s] pre-empted by %s", current.id, request.id)
                self._current.stop(Failure("preempted", f"pre-empted by request {request.id}"))
        self.publish_state()
        self._wakeup.set()

    def _check_chime(self, request: SayRequest) -> None:
        """A chime named in a request must be one of the configured set."""
        if not isinstance(request.chime, str):
            return
        if self._chimes is None or not self._chimes.known(request.chime):
            known = ", ".join(self._chimes.names) if self._chimes else "none"
            raise Rejected(
                "unknown_chime", f"chime: unknown {request.chime!r}; valid: {known}", request.id
            )

    def restore(self) -> int:
        """Queue again what the journal holds from before a crash; remember finished ids."""
        if self._journal is None:
            return 0
        for request_id in self._journal.finished_ids():
            self._recent.add(request_id)
        restored = self._journal.pending()
        for request in restored:
            self._queue.push(request, force=True)
            self._recent.add(request.id)
            log.info("[%s] restored from the journal", request.id)
            self._emit(events.queued(request.id, self._queue.position(request.id)), None)
        if restored:
            self.publish_state()
            self._wakeup.set()
        return len(restored)

    def _handle_stop(self, message: Incoming) -> None:
        self.stop(parse_stop(message.payload))

    def stop(self, command: StopCommand) -> None:
        """Stop what is playing, cancel one request, or both and the queue; raises Rejected
        (unknown_id). Also the entry point for non-MQTT doors."""
        reason = Failure("stopped", "stopped by a stop command")
        if command.all:
            for request in self._queue.clear():
                self._finish(request, "cancelled", reason)
            if self._current is not None:
                self._current.stop(reason)
        elif command.id is not None:
            queued = self._queue.remove(command.id)
            if queued is not None:
                self._finish(queued, "cancelled", reason)
            elif self._current is not None and self._current.request.id == command.id:
                self._current.stop(reason)
            else:
                raise Rejected(
                    "unknown_id", f"no queued or playing request {command.id}", command.id
                )
        elif self._current is not None:
            self._current.stop(reason)
        self.publish_state()

    def _handle_set(self, message: Incoming) -> None:
        command = parse_set(message.payload)
        if command.voice is not None or command.emotion is not None:
            if not self.ready.is_set():
                raise Rejected("not_ready", "voice and emotion can be set once the engine is ready")
            voices = self._engine.voices()
            voice = command.voice or self._voice_or_default(None)
            if voice not in voices:
                raise Rejected(
                    "unknown_voice", f"voice: unknown {voice!r}; valid: {', '.join(voices)}"
                )
            emotion = command.emotion or self._default_emotion
            if emotion not in self._engine.emotions(voice):
                valid = ", ".join(self._engine.emotions(voice))
                raise Rejected("unknown_emotion", f"emotion: unknown {emotion!r}; valid: {valid}")
            self._default_voice, self._default_emotion = voice, emotion
        if command.volume is not None:
            self._player.volume = command.volume
        if command.muted is not None:
            self._player.muted = command.muted
        log.info(
            "[-] settings now volume=%.2f muted=%s voice=%s emotion=%s",
            self._player.volume,
            self._player.muted,
            self._default_voice,
            self._default_emotion,
        )
        self.publish_state()

    # ---- speaking ------------------------------------------------------------------------

    def _finish(
        self, request: SayRequest, result: Result, failure: Failure | None, job: Job | None = None
    ) -> None:
        """The one terminal event of a request; then it leaves the journal."""
        duration_ms = (time.monotonic() - request.received) * 1000
        log.info(
            "[%s] finished %s in %.0f ms%s",
            request.id,
            result,
            duration_ms,
            f" ({failure.code})" if failure else "",
        )
        try:
            self._emit(
                events.finished(
                    request.id,
                    result,
                    duration_ms=duration_ms,
                    synth_ms=job.synth_s * 1000 if job else 0.0,
                    audio_ms=job.audio_s * 1000 if job else 0.0,
                    failure=failure,
                ),
                request.reply_to,
            )
        finally:
            if job is not None:
                job.finished = True
            if self._journal is not None:
                self._journal.finish(request.id)

    def _settle(self, job: Job) -> None:
        """The terminal event of a job whose task was cancelled before its first step: its
        coroutine never ran, so ``_speak``'s ``finally`` could not send one."""
        if not job.finished and job.task is not None and job.task.done():
            failure = job.reason or Failure("shutdown", "the daemon is shutting down")
            self._finish(job.request, "cancelled", failure, job)

    async def run(self) -> None:
        """Speak queued requests one at a time, forever."""
        while True:
            request = self._queue.pop() if self.ready.is_set() else None
            if request is None:
                self._set_activity("idle")
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            await self._serve(request)

    async def _serve(self, request: SayRequest) -> None:
        if request.expired(time.monotonic()):
            failure = Failure("expired", f"older than its ttl of {request.ttl:g} s")
            self._finish(request, "expired", failure)
            return
        try:
            voice, emotion = self._resolve(request)
        except Rejected as rejected:
            self._finish(request, "failed", Failure(rejected.code, rejected.message))
            return
        chime = self._chimes.for_request(request) if self._chimes else None
        job = Job(request, voice, emotion, chime=chime[1] if chime else None)
        if chime:
            log.info("[%s] chime %s first", request.id, chime[0])
        # The task exists before anyone can see the job as current, so a stop always has
        # a task to cancel.
        job.task = asyncio.create_task(self._speak(job))
        self._current = job
        try:
            self._set_activity("synthesizing")
            await asyncio.wait([job.task])
        finally:
            self._current = None
            self._settle(job)

    async def _speak(self, job: Job) -> None:
        request = job.request
        result: Result = "failed"
        failure: Failure | None = Failure("internal_error", "the request ended unexpectedly")
        try:
            await self._speaker.speak(
                job,
                on_speaking=lambda: self._set_activity("speaking"),
                on_first_audio=lambda latency: self._on_first_audio(job, latency),
            )
            result, failure = "completed", None
        except asyncio.CancelledError:
            result = "cancelled"
            failure = job.reason or Failure("shutdown", "the daemon is shutting down")
        except AudioDeviceError as error:
            failure = Failure("audio_device", str(error))
            self._last_error = f"audio_device: {error}"
            log.error("[%s] audio device: %s", request.id, error)
        except (SynthesisError, EngineError) as error:
            failure = Failure(error.code, error.message)
            self._last_error = f"{error.code}: {error.message}"
            log.error("[%s] synthesis failed: %s", request.id, error.message)
        except Exception as error:
            log.exception("[%s] unexpected failure", request.id)
            failure = Failure("internal_error", f"{type(error).__name__}: {error}")
            self._last_error = failure.message
        finally:
            self._finish(request, result, failure, job)

    def _on_first_audio(self, job: Job, latency_s: float) -> None:
        if self._last_error and self._last_error.startswith("audio_device"):
            self._last_error = None  # the device works again
        log.info("[%s] started, %.0f ms after receipt", job.request.id, latency_s * 1000)
        self._emit(events.started(job.request.id, latency_s * 1000), None)

    # ---- shutdown ------------------------------------------------------------------------

    async def shutdown(self, timeout_s: float = 3.0) -> None:
        """Stop intake, cancel everything pending (code shutdown), wait for the speaker."""
        self._accepting = False
        reason = Failure("shutdown", "the daemon is shutting down")
        for request in self._queue.clear():
            self._finish(request, "cancelled", reason)
        job = self._current
        if job is not None and job.task is not None:
            job.stop(reason)
            await asyncio.wait([job.task], timeout=timeout_s)
            self._settle(job)
        if self._prewarming is not None:
            self._prewarming.cancel()
        self._pool.close()
        if self._cache is not None:
            self._cache.close()
