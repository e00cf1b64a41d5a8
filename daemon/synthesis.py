"""The synthesis pool: engine calls run on worker threads, never on the event loop.

At most ``max_concurrent`` sentences are synthesized at once. Each result is checked
before it can reach the speaker: NaN, empty or absurdly long audio fails the request with
a clear code instead of playing noise.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from daemon.engines.base import Audio, Engine, EngineError

log = logging.getLogger(__name__)

#: No sentence needs more than this many seconds of audio per character.
_MAX_SECONDS_PER_CHAR = 2.0
_MIN_MAX_SECONDS = 10.0


class SynthesisError(Exception):
    """A sentence could not be synthesized; ``code`` is the event's error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Rendered:
    """One synthesized sentence and what it cost."""

    audio: Audio
    synth_s: float


class SynthesisPool:
    """Runs ``engine.synthesize`` on a bounded set of worker threads."""

    def __init__(self, engine: Engine, *, max_concurrent: int, timeout_s: float) -> None:
        self._engine = engine
        self._timeout_s = timeout_s
        self._max_concurrent = max_concurrent
        self._executor = ThreadPoolExecutor(max_workers=max_concurrent, thread_name_prefix="synth")
        #: Start times of engine calls in progress, by call; read by the watchdog.
        self._running: dict[int, float] = {}
        self._calls = itertools.count()

    def stuck_s(self) -> float:
        """How long the oldest engine call has been running beyond the timeout (0: none)."""
        running = list(self._running.values())
        if not running:
            return 0.0
        return max(0.0, time.monotonic() - min(running) - self._timeout_s)

    @property
    def sample_rate(self) -> int:
        return self._engine.sample_rate

    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def can_stream(self) -> bool:
        """Whether the engine hands out a sentence in pieces (``synthesize_stream``)."""
        return callable(getattr(self._engine, "synthesize_stream", None))

    def _run(self, sentence: str, voice: str, emotion: str, speed: float) -> Rendered:
        call = next(self._calls)
        self._running[call] = time.monotonic()
        began = time.perf_counter()
        try:
            audio = self._engine.synthesize(sentence, voice=voice, emotion=emotion, speed=speed)
        finally:
            del self._running[call]
        return Rendered(self._checked(audio, sentence), time.perf_counter() - began)

    def _checked(self, audio: object, sentence: str, before: int = 0) -> Audio:
        """``audio`` as float32 if it is sound; ``before``: samples of the same sentence
        already handed out (a piece of a stream may be empty, the whole may not)."""
        if not isinstance(audio, np.ndarray) or audio.ndim != 1:
            raise SynthesisError("engine_output", "the engine returned no 1-D sample array")
        if audio.size == 0 and not before:
            raise SynthesisError("engine_output", "the engine returned no audio")
        if not np.all(np.isfinite(audio)):
            raise SynthesisError("engine_output", "the engine returned NaN or infinite samples")
        limit = max(_MIN_MAX_SECONDS, _MAX_SECONDS_PER_CHAR * len(sentence))
        if before + audio.size > limit * self._engine.sample_rate:
            raise SynthesisError(
                "engine_output",
                f"the engine returned {(before + audio.size) / self._engine.sample_rate:.0f} s "
                f"of audio for {len(sentence)} characters",
            )
        return np.asarray(audio, dtype=np.float32)

    def _run_stream(
        self,
        sentence: str,
        voice: str,
        emotion: str,
        speed: float,
        *,
        push: Callable[[Audio | None], object],
        stop: threading.Event,
    ) -> float:
        """Hand the engine's pieces to ``push`` as they come (None last); the time taken."""
        call = next(self._calls)
        self._running[call] = time.monotonic()
        began = time.perf_counter()
        total = 0
        pieces: Iterator[Audio] = self._engine.synthesize_stream(  # type: ignore[attr-defined]
            sentence, voice=voice, emotion=emotion, speed=speed
        )
        try:
            for piece in pieces:
                if stop.is_set():
                    break
                checked = self._checked(piece, sentence, before=max(total, 1))
                total += checked.size
                if checked.size:
                    push(checked)
            else:
                if total == 0:
                    raise SynthesisError("engine_output", "the engine returned no audio")
        finally:
            close = getattr(pieces, "close", None)
            if callable(close):
                close()
            del self._running[call]
            push(None)
        return time.perf_counter() - began

    async def synthesize(
        self, sentence: str, *, voice: str, emotion: str, speed: float
    ) -> Rendered:
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._executor, self._run, sentence, voice, emotion, speed)
        try:
            return await asyncio.wait_for(future, self._timeout_s)
        except TimeoutError:
            # A worker that stays hung stops the systemd watchdog pings (see stuck_s), so
            # systemd restarts the daemon.
            raise self._timed_out() from None
        except (SynthesisError, EngineError):
            raise
        except Exception as error:
            log.exception("engine failed on %r", sentence[:40])
            raise SynthesisError("engine_error", f"{type(error).__name__}: {error}") from None

    def stream(self, sentence: str, *, voice: str, emotion: str, speed: float) -> SynthesisStream:
        """Synthesize on the pool (queued now, in order with other calls) and read the
        pieces as they come with ``async for``. Only for engines that :attr:`can_stream`."""
        return SynthesisStream(self, sentence, voice, emotion, speed)

    def _timed_out(self) -> SynthesisError:
        # The worker can't be interrupted: leave it to finish (or hang) on its own and
        # serve the next requests from fresh threads.
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._executor = ThreadPoolExecutor(
            max_workers=self._max_concurrent, thread_name_prefix="synth"
        )
        return SynthesisError("synth_timeout", f"synthesis took longer than {self._timeout_s:g} s")

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


class SynthesisStream:
    """One sentence's pieces as the engine produces them (see :meth:`SynthesisPool.stream`).

    The whole sentence is one job on the pool, so the pieces of the sentence played first
    never wait behind the synthesis of the next one. ``synth_s`` is set once all is read.
    """

    def __init__(
        self, pool: SynthesisPool, sentence: str, voice: str, emotion: str, speed: float
    ) -> None:
        loop = asyncio.get_running_loop()
        self._pool = pool
        self._sentence = sentence
        self._pieces: deque[Audio | None] = deque()
        self._arrived = asyncio.Event()
        self._stop = threading.Event()
        self._deadline = loop.time() + pool._timeout_s
        self._ended = False
        self.synth_s = 0.0
        run = functools.partial(
            pool._run_stream,
            push=lambda piece: loop.call_soon_threadsafe(self._add, piece),
            stop=self._stop,
        )
        self._job = loop.run_in_executor(pool._executor, run, sentence, voice, emotion, speed)

    def _add(self, piece: Audio | None) -> None:
        self._pieces.append(piece)
        self._arrived.set()

    def __aiter__(self) -> SynthesisStream:
        return self

    async def __anext__(self) -> Audio:
        if self._ended:
            raise StopAsyncIteration
        loop = asyncio.get_running_loop()
        while not self._pieces:
            # Only the engine's time counts: pieces already made wait for the player freely.
            self._arrived.clear()
            try:
                await asyncio.wait_for(
                    self._arrived.wait(), max(0.001, self._deadline - loop.time())
                )
            except TimeoutError:
                self.close()
                raise self._pool._timed_out() from None
        piece = self._pieces.popleft()
        if piece is not None:
            return piece
        self._ended = True
        try:
            self.synth_s = await self._job
        except (SynthesisError, EngineError):
            raise
        except Exception as error:
            log.exception("engine failed on %r", self._sentence[:40])
            raise SynthesisError("engine_error", f"{type(error).__name__}: {error}") from None
        raise StopAsyncIteration

    def close(self) -> None:
        """Stop early (the engine stops between pieces)."""
        self._stop.set()
        if not self._job.done():
            self._job.add_done_callback(_retrieve)
        else:
            _retrieve(self._job)


def _retrieve(future: asyncio.Future[float]) -> None:
    """Mark a job's exception as seen (an abandoned stream's failure is not news)."""
    if not future.cancelled():
        future.exception()
