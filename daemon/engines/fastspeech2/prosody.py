"""Emotions as prosody settings, and the waveform post-processing they need.

FastSpeech2 takes three knobs: ``speed_ratios`` (a duration multiplier: 2.0 = twice as
long), ``f0_ratios`` (scales pitch *variation* around the speaker's mean, not the mean) and
``energy_ratios``. The mean pitch is moved afterwards by resampling the waveform (which
also shortens or lengthens it, so the duration multiplier is pre-compensated), and
loudness by a gain followed by a soft peak limiter.
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
    """``f0_ratios``: scales pitch variation around the mean (1.2 = livelier melody)."""
    energy: float
    """``energy_ratios``: the model's vocal-effort input."""
    pitch_semitones: float
    """Mean pitch shift, applied by resampling the waveform."""
    gain_db: float
    """Loudness change relative to neutral."""


#: The one table of emotion settings; first entry is the default. Measured effects are in
#: tests/engines (median f0, duration, RMS against neutral).
EMOTIONS: dict[str, Prosody] = {
    # The voice as recorded.
    "neutral": Prosody(rate=1.0, pitch_range=1.0, energy=1.0, pitch_semitones=0.0, gain_db=0.0),
    # Brighter: higher and livelier pitch, a little faster and louder.
    "happy": Prosody(rate=1.1, pitch_range=1.25, energy=1.1, pitch_semitones=2.0, gain_db=1.0),
    # Lower, flatter, slower and softer.
    "sad": Prosody(rate=0.85, pitch_range=0.75, energy=0.9, pitch_semitones=-2.0, gain_db=-4.0),
    # Louder and faster with a wider pitch range; slightly raised pitch (tense voice).
    "angry": Prosody(rate=1.12, pitch_range=1.4, energy=1.3, pitch_semitones=0.5, gain_db=4.0),
    # Unhurried and even: slower, narrower range, softer, a touch lower.
    "calm": Prosody(rate=0.9, pitch_range=0.7, energy=0.95, pitch_semitones=-0.5, gain_db=-3.0),
}

#: Accepted request speeds (rate factor).
MIN_SPEED = 0.5
MAX_SPEED = 2.0

#: Samples above this magnitude are compressed smoothly toward 1.0 instead of clipping.
_LIMIT_KNEE = 0.9
#: Below this (relative to the peak) a sample counts as silence when trimming.
_SILENCE_DB = -40.0
#: Top fraction of the spectrum tapered when resampling, so the band edge doesn't ring.
_RESAMPLE_TAPER = 0.04


def pitch_factor(semitones: float) -> float:
    return float(2.0 ** (semitones / 12.0))


def duration_multiplier(prosody: Prosody, speed: float) -> float:
    """``speed_ratios`` for the model, pre-compensating the pitch shift's time change.

    Raising pitch by resampling by ``r`` also shortens the audio by ``r``, so the model is
    asked for speech ``r`` times longer than the rate alone would give.
    """
    return pitch_factor(prosody.pitch_semitones) / (prosody.rate * speed)


def shift_pitch(audio: Audio, semitones: float) -> Audio:
    """Raise (or lower) pitch by playing the waveform ``r`` times faster.

    Formants move along with the pitch; for the couple of semitones used here that reads
    as a brighter or darker voice rather than a cartoon. FFT resampling in numpy keeps
    scipy.signal (~70 MB resident) out of the engine.
    """
    if semitones == 0.0 or audio.size == 0:
        return audio
    n = audio.size
    m = max(1, round(n / pitch_factor(semitones)))
    spectrum = np.fft.rfft(audio.astype(np.float64))
    bins = min(spectrum.size, m // 2 + 1)
    out = np.zeros(m // 2 + 1, dtype=np.complex128)
    out[:bins] = spectrum[:bins]
    taper = max(1, int(bins * _RESAMPLE_TAPER))
    out[bins - taper : bins] *= 0.5 * (1.0 + np.cos(np.linspace(0.0, np.pi, taper)))
    shifted: Audio = (np.fft.irfft(out, m) * (m / n)).astype(np.float32)
    return shifted


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
