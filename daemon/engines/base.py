"""The one small interface every speech engine implements.

The daemon hands an engine one *normalized* sentence at a time (the shared text
frontend in :mod:`daemon.text` has already expanded numbers, units and Latin letters and
split the text into sentences). The engine turns it into mono float32 samples in [-1, 1]
at its own sample rate; the player resamples and applies volume.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np
import numpy.typing as npt

Audio = npt.NDArray[np.float32]


class EngineError(Exception):
    """A request the engine cannot serve; ``code`` is the stable event code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Engine(ABC):
    """A speech engine: load once, then synthesize sentences from worker threads."""

    #: Short engine name as used in the config (``engine: fastspeech2``).
    name: str = ""

    @property
    @abstractmethod
    def sample_rate(self) -> int:
        """Sample rate of the audio :meth:`synthesize` returns."""

    @abstractmethod
    def voices(self) -> list[str]:
        """Voice names; the first is the default."""

    @abstractmethod
    def emotions(self, voice: str) -> list[str]:
        """Emotions the given voice can speak; ``neutral`` is always among them."""

    @abstractmethod
    def load(self) -> None:
        """Load models (slow; called once, off the event loop) and warm up."""

    @abstractmethod
    def synthesize(self, sentence: str, *, voice: str, emotion: str, speed: float) -> Audio:
        """Speak one normalized sentence; returns mono float32 at :attr:`sample_rate`.

        ``speed`` is a rate factor (2.0 = twice as fast). Raises :class:`EngineError`
        for input the engine cannot speak. Must be safe to call from a worker thread
        (the synthesis pool serializes calls up to its concurrency cap).
        """

    @property
    def revision(self) -> str:
        """Identifies the model files, so caches keyed on it notice a model change."""
        return "0"

    def default_voice(self) -> str:
        return self.voices()[0]
