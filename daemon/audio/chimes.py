"""Chimes: short sounds played right before an announcement, in the same stream.

The ``default`` chime is generated here (a two-note "ding-dong" with soft harmonics), so
the feature works without any sound file. More chimes are read from the files named in the
config (``chimes.files``); a message can only pick a name, never a path. Every chime is
converted once, at start, to mono float32 at the engine's sample rate, so the player treats
it like the first sentence of the announcement.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Final

import numpy as np
import soundfile

from daemon.audio.player import resample
from daemon.engines.base import Audio
from daemon.request import SayRequest
from daemon.settings import ChimeSettings

log = logging.getLogger(__name__)

DEFAULT_CHIME: Final = "default"
#: Longer files are cut: a chime announces, it doesn't play music.
MAX_CHIME_S: Final = 10.0
#: Peak level of chimes, a little below speech so they don't startle.
_PEAK: Final = 0.5


class ChimeError(Exception):
    """A chime file cannot be used."""


def _note(frequency: float, seconds: float, rate: int) -> Audio:
    """One bell-like note: a fundamental and two partials with exponential decay."""
    time = np.arange(int(seconds * rate), dtype=np.float64) / rate
    tone = (
        np.sin(2 * np.pi * frequency * time)
        + 0.35 * np.sin(2 * np.pi * 2 * frequency * time)
        + 0.12 * np.sin(2 * np.pi * 3 * frequency * time)
    )
    envelope = np.exp(-time * 5.0) * np.minimum(1.0, time / 0.004)  # 4 ms attack, no click
    return np.asarray(tone * envelope, dtype=np.float32)


def generate_default(rate: int) -> Audio:
    """The built-in chime: E6 then C6, 0.7 s in all, ending in silence."""
    high = _note(1318.5, 0.35, rate)
    low = _note(1046.5, 0.55, rate)
    out = np.zeros(int(0.2 * rate) + low.size, np.float32)
    out[: high.size] += high
    out[int(0.2 * rate) :] += low
    fade = min(out.size, int(0.05 * rate))
    out[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    return (out * np.float32(_PEAK / float(np.max(np.abs(out))))).astype(np.float32)


def read_chime(path: Path, rate: int) -> Audio:
    """A sound file as mono float32 at ``rate``, at most :data:`MAX_CHIME_S` long."""
    try:
        data, file_rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (OSError, RuntimeError, soundfile.LibsndfileError) as error:
        raise ChimeError(f"cannot read chime {path}: {error}") from None
    mono = np.asarray(data.mean(axis=1), dtype=np.float32)
    if mono.size == 0:
        raise ChimeError(f"chime {path} holds no audio")
    if not np.all(np.isfinite(mono)):
        raise ChimeError(f"chime {path} holds NaN or infinite samples")
    limit = int(MAX_CHIME_S * file_rate)
    if mono.size > limit:
        log.warning("[-] chime %s is longer than %.0f s; cut", path, MAX_CHIME_S)
        mono = mono[:limit]
    return np.clip(resample(mono, int(file_rate), rate), -1.0, 1.0).astype(np.float32)


class Chimes:
    """The configured chimes, ready to play, and which one a request gets."""

    def __init__(self, sounds: Mapping[str, Audio], by_priority: Mapping[str, str | None]):
        self._sounds = dict(sounds)
        self._by_priority = dict(by_priority)

    @classmethod
    def load(cls, settings: ChimeSettings, rate: int) -> Chimes:
        """Generate the default chime and read the configured files (blocking: file I/O).

        A file that cannot be read is logged and left out; announcements that would use it
        play without a chime rather than not at all.
        """
        sounds = {DEFAULT_CHIME: generate_default(rate)}
        for name, file in settings.files.items():
            if name == DEFAULT_CHIME:
                log.warning("[-] chimes.files: 'default' is the built-in chime; %s ignored", file)
                continue
            try:
                sounds[name] = read_chime(Path(file), rate)
            except ChimeError as error:
                log.error("[-] chimes.files.%s: %s; that chime is left out", name, error)
        by_priority = {
            "low": settings.low,
            "normal": settings.normal,
            "high": settings.high,
            "critical": settings.critical,
        }
        return cls(sounds, by_priority)

    @property
    def names(self) -> list[str]:
        """Names a request may ask for."""
        return sorted(self._sounds)

    def known(self, name: str) -> bool:
        return name in self._sounds

    def for_request(self, request: SayRequest) -> tuple[str, Audio] | None:
        """The chime to play before ``request``, or None.

        ``chime: false`` means none; a name picks that chime; no ``chime`` field means the
        one configured for the request's priority (raw audio clips get none by default).
        """
        if request.chime is False:
            return None
        if isinstance(request.chime, str):
            name: str | None = request.chime
        elif request.audio is not None:
            return None
        else:
            name = self._by_priority.get(request.priority)
        if name is None or name not in self._sounds:
            return None
        return name, self._sounds[name]
