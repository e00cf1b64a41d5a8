"""An engine plug-in for fault tests: the embedded voice, misbehaving on trigger words.

Loaded by the real daemon through ``engine.name: plugin`` and
``engine.plugin: tests.fault_engine:FaultEngine``. Triggers are Chinese words so they
survive text normalization.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from daemon.engines.base import Audio, Engine
from daemon.engines.fastspeech2 import FastSpeech2Engine
from daemon.settings import EngineSettings

RAISE, HANG, NAN, EMPTY, ENDLESS = "故障抛出", "故障挂起", "故障无效", "故障空白", "故障超长"


class FaultEngine(Engine):
    name = "fault"

    def __init__(self, settings: EngineSettings, cache_dir: Path) -> None:
        self._voice = FastSpeech2Engine(threads=settings.threads, cache_dir=cache_dir)

    @property
    def sample_rate(self) -> int:
        return self._voice.sample_rate

    def voices(self) -> list[str]:
        return self._voice.voices()

    def emotions(self, voice: str) -> list[str]:
        return self._voice.emotions(voice)

    def load(self) -> None:
        self._voice.load()

    def synthesize(self, sentence: str, *, voice: str, emotion: str, speed: float) -> Audio:
        if RAISE in sentence:
            raise RuntimeError("injected engine failure")
        if HANG in sentence:
            time.sleep(3600)
        if NAN in sentence:
            return np.full(1000, np.nan, dtype=np.float32)
        if EMPTY in sentence:
            return np.zeros(0, dtype=np.float32)
        if ENDLESS in sentence:
            return np.zeros(self.sample_rate * 600, dtype=np.float32)
        return self._voice.synthesize(sentence, voice=voice, emotion=emotion, speed=speed)
