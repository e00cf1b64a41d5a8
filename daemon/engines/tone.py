"""A deterministic beep engine for unit tests of queue logic. Never a default."""

from __future__ import annotations

import numpy as np

from daemon.engines.base import Audio, Engine, EngineError

_RATE = 16000
_EMOTIONS = {"neutral": 440.0, "happy": 660.0, "sad": 330.0}


class ToneEngine(Engine):
    """One 80 ms tone per character; the pitch encodes the emotion."""

    name = "tone"

    def __init__(self, seconds_per_char: float = 0.08) -> None:
        self._seconds_per_char = seconds_per_char

    @property
    def sample_rate(self) -> int:
        return _RATE

    def voices(self) -> list[str]:
        return ["beep"]

    def emotions(self, voice: str) -> list[str]:
        return list(_EMOTIONS)

    def load(self) -> None:
        """Nothing to load."""

    def synthesize(self, sentence: str, *, voice: str, emotion: str, speed: float) -> Audio:
        if voice != "beep":
            raise EngineError("unknown_voice", f"unknown voice {voice!r}; valid: beep")
        if emotion not in _EMOTIONS:
            raise EngineError("unknown_emotion", f"unknown emotion {emotion!r}")
        count = int(_RATE * self._seconds_per_char * len(sentence) / speed)
        time = np.arange(count, dtype=np.float32) / _RATE
        return (0.3 * np.sin(2 * np.pi * _EMOTIONS[emotion] * time)).astype(np.float32)
