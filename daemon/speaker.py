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

import numpy as np

from daemon.audio.player import Player
from daemon.engines.base import Audio
from daemon.events import Failure
from daemon.phrase_cache import AsyncPhraseCache, CacheKey, key_for
from daemon.request import SayRequest
from daemon.synthesis import Rendered, SynthesisPool, SynthesisStream
from daemon.text import normalize, split_sentences

log = logging.getLogger(__name__)

#: Digital silence before the first word is waiting, not sound: an announcement starts
#: this close to its first sample above -80 dBFS (engines pad utterances with ~50 ms).
LEAD_KEEP_S = 0.002
_LEAD_FLOOR = 1e-4


def trim_leading_silence(audio: Audio, rate: int) -> Audio:
    """``audio`` from :data:`LEAD_KEEP_S` before its first audible sample."""
    audible = np.flatnonzero(np.abs(audio) > _LEAD_FLOOR)
    if audible.size == 0:
        return audio
    return audio[max(0, int(audible[0]) - round(LEAD_KEEP_S * rate)) :]


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
    finished: bool = False
    """Set once its terminal event is out (the service checks it so none is lost)."""

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
    """Streams one job's sentences from the phrase cache or the synthesis pool into the player.

    With ``streaming`` the first sentence plays as soon as its first piece is ready (engines
    with ``synthesize_stream`` hand it out while the vocoder still works) and the next ones
    are synthesized meanwhile; without, the whole text is synthesized before playback
    starts (the usual non-streaming TTS service, kept for comparison). Cache lookups run on
    the cache's own thread: they never wait behind a synthesis.
    """

    def __init__(
        self,
        pool: SynthesisPool,
        player: Player,
        plan: TextPlan,
        lookahead: int,
        *,
        cache: AsyncPhraseCache | None = None,
        streaming: bool = True,
    ) -> None:
        self._pool = pool
        self._player = player
        self._plan = plan
        self._lookahead = max(1, lookahead)
        self._cache = cache
        self._streaming = streaming

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
        use_cache = self._cache is not None and request.cache
        first_block = self._first_block_callback(job, on_first_audio)
        streamed = 1 if self._streaming else 0
        renders: dict[int, asyncio.Task[Rendered]] = {}

        def render_ahead(upto: int) -> None:
            for index in range(streamed, min(len(sentences), upto)):
                if index not in renders:
                    renders[index] = asyncio.create_task(
                        self._render(job, sentences[index], use_cache)
                    )

        stream: SynthesisStream | None = None
        cancelled = True
        try:
            if self._streaming:
                first = await self._open_first(job, sentences[0], use_cache)
                render_ahead(1 + self._lookahead)
                if isinstance(first, SynthesisStream):
                    stream = first
                    await self._play_stream(
                        job,
                        sentences[0],
                        stream,
                        use_cache=use_cache,
                        on_speaking=on_speaking,
                        first_block=first_block,
                    )
                else:
                    await self._play_next(job, first, on_speaking, first_block)
            else:
                render_ahead(len(sentences))
                await asyncio.gather(*renders.values())  # the whole text, then playback
            for index in range(streamed, len(sentences)):
                render_ahead(index + 1 + self._lookahead)
                await self._play_next(job, await renders[index], on_speaking, first_block)
            await self._player.finish(cancelled=False)
            cancelled = False
        finally:
            if stream is not None:
                stream.close()
            for task in renders.values():
                if task.done() and not task.cancelled():
                    task.exception()  # retrieved, so asyncio doesn't warn about it
                task.cancel()
            if cancelled:
                await self._player.finish(cancelled=True)

    def _key(self, job: Job, sentence: str) -> CacheKey:
        return key_for(
            self._pool.engine,
            sentence,
            voice=job.voice,
            emotion=job.emotion,
            speed=job.request.speed,
        )

    async def _render(self, job: Job, sentence: str, use_cache: bool) -> Rendered:
        """One whole sentence: from the cache, else synthesized (and then cached)."""
        cache = self._cache if use_cache else None
        key = self._key(job, sentence)
        if cache is not None:
            audio = await cache.get(key)
            if audio is not None:
                log.debug("[%s] from the phrase cache: %s", job.request.id, sentence)
                return Rendered(audio, 0.0)
        rendered = await self._pool.synthesize(
            sentence, voice=job.voice, emotion=job.emotion, speed=job.request.speed
        )
        if cache is not None:
            cache.put(key, rendered.audio)
        return rendered

    async def _open_first(
        self, job: Job, sentence: str, use_cache: bool
    ) -> Rendered | SynthesisStream:
        """The first sentence: cached audio, else a stream already queued on the pool
        (before the sentences after it), else the whole synthesized sentence."""
        if self._pool.can_stream:
            if use_cache and self._cache is not None:
                audio = await self._cache.get(self._key(job, sentence))
                if audio is not None:
                    log.debug("[%s] from the phrase cache: %s", job.request.id, sentence)
                    return Rendered(audio, 0.0)
            return self._pool.stream(
                sentence, voice=job.voice, emotion=job.emotion, speed=job.request.speed
            )
        return await self._render(job, sentence, use_cache)

    async def _play_stream(
        self,
        job: Job,
        sentence: str,
        stream: SynthesisStream,
        *,
        use_cache: bool,
        on_speaking: Callable[[], None],
        first_block: Callable[[], None],
    ) -> None:
        """Play a sentence's pieces as they come; cache the whole once it is complete."""
        pieces: list[Audio] = []
        async for piece in stream:
            pieces.append(piece)
            await self._play_next(job, Rendered(piece, 0.0), on_speaking, first_block)
        job.synth_s += stream.synth_s
        if use_cache and self._cache is not None:
            self._cache.put(self._key(job, sentence), np.concatenate(pieces))

    async def _play_next(
        self,
        job: Job,
        rendered: Rendered,
        on_speaking: Callable[[], None],
        first_block: Callable[[], None],
    ) -> None:
        """Play the next piece of the job (after its chime, the first time)."""
        job.synth_s += rendered.synth_s
        audio = rendered.audio
        callback: Callable[[], None] | None = None
        if not job.started:
            job.started = True
            on_speaking()
            callback = first_block
            if job.chime is not None:
                # Chime and first sentence back to back: the chime waits for the
                # sentence's audio, so nothing separates them in the stream.
                await self._play(job, job.chime, callback)
                callback = None
            else:
                audio = trim_leading_silence(audio, self._pool.sample_rate)
        job.audio_s += audio.size / self._pool.sample_rate
        await self._play(job, audio, callback)

    async def prewarm(self, text: str, *, voice: str, emotion: str, speed: float) -> int:
        """Render the sentences of ``text`` that the cache lacks; how many were rendered."""
        if self._cache is None:
            return 0
        rendered = 0
        for sentence in await asyncio.to_thread(self._plan.sentences, text, "prewarm"):
            key = key_for(self._pool.engine, sentence, voice=voice, emotion=emotion, speed=speed)
            if await self._cache.get(key) is not None:
                continue
            result = await self._pool.synthesize(
                sentence, voice=voice, emotion=emotion, speed=speed
            )
            await self._cache.store(key, result.audio)
            rendered += 1
        return rendered

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
