"""The synthesis pool: engine calls run on worker threads, never on the event loop.

At most ``max_concurrent`` sentences are synthesized at once. Each result is checked
before it can reach the speaker: NaN, empty or absurdly long audio fails the request with
a clear code instead of playing noise.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
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

    def _run(self, sentence: str, voice: str, emotion: str, speed: float) -> Rendered:
        call = next(self._calls)
        self._running[call] = time.monotonic()
        began = time.perf_counter()
        try:
            audio = self._engine.synthesize(sentence, voice=voice, emotion=emotion, speed=speed)
        finally:
            del self._running[call]
        return Rendered(self._checked(audio, sentence), time.perf_counter() - began)

    def _checked(self, audio: object, sentence: str) -> Audio:
        if not isinstance(audio, np.ndarray) or audio.ndim != 1:
            raise SynthesisError("engine_output", "the engine returned no 1-D sample array")
        if audio.size == 0:
            raise SynthesisError("engine_output", "the engine returned no audio")
        if not np.all(np.isfinite(audio)):
            raise SynthesisError("engine_output", "the engine returned NaN or infinite samples")
        limit = max(_MIN_MAX_SECONDS, _MAX_SECONDS_PER_CHAR * len(sentence))
        if audio.size > limit * self._engine.sample_rate:
            raise SynthesisError(
                "engine_output",
                f"the engine returned {audio.size / self._engine.sample_rate:.0f} s of audio "
                f"for {len(sentence)} characters",
            )
        return np.asarray(audio, dtype=np.float32)

    async def synthesize(
        self, sentence: str, *, voice: str, emotion: str, speed: float
    ) -> Rendered:
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._executor, self._run, sentence, voice, emotion, speed)
        try:
            return await asyncio.wait_for(future, self._timeout_s)
        except TimeoutError:
            # The worker can't be interrupted: leave it to finish (or hang) on its own and
            # serve the next requests from fresh threads. A worker that stays hung stops
            # the systemd watchdog pings (see stuck_s), so systemd restarts the daemon.
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = ThreadPoolExecutor(
                max_workers=self._max_concurrent, thread_name_prefix="synth"
            )
            raise SynthesisError(
                "synth_timeout", f"synthesis took longer than {self._timeout_s:g} s"
            ) from None
        except (SynthesisError, EngineError):
            raise
        except Exception as error:
            log.exception("engine failed on %r", sentence[:40])
            raise SynthesisError("engine_error", f"{type(error).__name__}: {error}") from None

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
