"""Emotions as prosody settings for the acoustic model, plus loudness post-processing.

FastSpeech2 predicts per-phoneme duration, pitch and energy. Its inputs scale them:
``speed_ratios`` multiplies durations (2.0 = twice as long), ``f0_ratios`` and
``energy_ratios`` scale the speaker-normalized pitch and energy *around their mean*
(wider or narrower melody). Our rewritten model adds ``f0_offsets`` and ``energy_offsets``
(see model_rewrite), which move the means, in units of the speaker's standard deviation:
on this voice +1.0 raises the median pitch ~2 semitones, -1.0 lowers it ~3. The model then
renders the shifted pitch with the speaker's own formants, which sounds far less
artificial than resampling the waveform. Loudness is a gain plus a soft peak limiter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Audio = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Prosody:
    """How one emotion departs from the neutral reading."""

    rate: float
    """Speaking-rate factor (1.1 = 10% faster); multiplied with the request's speed."""
    pitch_range: float
    """``f0_ratios``: scales pitch variation around the mean (1.3 = livelier melody)."""
    pitch_offset: float
    """``f0_offsets``: moves the mean pitch, in speaker standard deviations."""
    energy_range: float
    """``energy_ratios``: scales the variation of vocal effort."""
    energy_offset: float
    """``energy_offsets``: more (or less) vocal effort overall; louder and brighter."""
    gain_db: float
    """Output gain relative to neutral, after the model."""


#: The one table of emotion settings; the first entry is the default. The tests in
#: tests/engines check each against neutral (median f0, duration, RMS, pitch spread).
EMOTIONS: dict[str, Prosody] = {
    # The voice as recorded.
    "neutral": Prosody(
        rate=1.0, pitch_range=1.0, pitch_offset=0.0, energy_range=1.0, energy_offset=0.0,
        gain_db=0.0,
    ),
    # Brighter: higher (~+2 st) and livelier pitch, a little faster and more energetic.
    "happy": Prosody(
        rate=1.1, pitch_range=1.45, pitch_offset=0.9, energy_range=1.1, energy_offset=0.3,
        gain_db=1.0,
    ),
    # Low (~-2 st), flat, slow and soft. Softness comes from the gain: a negative energy
    # offset below ~-0.2 mumbles (ASR CER 4.7% -> 11.6% at -0.6).
    "sad": Prosody(
        rate=0.85, pitch_range=0.7, pitch_offset=-0.7, energy_range=0.9, energy_offset=-0.2,
        gain_db=-4.0,
    ),
    # Loud, forceful and fast, with a wide pitch range and slightly raised pitch.
    "angry": Prosody(
        rate=1.12, pitch_range=1.5, pitch_offset=0.3, energy_range=1.3, energy_offset=1.0,
        gain_db=3.0,
    ),
    # Unhurried and even: slower, narrow range, softer, a touch lower.
    "calm": Prosody(
        rate=0.9, pitch_range=0.7, pitch_offset=-0.3, energy_range=0.9, energy_offset=-0.1,
        gain_db=-3.0,
    ),
}  # fmt: skip

#: Accepted request speeds (rate factor).
MIN_SPEED = 0.5
MAX_SPEED = 2.0

#: Smallest ``speed_ratios`` given to the model; faster rates stretch the mel instead.
MIN_MODEL_DURATION = 0.75

#: Samples above this magnitude are compressed smoothly toward 1.0 instead of clipping.
_LIMIT_KNEE = 0.9
#: Below this (relative to the peak) a sample counts as silence when trimming.
_SILENCE_DB = -40.0


def duration_multiplier(prosody: Prosody, speed: float) -> float:
    """``speed_ratios`` for the model: the inverse of the combined speaking rate."""
    return 1.0 / (prosody.rate * speed)


def split_duration(duration: float) -> tuple[float, float]:
    """``duration`` as (model ``speed_ratios``, mel time-stretch factor).

    The model rounds each phoneme's duration to whole 12.5 ms frames, so below
    :data:`MIN_MODEL_DURATION` short phonemes round to nothing and words vanish (the ASR
    round trip at speed 2.0 lost nearly half the syllables). Faster speech is made by
    shortening the mel spectrogram afterwards, which keeps every phoneme and the pitch.
    """
    model = max(duration, MIN_MODEL_DURATION)
    return model, duration / model


def stretch_mel(mel: npt.NDArray[np.float32], factor: float) -> npt.NDArray[np.float32]:
    """Resample a ``[1, frames, bins]`` mel along time by ``factor`` (linear interpolation).

    The vocoder reads pitch from the harmonics inside each frame, not from frame timing,
    so this changes tempo without changing pitch.
    """
    frames = mel.shape[1]
    target = max(1, round(frames * factor))
    if target == frames:
        return mel
    position = np.linspace(0.0, frames - 1.0, target)
    left = np.floor(position).astype(np.int64)
    right = np.minimum(left + 1, frames - 1)
    weight = (position - left).astype(np.float32)[None, :, None]
    stretched: npt.NDArray[np.float32] = (
        mel[:, left, :] * (1.0 - weight) + mel[:, right, :] * weight
    ).astype(np.float32)
    return stretched


def apply_gain_and_limit(audio: Audio, gain_db: float) -> Audio:
    """Gain, then a soft knee above :data:`_LIMIT_KNEE` so peaks never exceed 1.0."""
    out = audio * np.float32(10.0 ** (gain_db / 20.0))
    over = np.abs(out) > _LIMIT_KNEE
    if np.any(over):
        head = 1.0 - _LIMIT_KNEE
        excess = (np.abs(out[over]) - _LIMIT_KNEE) / head
        out[over] = np.sign(out[over]) * (_LIMIT_KNEE + head * np.tanh(excess))
    out = np.nan_to_num(out, nan=0.0, posinf=1.0, neginf=-1.0)
    limited: Audio = np.clip(out, -1.0, 1.0).astype(np.float32)
    return limited


def trim_silence(audio: Audio, keep: int, threshold_db: float = _SILENCE_DB) -> Audio:
    """Cut leading and trailing silence down to ``keep`` samples.

    The model's own ``sil`` padding varies from 0 to ~0.3 s per utterance; trimming it
    lets the engine set pauses itself. Silence is relative to the utterance's peak.
    """
    magnitude = np.abs(audio)
    if magnitude.size == 0:
        return audio
    loud = np.flatnonzero(magnitude > magnitude.max() * 10.0 ** (threshold_db / 20.0))
    start = max(0, int(loud[0]) - keep)
    stop = min(audio.size, int(loud[-1]) + 1 + keep)
    return audio[start:stop]


def silence(seconds: float, sample_rate: int) -> Audio:
    return np.zeros(max(0, math.floor(seconds * sample_rate)), dtype=np.float32)
