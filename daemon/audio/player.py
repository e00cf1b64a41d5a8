"""The playback worker: one thread owns the output and writes announcements in small blocks.

Only this thread touches the sound device (as in OVOS audio). The event loop awaits its
work through a single-thread executor; a stop is a ``threading.Event`` checked between
blocks, so it takes effect within one block (~20 ms) plus the device's buffer, which is
dropped.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from math import gcd
from typing import Any, Protocol, TypeVar

import numpy as np

from daemon.audio.stream_resampler import StreamResampler
from daemon.engines.base import Audio

log = logging.getLogger(__name__)

T = TypeVar("T")


class Output(Protocol):
    """Where samples go: a sound card or a directory of WAV files."""

    rate: int

    def begin(self) -> None: ...
    def write(self, block: Audio) -> None: ...
    def end(self, *, discard: bool) -> None: ...
    def close(self) -> None: ...


def resample(audio: Audio, source_rate: int, target_rate: int) -> Audio:
    if source_rate == target_rate or audio.size == 0:
        return audio
    from scipy.signal import resample_poly  # noqa: PLC0415 (slow import, rarely needed)

    divisor = gcd(source_rate, target_rate)
    converted = resample_poly(audio, target_rate // divisor, source_rate // divisor)
    return np.asarray(converted, dtype=np.float32)


class Player:
    """Plays announcements sentence by sentence through one :class:`Output`."""

    def __init__(
        self,
        output: Output,
        *,
        source_rate: int,
        block_ms: int,
        trailing_silence_ms: int,
        volume: float,
        muted: bool,
    ) -> None:
        self._output = output
        self._source_rate = source_rate
        self._block_ms = block_ms
        self._trailing_silence_ms = trailing_silence_ms
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="player")
        #: Master volume and mute, read by the worker at every block (set from the loop).
        self.volume = volume
        self.muted = muted
        self.request_id = ""
        #: One announcement is resampled as one stream (pieces join without clicks), and
        #: its first-block callback waits for the first samples that reach the output.
        self._resampler: StreamResampler | None = None
        self._first_block: Callable[[], None] | None = None
        self._volume = 1.0
        #: When the worker last made progress while busy (None: idle); read by the watchdog.
        self._busy_since: float | None = None

    def stuck_s(self, allowance_s: float = 5.0) -> float:
        """How long the worker has been stuck on one block beyond ``allowance_s`` (0: fine)."""
        since = self._busy_since
        if since is None:
            return 0.0
        return max(0.0, time.monotonic() - since - allowance_s)

    def _progress(self) -> None:
        self._busy_since = time.monotonic()

    def _gain(self, request_volume: float) -> float:
        return 0.0 if self.muted else self.volume * request_volume

    def _play(
        self,
        request_id: str,
        audio: Audio,
        request_volume: float,
        cancel: threading.Event,
        on_first_block: Callable[[], None] | None,
    ) -> bool:
        if self.request_id != request_id:
            self.request_id = request_id
            if hasattr(self._output, "request_id"):
                self._output.request_id = request_id
            self._output.begin()
            self._resampler = None
            if self._output.rate != self._source_rate:
                self._resampler = StreamResampler(self._source_rate, self._output.rate)
        if on_first_block is not None:
            self._first_block = on_first_block
        self._volume = request_volume
        samples = self._resampler.feed(audio) if self._resampler else audio
        block = max(1, self._output.rate * self._block_ms // 1000)
        for start in range(0, samples.size, block):
            if cancel.is_set():
                return False
            self._write(samples[start : start + block])
        return not cancel.is_set()

    def _write(self, samples: Audio) -> None:
        if samples.size == 0:
            return
        chunk = samples * np.float32(self._gain(self._volume))
        self._progress()
        self._output.write(np.clip(chunk, -1.0, 1.0))
        if self._first_block is not None:
            callback, self._first_block = self._first_block, None
            callback()

    def _finish(self, cancelled: bool) -> None:
        if not self.request_id:
            return
        try:
            if not cancelled and self._resampler is not None:
                self._write(self._resampler.flush())
            if not cancelled and self._trailing_silence_ms:
                silence = np.zeros(
                    self._output.rate * self._trailing_silence_ms // 1000, np.float32
                )
                self._output.write(silence)
            self._output.end(discard=cancelled)
        finally:
            self.request_id = ""
            self._resampler = None
            self._first_block = None

    async def play(
        self,
        request_id: str,
        audio: Audio,
        *,
        request_volume: float,
        cancel: threading.Event,
        on_first_block: Callable[[], None] | None = None,
    ) -> bool:
        """Play one sentence; False when cancelled. Raises AudioDeviceError."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor,
            self._tracked,
            self._play,
            request_id,
            audio,
            request_volume,
            cancel,
            on_first_block,
        )

    async def prepare(self) -> None:
        """Open the output before the first announcement needs it (the first open of a
        sound card costs 50-250 ms, mostly loading PortAudio; restarting an open stream
        for each announcement costs ~0.3 ms). Raises AudioDeviceError."""
        prepare = getattr(self._output, "prepare", None)
        if prepare is not None:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(self._executor, self._tracked, prepare)

    async def finish(self, *, cancelled: bool) -> None:
        """End the announcement: trailing silence and drain, or drop the buffer on a stop."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._tracked, self._finish, cancelled)

    def _tracked(self, work: Callable[..., T], *args: Any) -> T:
        self._progress()
        try:
            return work(*args)
        finally:
            self._busy_since = None

    def close(self) -> None:
        self._executor.submit(self._output.close)
        self._executor.shutdown(wait=True)
