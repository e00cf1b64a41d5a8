"""Prosody helpers: duration split, mel stretch, gain and limiter, silence trim."""

from __future__ import annotations

import numpy as np

from daemon.engines.fastspeech2 import prosody


def test_duration_split_keeps_the_model_in_its_safe_range() -> None:
    assert prosody.split_duration(1.2) == (1.2, 1.0)
    model, stretch = prosody.split_duration(0.5)
    assert model == prosody.MIN_MODEL_DURATION
    assert np.isclose(model * stretch, 0.5)


def test_stretch_mel_changes_length_and_keeps_frames() -> None:
    mel = np.arange(10 * 3, dtype=np.float32).reshape(1, 10, 3)
    half = prosody.stretch_mel(mel, 0.5)
    assert half.shape == (1, 5, 3)
    np.testing.assert_array_equal(half[0, 0], mel[0, 0])
    np.testing.assert_array_equal(half[0, -1], mel[0, -1])
    assert prosody.stretch_mel(mel, 1.0) is mel


def test_limiter_keeps_peaks_in_range_and_removes_nan() -> None:
    audio = np.array([0.0, 0.5, 0.95, -2.0, np.nan, np.inf], dtype=np.float32)
    out = prosody.apply_gain_and_limit(audio, 6.0)
    assert out.dtype == np.float32
    assert np.all(np.isfinite(out))
    assert np.max(np.abs(out)) <= 1.0
    assert out[1] < out[2] <= 1.0  # order kept through the soft knee


def test_trim_silence_keeps_the_requested_margin() -> None:
    audio = np.zeros(1000, dtype=np.float32)
    audio[400:600] = 0.5
    trimmed = prosody.trim_silence(audio, keep=50)
    assert trimmed.size == 300
    assert prosody.trim_silence(np.zeros(0, dtype=np.float32), keep=5).size == 0


def test_every_emotion_is_sane() -> None:
    assert next(iter(prosody.EMOTIONS)) == "neutral"
    for settings in prosody.EMOTIONS.values():
        assert 0.7 <= settings.rate <= 1.3
        assert 0.5 <= settings.pitch_range <= 2.0
        assert -1.5 <= settings.pitch_offset <= 1.5
        assert abs(settings.gain_db) <= 6.0
