"""``POST /api/synth``: a request's audio as a WAV file, without playing it.

The same text plan (normalize, split) and the same synthesis pool as the speaker, so the
file holds what the device would play, and downloads share the pool's CPU bound with
announcements instead of competing with them.
"""

from __future__ import annotations

import asyncio
import io
import logging

import numpy as np
import soundfile

from daemon.engines.base import Audio
from daemon.request import Rejected, SayRequest
from daemon.speaker import TextPlan
from daemon.synthesis import SynthesisPool

log = logging.getLogger(__name__)


class Renderer:
    """Renders one request at a time to WAV bytes (a second waits for the first)."""

    def __init__(self, pool: SynthesisPool, plan: TextPlan) -> None:
        self._pool = pool
        self._plan = plan
        self._turn = asyncio.Lock()

    @property
    def sample_rate(self) -> int:
        return self._pool.sample_rate

    async def render(self, request: SayRequest, voice: str, emotion: str) -> bytes:
        """16-bit WAV of the whole request at the engine's rate, request volume applied.

        Raises :class:`Rejected` (unspeakable_text) and the pool's ``SynthesisError``."""
        sentences = await asyncio.to_thread(self._plan.sentences, request.text, request.id)
        if not sentences:
            raise Rejected("unspeakable_text", "text: nothing in it can be read aloud", request.id)
        async with self._turn:
            pieces: list[Audio] = []
            for sentence in sentences:
                rendered = await self._pool.synthesize(
                    sentence, voice=voice, emotion=emotion, speed=request.speed
                )
                pieces.append(rendered.audio)
        audio = np.concatenate(pieces)
        log.info(
            "[%s] rendered %d sentence(s), %.2f s of audio, for download",
            request.id,
            len(sentences),
            audio.size / self.sample_rate,
        )
        return await asyncio.to_thread(wav_bytes, audio, self.sample_rate, request.volume)


def wav_bytes(audio: Audio, rate: int, volume: float = 1.0) -> bytes:
    """Mono 16-bit PCM WAV of ``audio`` scaled by ``volume``."""
    samples = np.clip(audio.astype(np.float32) * np.float32(volume), -1.0, 1.0)
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()
