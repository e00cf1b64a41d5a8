"""synthesize_stream: the first piece comes early, and the pieces join into synthesize()."""

from __future__ import annotations

import time

import numpy as np
import pytest

from daemon.engines.base import EngineError
from daemon.engines.fastspeech2 import FastSpeech2Engine

SENTENCES = [
    "地点在三号会议室。",
    "可以洗澡了。",
    "请合理安排时间，注意休息。",
    "由于小区管网维修，明天上午八点至下午六点将暂停供水，请提前储存好生活用水。",
]
RATE = 24000


def _first_loud(audio: np.ndarray) -> int:
    return int(np.flatnonzero(np.abs(audio) > 0.01 * np.abs(audio).max())[0])


@pytest.mark.parametrize("sentence", SENTENCES)
def test_pieces_join_into_the_whole_sentence(fs2_engine: FastSpeech2Engine, sentence: str) -> None:
    whole = fs2_engine.synthesize(sentence, voice="baker", emotion="neutral", speed=1.0)
    pieces = list(
        fs2_engine.synthesize_stream(sentence, voice="baker", emotion="neutral", speed=1.0)
    )
    assert all(p.dtype == np.float32 and p.ndim == 1 and p.size for p in pieces)
    joined = np.concatenate(pieces)
    # Only the first utterance's leading silence may be cut a few samples differently.
    shift = joined.size - whole.size
    assert abs(shift) <= 0.005 * RATE
    tail = min(joined.size, whole.size) - 1000
    np.testing.assert_allclose(joined[-tail:], whole[-tail:], atol=1e-5)
    assert abs(_first_loud(joined) - _first_loud(whole) - shift) <= 2


def test_long_sentence_streams_its_first_piece_early(fs2_engine: FastSpeech2Engine) -> None:
    sentence = SENTENCES[3]
    began = time.perf_counter()
    fs2_engine.synthesize(sentence, voice="baker", emotion="neutral", speed=1.0)
    whole_s = time.perf_counter() - began
    stream = fs2_engine.synthesize_stream(sentence, voice="baker", emotion="neutral", speed=1.0)
    began = time.perf_counter()
    first = next(stream)
    first_s = time.perf_counter() - began
    rest = list(stream)
    assert rest, "a long sentence comes in more than one piece"
    assert first.size >= 0.15 * RATE
    assert first_s < whole_s / 2, (first_s, whole_s)


@pytest.mark.parametrize("emotion", ["happy", "sad", "angry", "calm"])
def test_emotions_stream_too(fs2_engine: FastSpeech2Engine, emotion: str) -> None:
    """Emotions change the model's inputs and the gain only, so they stream like neutral."""
    sentence = SENTENCES[2]
    pieces = list(fs2_engine.synthesize_stream(sentence, voice="baker", emotion=emotion, speed=1.0))
    whole = fs2_engine.synthesize(sentence, voice="baker", emotion=emotion, speed=1.0)
    joined = np.concatenate(pieces)
    assert abs(joined.size - whole.size) <= 0.005 * RATE
    tail = min(joined.size, whole.size) - 1000
    np.testing.assert_allclose(joined[-tail:], whole[-tail:], atol=1e-5)


def test_stream_errors(fs2_engine: FastSpeech2Engine) -> None:
    sentence = SENTENCES[0]
    with pytest.raises(EngineError) as error:
        list(fs2_engine.synthesize_stream(sentence, voice="baker", emotion="furious", speed=1.0))
    assert error.value.code == "unknown_emotion"
    with pytest.raises(EngineError) as error:
        list(fs2_engine.synthesize_stream(sentence, voice="nobody", emotion="neutral", speed=1.0))
    assert error.value.code == "unknown_voice"
    with pytest.raises(EngineError) as error:
        list(fs2_engine.synthesize_stream("。。", voice="baker", emotion="neutral", speed=1.0))
    assert error.value.code == "unspeakable_text"
