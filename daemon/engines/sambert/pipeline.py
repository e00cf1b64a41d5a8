"""One line on two threads: the vocoder beside the acoustic model, then split.

The acoustic model (one thread: a long chain of tiny ops) takes ~1/3 of the work, the
vocoder the rest. For long lines the calling thread runs the acoustic model and hands
each finished block of mel frames to the worker, which vocodes them as they come
(:func:`synthesize`). Whatever is left when the acoustic model is done is cut in two
(:func:`vocode`): the calling thread carries the stream on through the first part while
the worker vocodes the second from a fresh stream that starts
:func:`~.vocoder.context_frames` early. Every layer is causal with a finite reach, so
that second part's samples are exactly those of one continuous stream, and each thread
runs long convolutions with no hand-off in between.

Short lines (:func:`synthesize_short`) have too little left for that cut to pay off
(the recomputed context, two padded ends): the worker vocodes their first chunk while
the decoder runs, then both threads share each chunk of the rest, stage by stage.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from .vocoder import CHUNK_STEP, HifiGanGenerator, Stream, beside, in_inference_mode

if TYPE_CHECKING:
    from .acoustic import AcousticPlan, SambertAcousticModel


def vocode(
    vocoder: HifiGanGenerator,
    mel: Tensor,
    pool: ThreadPoolExecutor,
    *,
    chunk_frames: int,
    state: Stream | None = None,
) -> Tensor:
    """Mel ``[frames, num_mels]`` -> float32 waveform ``[frames * hop]``, continuing
    ``state`` (an earlier part of the stream) if given; the stream ends here.

    With enough frames, the last part runs on the worker (see the module doc); it
    recomputes the context frames, so under twice that both threads share each chunk
    instead. Call in inference mode.
    """
    frames = mel.shape[0]
    context = vocoder.context
    x = mel.t().unsqueeze(0)
    if frames <= 2 * context:
        return vocoder.stream(x, chunk_frames, state, ends=True, pool=pool).reshape(-1)
    # Equal work on both threads; the first part in whole steps (cached conv kernels).
    head = min(frames, -(-(frames + context) // (2 * CHUNK_STEP)) * CHUNK_STEP)
    skip = context * vocoder.p.hop_size
    first, last = beside(
        pool,
        lambda: vocoder.stream(x[:, :, :head], chunk_frames, state, ends=True),
        lambda: vocoder.stream(x[:, :, head - context :], chunk_frames, ends=True),
    )
    return torch.cat([first.reshape(-1), last.reshape(-1)[skip:]])


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
        self.state: Stream = []
        self.wav: list[Tensor] = []
        self.closed = False  # the calling thread has taken over
        self.running = False  # a drain task is queued or running
        self.future: Future[None] | None = None
        self.failure: BaseException | None = None  # a drain's error (its future may be replaced)

    def put(self, mel: Tensor, frames_left: int) -> None:
        """Queue frames; start a drain task on the worker unless one is running."""
        if self.failure is not None:
            raise self.failure
        if mel.shape[0] == 0:
            return
        with self.lock:
            self.am_frames_left = frames_left
            self.pending.append(mel)
            if self.running:
                return
            self.running = True
        # Only the calling thread submits: the single worker runs drains in order.
        self.future = self.pool.submit(in_inference_mode, self._drain)

    def finish(self) -> Tensor:
        """Stop the worker after its current chunk; vocode the rest on both threads."""
        self.stop()
        if self.pending:
            rest = torch.cat(self.pending)
            self.pending = []
            self.wav.append(
                vocode(self.vocoder, rest, self.pool, chunk_frames=self.chunk, state=self.state)
            )
        return torch.cat(self.wav).float()

    def stop(self) -> None:
        with self.lock:
            self.closed = True
        if self.future is not None:
            self.future.result()  # re-raises the last drain's error, if any
        if self.failure is not None:
            raise self.failure

    def _take(self, limit: int) -> Tensor | None:
        """Whole steps, up to ``limit`` frames, from the front of the queue (the caller
        holds the lock)."""
        limit = min(limit, sum(m.shape[0] for m in self.pending)) // CHUNK_STEP * CHUNK_STEP
        if limit == 0:
            return None
        mel = self.pending[0] if len(self.pending) == 1 else torch.cat(self.pending)
        self.pending = [mel[limit:]] if mel.shape[0] > limit else []
        return mel[:limit]

    def _drain(self) -> None:
        """On the worker: vocode queued chunks until none or closed."""
        try:
            while True:
                with self.lock:
                    chunk = None if self.closed else self._take(self._worker_limit())
                    if chunk is None:
                        self.running = False
                        return
                x = chunk.t().unsqueeze(0)
                self.wav.append(self.vocoder.stream(x, self.chunk, self.state).reshape(-1))
        except BaseException as exc:
            with self.lock:
                self.running = False
                self.failure = exc
            raise

    def _worker_limit(self) -> int:
        """Chunk size for the worker: shrinks as the acoustic model nears its end, so the
        calling thread seldom waits long for the worker's chunk in progress. The acoustic
        model makes a frame in about 0.4x the time the worker vocodes one."""
        return max(CHUNK_STEP, min(self.worker_chunk, int(0.4 * self.am_frames_left)))


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
    worker's chunk in progress, then :func:`vocode` does the rest. Call in inference
    mode; ``mel_blocks`` is consumed on the calling thread.
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


def synthesize_short(
    am: SambertAcousticModel,
    plan: AcousticPlan,
    vocoder: HifiGanGenerator,
    pool: ThreadPoolExecutor,
    *,
    chunk_frames: int,
    head_steps: int,
    head_frames: int,
) -> tuple[Tensor, Tensor]:
    """A line too short for :func:`synthesize`: mel ``[frames, num_mels]`` and float32
    waveform ``[frames * hop]``.

    The worker vocodes the line's first ``head_frames`` while the decoder goes on: the
    postnet run on the decoder's first ``head_steps`` steps already gives them exactly
    (its look-ahead is short), and the worker runs it too. Then the whole postnet, and
    the rest of the stream on both threads (each stage's residual blocks split, see
    :meth:`~.vocoder.HifiGanGenerator.forward`): no frame is vocoded twice, and only the
    stream's last chunk is padded. Call in inference mode.
    """
    state: Stream = []
    head: Future[Tensor] | None = None
    blocks = []
    try:
        for dec in am.iter_decoder(plan, head_steps):
            blocks.append(dec)
            ready = dec.shape[0] - am.mel_postnet.lookahead
            if len(blocks) == 1 and 0 < head_frames <= ready:
                head = pool.submit(
                    in_inference_mode,
                    functools.partial(_head, am, vocoder, dec, head_frames, chunk_frames, state),
                )
        mel = am.postnet_mel(torch.cat(blocks))
    except BaseException:
        if head is not None:
            wait([head])  # it reads the same tensors
        raise
    parts = [] if head is None else [head.result()]
    rest = mel[head_frames if head is not None else 0 :].t().unsqueeze(0)
    parts.append(vocoder.stream(rest, chunk_frames, state, ends=True, pool=pool).reshape(-1))
    return mel, torch.cat(parts).float()


def _head(  # noqa: PLR0917 - a worker task's arguments
    am: SambertAcousticModel,
    vocoder: HifiGanGenerator,
    dec: Tensor,
    frames: int,
    chunk_frames: int,
    state: Stream,
) -> Tensor:
    """On the worker: the first ``frames`` of the line, from the decoder's first block."""
    x = am.postnet_mel(dec)[:frames].t().unsqueeze(0)
    return vocoder.stream(x, chunk_frames, state).reshape(-1)
