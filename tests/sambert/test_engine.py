"""The engine interface: voices, emotions, error codes, speed, revision, isolation."""

from __future__ import annotations

import os
import shutil
import textwrap
from pathlib import Path

import numpy as np
import pytest

from daemon.engines.base import EngineError
from daemon.engines.sambert import DEFAULT_EMO_EMOTIONS, SambertEngine
from daemon.engines.sambert.engine import ONEDNN_CACHE_CAPACITY
from tests.fresh_python import run_python

from .conftest import Tok, fake_analyze


def test_identity(engine: SambertEngine) -> None:
    assert engine.name == "sambert"
    assert engine.sample_rate == 16000
    assert engine.voices() == ["zhitian_emo", "zhiyan_emo"]
    assert engine.default_voice() == "zhitian_emo"
    assert len(engine.revision) == 16


def test_default_emotions(engine: SambertEngine, tiny_model: Path, tmp_path: Path) -> None:
    assert engine.emotions("zhiyan_emo") == list(DEFAULT_EMO_EMOTIONS)
    model = Path(shutil.copytree(tiny_model, tmp_path / "m"))
    (model / "voices" / "voices.json").write_text('{"voices": ["zhitian_emo", "plain"]}')
    shutil.copytree(model / "voices" / "zhitian_emo", model / "voices" / "plain")
    assert SambertEngine(str(model)).emotions("plain") == ["neutral"]


def test_configured_emotions(tiny_model: Path) -> None:
    eng = SambertEngine(str(tiny_model), emotions={"zhiyan_emo": ["Happy", "calm"]})
    assert eng.emotions("zhiyan_emo") == ["neutral", "happy", "calm"]
    assert eng.emotions("zhitian_emo") == list(DEFAULT_EMO_EMOTIONS)
    with pytest.raises(EngineError, match=r"unknown emotion.*joyful") as info:
        SambertEngine(str(tiny_model), emotions={"zhiyan_emo": ["joyful"]})
    assert info.value.code == "config"
    with pytest.raises(EngineError, match=r"unknown voice.*nobody"):
        SambertEngine(str(tiny_model), emotions={"nobody": ["happy"]}, analyzer=fake_analyze).load()


def test_unknown_voice(engine: SambertEngine) -> None:
    with pytest.raises(EngineError) as info:
        engine.synthesize("你好", voice="xiaoming", emotion="neutral", speed=1.0)
    assert info.value.code == "unknown_voice"
    assert "zhitian_emo, zhiyan_emo" in info.value.message
    with pytest.raises(EngineError, match="unknown voice"):
        engine.emotions("xiaoming")
    with pytest.raises(EngineError, match="unknown voice"):
        engine.synthesize_symbols(["{#4$tone_none$s_none$word_none$emotion_neutral$F7}"], "x")


def test_unknown_emotion(engine: SambertEngine) -> None:
    with pytest.raises(EngineError) as info:
        engine.synthesize("你好", voice="zhitian_emo", emotion="calm", speed=1.0)
    assert info.value.code == "unknown_emotion"
    assert "neutral, happy, sad" in info.value.message


def test_synthesize(engine: SambertEngine) -> None:
    audio = engine.synthesize("今天天气很好", voice="zhiyan_emo", emotion="sad", speed=1.0)
    assert audio.dtype == np.float32
    assert audio.ndim == 1
    assert len(audio) % 200 == 0
    assert 0.05 < np.abs(audio).max() <= 1.0
    assert np.isfinite(audio).all()


def test_speed_scales_durations(engine: SambertEngine) -> None:
    normal = engine.synthesize("x", voice="zhitian_emo", emotion="neutral", speed=1.0)
    fast = engine.synthesize("x", voice="zhitian_emo", emotion="neutral", speed=2.0)
    slow = engine.synthesize("x", voice="zhitian_emo", emotion="neutral", speed=0.5)
    assert 0.4 < len(fast) / len(normal) < 0.6
    assert 1.8 < len(slow) / len(normal) < 2.2
    with pytest.raises(EngineError) as info:
        engine.synthesize("x", voice="zhitian_emo", emotion="neutral", speed=3.0)
    assert info.value.code == "invalid_field"


def test_nothing_to_say(tiny_model: Path) -> None:
    eng = SambertEngine(str(tiny_model), analyzer=lambda s: [Tok("。", [], True)])
    with pytest.raises(EngineError) as info:
        eng.synthesize("。", voice="zhitian_emo", emotion="neutral", speed=1.0)
    assert info.value.code == "unspeakable_text"


def test_revision_follows_checkpoints(tiny_model: Path, tmp_path: Path) -> None:
    model = Path(shutil.copytree(tiny_model, tmp_path / "m"))
    first = SambertEngine(str(model), analyzer=fake_analyze)
    first.load()
    again = SambertEngine(str(model), analyzer=fake_analyze)
    again.load()
    assert first.revision == again.revision
    ckpt = model / "voices/zhiyan_emo/voc/ckpt/checkpoint_2000.pth"
    shutil.copy(ckpt, ckpt.with_name("checkpoint_3000.pth"))
    changed = SambertEngine(str(model), analyzer=fake_analyze)
    changed.load()
    assert changed.revision != first.revision


def test_with_the_shared_text_frontend(tiny_model: Path) -> None:
    from daemon import text

    if not hasattr(text, "analyze"):
        pytest.skip("daemon.text.analyze is not implemented yet")
    eng = SambertEngine(str(tiny_model), threads=1)
    audio = eng.synthesize(
        "今天天气很好，我们去公园散步吧。", voice="zhitian_emo", emotion="happy", speed=1.0
    )
    assert len(audio) > 16000


def test_no_official_stack_modules_after_synthesis(tiny_model: Path) -> None:
    """kantts, ttsfrd and modelscope's model classes are never imported."""
    script = textwrap.dedent(
        f"""
        import sys
        from tests.sambert.conftest import fake_analyze
        from daemon.engines.sambert import SambertEngine
        eng = SambertEngine({str(tiny_model)!r}, threads=1, analyzer=fake_analyze)
        eng.load()
        eng.synthesize("x", voice="zhiyan_emo", emotion="happy", speed=1.0)
        eng.synthesize_symbols(["{{n_c$tone3$s_begin$word_begin$emotion_sad$F7}}"], "zhitian_emo")
        bad = [m for m in sys.modules
               if m.split(".")[0] in ("kantts", "ttsfrd") or m.startswith("modelscope.models")]
        print("BAD", bad)
        """
    )
    out = run_python(script, timeout=120)
    assert "BAD []" in out.stdout, out.stdout + out.stderr


def test_input_longer_than_the_position_table(engine: SambertEngine) -> None:
    """The tiny model's table holds 64 positions; longer lines use the formula.

    (Checked once against the reference on a 126-token line: same durations, mel and
    waveform within 3e-6.)
    """
    token = (
        "{n_c$tone3$s_begin$word_begin$emotion_neutral$F7} "
        "{i_c$tone3$s_end$word_end$emotion_neutral$F7}"
    )
    line = " ".join([token] * 40)
    result = engine.synthesize_symbol_line(line, "zhitian_emo")
    assert result.acoustic.durations.shape == (80,)
    assert np.isfinite(result.wav).all()


def test_onednn_kernel_cache_is_bounded(engine: SambertEngine) -> None:
    """Loading a voice bounds oneDNN's kernel cache before the first op (unless the
    environment chose its own), so a long-running daemon doesn't grow with new lengths."""
    assert engine.voices()  # the fixture has loaded a voice
    assert os.environ["ONEDNN_PRIMITIVE_CACHE_CAPACITY"] == str(ONEDNN_CACHE_CAPACITY)
