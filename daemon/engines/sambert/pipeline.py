"""Acoustic model and vocoder overlapped on two threads.

The acoustic model (one thread: a long chain of tiny ops) takes ~1/4 of the work, the
vocoder the rest. Run one after the other, the second core idles during the acoustic
model. Here the calling thread runs the acoustic model and hands each finished block of
mel frames to the worker, which vocodes them single-threaded as they come; when the
acoustic model is done, the calling thread waits for the worker's current chunk and the
remaining chunks run with the vocoder's own two-thread split. Chunks are vocoded strictly
in order, one at a time (the causal stream's carried context), so the waveform is the
same as :meth:`HifiGanGenerator.stream`'s.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor

import torch
from torch import Tensor

from .vocoder import HifiGanGenerator, Stream

#: Chunk lengths are multiples of this (but for an utterance's last chunk): oneDNN
#: compiles and caches conv kernels for every new length (~0.1 MB each, up to 1024;
#: arbitrary lengths cost 85 MB more peak RSS in float32). Also the smallest worker chunk.
_STEP = 8


class _Feed:
    """Mel frames waiting for the vocoder, and the waveform so far."""

    def __init__(
        self, vocoder: HifiGanGenerator, pool: ThreadPoolExecutor, chunk: int, worker_chunk: int
    ) -> None:
        self.vocoder = vocoder
        self.pool = pool
        self.chunk = chunk
        self.worker_chunk = worker_chunk
        self.am_frames_left = 0  # frames the acoustic model has still to produce
        self.lock = threading.Lock()
        self.pending: list[Tensor] = []  # [n, num_mels] blocks, in order
        self.state: Stream = {}
        self.wav: list[Tensor] = []
        self.closed = False  # the calling thread has taken over
        self.running = False  # a drain task is queued or running
        self.future: Future[None] | None = None

    def put(self, mel: Tensor, frames_left: int) -> None:
        """Queue frames; start a drain task on the worker unless one is running."""
        if mel.shape[0] == 0:
            return
        with self.lock:
            self.am_frames_left = frames_left
            self.pending.append(mel)
            if self.running:
                return
            self.running = True
        # Only the calling thread submits: the single worker runs drains in order.
        self.future = self.pool.submit(self._drain)

    def finish(self) -> Tensor:
        """Stop the worker after its current chunk; vocode the rest with the split."""
        self.stop()
        # Equal chunks: a short last one costs nearly as much as a full one.
        left = sum(m.shape[0] for m in self.pending)
        size = -(-left // max(1, -(-left // self.chunk)))
        size = -(-size // _STEP) * _STEP
        while (chunk := self._take(size)) is not None:
            self.wav.append(self._vocode(chunk, split=True))
        return torch.cat(self.wav).float()

    def stop(self) -> None:
        with self.lock:
            self.closed = True
        if self.future is not None:
            self.future.result()  # re-raises the worker's error, if any

    def _take(self, limit: int) -> Tensor | None:
        """Up to ``limit`` frames from the front of the queue (caller holds the lock or
        is the only thread left)."""
        if not self.pending:
            return None
        if not self.closed:  # the worker, while more frames will come: whole steps only
            limit = min(limit, sum(m.shape[0] for m in self.pending)) // _STEP * _STEP
            if limit == 0:
                return None
        mel = self.pending[0] if len(self.pending) == 1 else torch.cat(self.pending)
        self.pending = [mel[limit:]] if mel.shape[0] > limit else []
        return mel[:limit]

    def _drain(self) -> None:
        """On the worker: vocode queued chunks, single-threaded, until none or closed."""
        try:
            with torch.inference_mode():  # thread-local: enter it here too
                while True:
                    with self.lock:
                        chunk = None if self.closed else self._take(self._worker_limit())
                        if chunk is None:
                            self.running = False
                            return
                    self.wav.append(self._vocode(chunk, split=False))
        except BaseException:
            with self.lock:
                self.running = False
            raise

    def _worker_limit(self) -> int:
        """Chunk size for the worker: shrinks as the acoustic model nears its end, so the
        calling thread seldom waits long for the worker's chunk in progress. The acoustic
        model makes a frame in about 0.4x the time the worker vocodes one."""
        return max(_STEP, min(self.worker_chunk, int(0.4 * self.am_frames_left)))

    def _vocode(self, mel: Tensor, split: bool) -> Tensor:
        x = mel.t().unsqueeze(0).to(self.vocoder.dtype)
        out: Tensor = self.vocoder(x, self.state, split=split)
        return out.reshape(-1)


def synthesize(
    mel_blocks: Iterable[Tensor],
    vocoder: HifiGanGenerator,
    pool: ThreadPoolExecutor,
    *,
    chunk_frames: int,
    worker_chunk_frames: int,
    total_frames: int,
) -> tuple[Tensor, Tensor]:
    """Mel ``[frames, num_mels]`` (all blocks) and float32 waveform ``[frames * hop]``.

    The worker vocodes at most ``worker_chunk_frames`` at a time, fewer towards the end
    of ``total_frames``: when the acoustic model ends, the calling thread waits for the
    worker's chunk in progress. Then ``chunk_frames`` at a time with the split. Call in
    inference mode; ``mel_blocks`` is consumed on the calling thread.
    """
    feed = _Feed(vocoder, pool, chunk_frames, worker_chunk_frames)
    mels = []
    try:
        done = 0
        for block in mel_blocks:
            mels.append(block)
            done += block.shape[0]
            feed.put(block, total_frames - done)
    except BaseException:
        feed.stop()
        raise
    return torch.cat(mels), feed.finish()
