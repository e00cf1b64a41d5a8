"""Speaking one request: text frontend -> synthesis pool -> player, sentence by sentence.

The next sentences are synthesized while the current one plays, and played strictly in
order, so the first sound comes after the first (short) sentence, not after the whole text.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from daemon.audio.player import Player
from daemon.engines.base import Audio
from daemon.events import Failure
from daemon.request import SayRequest
from daemon.synthesis import Rendered, SynthesisPool
from daemon.text import normalize, split_sentences

log = logging.getLogger(__name__)


@dataclass
class Job:
    """The request being spoken, and how to stop it."""

    request: SayRequest
    voice: str
    emotion: str
    cancel: threading.Event = field(default_factory=threading.Event)
    """Set to stop playback between blocks (read by the player thread)."""
    reason: Failure | None = None
    """Why it was cancelled (stopped, preempted, shutdown)."""
    task: asyncio.Task[None] | None = None
    chime: Audio | None = None
    """Played gap-free right before the first sentence (same stream), if set."""
    synth_s: float = 0.0
    audio_s: float = 0.0
    started: bool = False

    def stop(self, reason: Failure) -> None:
        if self.reason is None:
            self.reason = reason
        self.cancel.set()
        if self.task is not None:
            self.task.cancel()


@dataclass(frozen=True)
class TextPlan:
    """How a request's text is cut for streaming."""

    max_sentence_chars: int
    first_sentence_chars: int

    def sentences(self, text: str, request_id: str) -> list[str]:
        normalized = normalize(text)
        if normalized.dropped:
            log.warning(
                "[%s] cannot read %d character(s): %s",
                request_id,
                len(normalized.dropped),
                " ".join(repr(char) for char in normalized.dropped[:10]),
            )
        return split_sentences(
            normalized.text,
            max_chars=self.max_sentence_chars,
            first_max_chars=self.first_sentence_chars,
        )


class Speaker:
    """Streams one job's sentences from the synthesis pool into the player."""

    def __init__(self, pool: SynthesisPool, player: Player, plan: TextPlan, lookahead: int) -> None:
        self._pool = pool
        self._player = player
        self._plan = plan
        self._lookahead = max(1, lookahead)

    async def speak(
        self,
        job: Job,
        *,
        on_speaking: Callable[[], None],
        on_first_audio: Callable[[float], None],
    ) -> None:
        """Speak the whole job. Raises on failure; CancelledError when stopped."""
        request = job.request
        if request.audio is not None:
            await self._play_clip(job, request.audio, on_speaking, on_first_audio)
            return
        sentences = await asyncio.to_thread(self._plan.sentences, request.text, request.id)
        if not sentences:
            return
        log.info(
            "[%s] %d sentence(s), voice %s, emotion %s",
            request.id,
            len(sentences),
            job.voice,
            job.emotion,
        )
        pending: list[asyncio.Task[Rendered]] = []
        first_block: Callable[[], None] | None = self._first_block_callback(job, on_first_audio)

        cancelled = True
        try:
            for index in range(len(sentences)):
                while len(pending) < min(len(sentences), index + 1 + self._lookahead):
                    sentence = sentences[len(pending)]
                    pending.append(
                        asyncio.create_task(
                            self._pool.synthesize(
                                sentence, voice=job.voice, emotion=job.emotion, speed=request.speed
                            )
                        )
                    )
                rendered = await pending[index]
                job.synth_s += rendered.synth_s
                job.audio_s += rendered.audio.size / self._pool.sample_rate
                if not job.started:
                    job.started = True
                    on_speaking()
                    if job.chime is not None:
                        # Chime and first sentence back to back: the chime waits for the
                        # sentence's audio, so nothing separates them in the stream.
                        await self._play(job, job.chime, first_block)
                        first_block = None
                await self._play(job, rendered.audio, first_block if index == 0 else None)
            await self._player.finish(cancelled=False)
            cancelled = False
        finally:
            for task in pending:
                if task.done() and not task.cancelled():
                    task.exception()  # retrieved, so asyncio doesn't warn about it
                task.cancel()
            if cancelled:
                await self._player.finish(cancelled=True)

    @staticmethod
    def _first_block_callback(
        job: Job, on_first_audio: Callable[[float], None]
    ) -> Callable[[], None]:
        """Called on the player thread with the first block; reports latency on the loop."""
        loop = asyncio.get_running_loop()

        def first_block() -> None:
            latency = time.monotonic() - job.request.received
            loop.call_soon_threadsafe(on_first_audio, latency)

        return first_block

    async def _play(
        self, job: Job, audio: Audio, on_first_block: Callable[[], None] | None
    ) -> None:
        """Play one piece of the job's stream; CancelledError when stopped meanwhile."""
        played = await self._player.play(
            job.request.id,
            audio,
            request_volume=job.request.volume,
            cancel=job.cancel,
            on_first_block=on_first_block,
        )
        if not played:
            raise asyncio.CancelledError

    async def _play_clip(
        self,
        job: Job,
        clip: Audio,
        on_speaking: Callable[[], None],
        on_first_audio: Callable[[float], None],
    ) -> None:
        """A raw audio request (e.g. Hermes playBytes): no synthesis, same stream rules."""
        log.info(
            "[%s] playing a %.2f s audio clip", job.request.id, clip.size / self._pool.sample_rate
        )
        first_block: Callable[[], None] | None = self._first_block_callback(job, on_first_audio)
        job.audio_s += clip.size / self._pool.sample_rate
        job.started = True
        on_speaking()
        cancelled = True
        try:
            if job.chime is not None:
                await self._play(job, job.chime, first_block)
                first_block = None
            await self._play(job, clip, first_block)
            await self._player.finish(cancelled=False)
            cancelled = False
        finally:
            if cancelled:
                await self._player.finish(cancelled=True)
