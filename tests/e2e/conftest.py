"""Fixtures for end-to-end tests: broker, audio rigs, the real daemon, reference audio."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from daemon.engines.base import Audio
from tests.rig import AlsaCapture, Broker, PulseRig

#: Converted models are cached once per test session, as a device would keep them.
CACHE_DIR_NAME = "model-cache"


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp(CACHE_DIR_NAME)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    directory = tmp_path / "broker"
    directory.mkdir()
    server = Broker(directory)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def alsa(tmp_path: Path) -> AlsaCapture:
    directory = tmp_path / "alsa"
    directory.mkdir()
    return AlsaCapture(directory)


@pytest.fixture
def pulse(tmp_path: Path) -> Iterator[PulseRig]:
    directory = tmp_path / "pulse"
    directory.mkdir()
    rig = PulseRig(directory)
    rig.start()
    rig.start_capture()
    yield rig
    rig.stop()


@cache
def _engine(cache_dir: Path):  # type: ignore[no-untyped-def]
    from daemon.engines.fastspeech2 import FastSpeech2Engine

    engine = FastSpeech2Engine(threads=2, cache_dir=cache_dir)
    engine.load()
    return engine


@pytest.fixture
def reference(model_cache: Path):  # type: ignore[no-untyped-def]
    """What the daemon should play for a text: the same frontend and engine, in-process."""
    from daemon.settings import Settings
    from daemon.speaker import trim_leading_silence
    from daemon.text import normalize, split_sentences

    synthesis = Settings().synthesis

    def render(
        text: str,
        emotion: str = "neutral",
        speed: float = 1.0,
        *,
        streaming: bool = True,
        download: bool = False,
    ) -> Audio:
        """With streaming (the default) the daemon plays the first sentence as the engine's
        synthesize_stream hands it out, which may start a few samples apart; it starts to
        play just before the first sound (leading silence cut), unless it is a download."""
        engine = _engine(model_cache)
        voice = engine.default_voice()
        sentences = split_sentences(
            normalize(text).text,
            max_chars=synthesis.max_sentence_chars,
            first_max_chars=synthesis.first_sentence_chars,
        )
        pieces = [
            np.concatenate(
                list(engine.synthesize_stream(s, voice=voice, emotion=emotion, speed=speed))
            )
            if index == 0 and streaming
            else engine.synthesize(s, voice=voice, emotion=emotion, speed=speed)
            for index, s in enumerate(sentences)
        ]
        if not download:
            pieces[0] = trim_leading_silence(pieces[0], engine.sample_rate)
        return np.concatenate(pieces).astype(np.float32)

    return render
