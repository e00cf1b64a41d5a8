"""Small numpy measurements of synthesized speech: pitch, loudness, duration.

Just enough to check prosody directions (higher/lower, louder/softer, faster/slower);
not a general-purpose pitch tracker.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

FRAME_SECONDS = 0.04
HOP_SECONDS = 0.01
#: Covers a female voice shifted a few semitones either way.
F0_MIN = 70.0
F0_MAX = 600.0
#: Cumulative-mean-normalized difference below this counts as periodic (YIN's threshold).
YIN_THRESHOLD = 0.15
#: Frames more than this far below the loudest frame are pauses, not speech.
ACTIVE_DB = 35.0


def frames(audio: npt.NDArray[np.floating], sample_rate: int) -> FloatArray:
    size = round(FRAME_SECONDS * sample_rate)
    hop = round(HOP_SECONDS * sample_rate)
    x = np.asarray(audio, dtype=np.float64)
    if len(x) < size:
        x = np.pad(x, (0, size - len(x)))
    count = 1 + (len(x) - size) // hop
    index = np.arange(size)[None, :] + hop * np.arange(count)[:, None]
    return x[index]


def frame_rms(audio: npt.NDArray[np.floating], sample_rate: int) -> FloatArray:
    return np.sqrt(np.mean(frames(audio, sample_rate) ** 2, axis=1))


def active_mask(audio: npt.NDArray[np.floating], sample_rate: int) -> npt.NDArray[np.bool_]:
    rms = frame_rms(audio, sample_rate)
    floor = rms.max() * 10 ** (-ACTIVE_DB / 20)
    return rms > floor


def f0_track(audio: npt.NDArray[np.floating], sample_rate: int) -> FloatArray:
    """YIN per frame; NaN for unvoiced or silent frames."""
    fr = frames(audio, sample_rate)
    size = fr.shape[1]
    max_lag = int(sample_rate / F0_MIN)
    min_lag = int(sample_rate / F0_MAX)
    window = size - max_lag
    # Difference function d(tau) = sum (x[t] - x[t+tau])^2 over a fixed window, via
    # energies and an FFT cross-correlation.
    n_fft = 1 << int(np.ceil(np.log2(2 * size)))
    spec_full = np.fft.rfft(fr, n_fft)
    spec_head = np.fft.rfft(fr[:, :window], n_fft)
    corr = np.fft.irfft(np.conj(spec_head) * spec_full, n_fft)[:, : max_lag + 1]
    sq = np.cumsum(np.pad(fr**2, ((0, 0), (1, 0))), axis=1)
    energy_head = sq[:, window][:, None]
    lags = np.arange(max_lag + 1)
    energy_shift = sq[:, lags + window] - sq[:, lags]
    diff = energy_head + energy_shift - 2 * corr
    cum = np.cumsum(diff[:, 1:], axis=1) / np.arange(1, max_lag + 1)
    cmnd = np.ones_like(diff)
    cmnd[:, 1:] = diff[:, 1:] / np.maximum(cum, 1e-12)
    f0 = np.full(len(fr), np.nan)
    voiced = active_mask(audio, sample_rate)
    for i in np.flatnonzero(voiced):
        row = cmnd[i, min_lag:]
        below = np.flatnonzero(row < YIN_THRESHOLD)
        if below.size == 0:
            continue
        lag = below[0]
        # Walk down to the local minimum, then refine with a parabola.
        while lag + 1 < row.size and row[lag + 1] < row[lag]:
            lag += 1
        if 0 < lag < row.size - 1:
            a, b, c = row[lag - 1], row[lag], row[lag + 1]
            denom = a - 2 * b + c
            shift = 0.5 * (a - c) / denom if denom > 0 else 0.0
        else:
            shift = 0.0
        f0[i] = sample_rate / (lag + min_lag + shift)
    return f0


def median_f0(audio: npt.NDArray[np.floating], sample_rate: int) -> float:
    f0 = f0_track(audio, sample_rate)
    voiced = f0[~np.isnan(f0)]
    assert voiced.size > 10, "too few voiced frames to measure pitch"
    return float(np.median(voiced))


def f0_spread_semitones(audio: npt.NDArray[np.floating], sample_rate: int) -> float:
    """Pitch range as the 10-90 percentile spread in semitones."""
    f0 = f0_track(audio, sample_rate)
    voiced = f0[~np.isnan(f0)]
    lo, hi = np.percentile(voiced, [10, 90])
    return float(12 * np.log2(hi / lo))


def active_rms_db(audio: npt.NDArray[np.floating], sample_rate: int) -> float:
    """Loudness of speech frames only, so pauses don't dilute it."""
    rms = frame_rms(audio, sample_rate)[active_mask(audio, sample_rate)]
    return float(20 * np.log10(np.sqrt(np.mean(rms**2))))


def active_seconds(audio: npt.NDArray[np.floating], sample_rate: int) -> float:
    """Time from the first to the last speech frame."""
    idx = np.flatnonzero(active_mask(audio, sample_rate))
    return float((idx[-1] - idx[0]) * HOP_SECONDS + FRAME_SECONDS)
