"""Hermes audio server: WAV payloads decoded for the player, or refused with a reason."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile

from daemon.integrations.hermes import HermesError, decode_wav


def wav(samples: np.ndarray, rate: int, subtype: str = "PCM_16") -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, rate, format="WAV", subtype=subtype)
    return buffer.getvalue()


def test_stereo_at_another_rate_becomes_mono_at_the_engine_rate() -> None:
    stereo = np.stack([np.full(2205, 0.2), np.full(2205, 0.6)], axis=1)  # 0.1 s at 22.05 kHz
    clip = decode_wav(wav(stereo, 22050, "FLOAT"), 16000, max_seconds=10)
    assert clip.dtype == np.float32 and clip.size == 1600
    assert np.allclose(clip[300:1300], 0.4, atol=0.02)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"RIFF\x00\x00\x00\x00WAVEjunk", "not a readable WAV"),
        (b"", "not a readable WAV"),
        (wav(np.zeros(0, np.float32), 16000), "no audio"),
        (wav(np.zeros(16000 * 3, np.float32), 16000), "the limit is 2 s"),
    ],
)
def test_unusable_payloads_are_refused_with_a_reason(payload: bytes, reason: str) -> None:
    with pytest.raises(HermesError, match=reason):
        decode_wav(payload, 16000, max_seconds=2)
