"""engine.precision: what ``auto`` resolves to, and bfloat16 audio against float32.

The SNR floor: bfloat16 keeps 8 significant bits (rounding error ~2^-9, -54 dB per op);
through the vocoder's ~30 conv layers we measured 42.5-44.5 dB on the tiny model's golden
lines and 35.5 dB on the real-size random model. 30 dB leaves margin for other weights
while still failing on real mistakes (a weight left in another dtype, a wrong layer,
misaligned chunks give 0-10 dB).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from daemon.engines import EngineError, create_engine
from daemon.engines.sambert import SambertEngine
from daemon.engines.sambert import precision as precision_module
from daemon.engines.sambert.precision import cpu_flags, native_bf16, resolve
from daemon.settings import EngineSettings

from .conftest import fake_analyze

MIN_SNR_DB = 30.0

X86_CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
flags\t\t: fpu sse2 avx2 avx512f avx512_bf16 avx512_vnni
"""
ARM_CPUINFO = """processor\t: 0
BogoMIPS\t: 50.00
Features\t: fp asimd evtstrm aes sha1 sha2 crc32 atomics bf16 i8mm
"""


def snr_db(reference: np.ndarray, other: np.ndarray) -> float:
    noise = float(np.sum((reference.astype(np.float64) - other) ** 2))
    return 10 * float(np.log10(float(np.sum(reference.astype(np.float64) ** 2)) / noise))


def test_cpu_flags_read_x86_and_arm_cpuinfo() -> None:
    assert "avx512_bf16" in cpu_flags(X86_CPUINFO)
    assert "bf16" in cpu_flags(ARM_CPUINFO)
    assert cpu_flags("processor\t: 0\n") == frozenset()


@pytest.mark.parametrize(
    ("flags", "native"),
    [
        ({"avx2", "avx512f", "avx512_bf16"}, True),
        ({"avx2", "amx_tile", "amx_bf16"}, True),
        ({"fp", "asimd", "bf16"}, True),
        ({"avx2", "avx512f", "avx512_vnni"}, False),  # AVX-512 without bf16: emulated
        ({"fp", "asimd"}, False),
        (set(), False),
    ],
)
def test_auto_picks_bfloat16_only_where_native(flags: set[str], native: bool) -> None:
    assert native_bf16(frozenset(flags)) is native
    assert resolve("auto", frozenset(flags)) == (torch.bfloat16 if native else torch.float32)


def test_explicit_precision_ignores_the_cpu() -> None:
    assert resolve("float32", frozenset({"avx512_bf16"})) == torch.float32
    assert resolve("bfloat16", frozenset()) == torch.bfloat16
    with pytest.raises(ValueError, match="float16"):
        resolve("float16")


def test_auto_without_onednn_is_float32(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.backends.mkldnn, "is_available", lambda: False)
    assert resolve("auto", frozenset({"avx512_bf16"})) == torch.float32


@pytest.mark.parametrize(("flags", "expected"), [("avx512_bf16", "bfloat16"), ("avx2", "float32")])
def test_engine_resolves_auto_from_this_cpu(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flags: str, expected: str
) -> None:
    monkeypatch.setattr(precision_module, "cpu_flags", lambda: frozenset({flags}))
    monkeypatch.setattr(torch.backends.mkldnn, "is_available", lambda: True)
    assert SambertEngine(str(tiny_model)).precision == expected
    settings = EngineSettings(name="sambert", model=str(tiny_model))
    assert settings.precision == "auto"
    engine = create_engine(settings, tmp_path)
    assert isinstance(engine, SambertEngine) and engine.precision == expected


def test_create_engine_passes_the_setting(tiny_model: Path, tmp_path: Path) -> None:
    for value in ("float32", "bfloat16"):
        settings = EngineSettings(name="sambert", model=str(tiny_model), precision=value)
        engine = create_engine(settings, tmp_path)
        assert isinstance(engine, SambertEngine) and engine.precision == value


def test_engine_rejects_unknown_precision(tiny_model: Path) -> None:
    with pytest.raises(EngineError, match=r"engine\.precision") as info:
        SambertEngine(str(tiny_model), precision="float16")
    assert info.value.code == "config"


@pytest.fixture(scope="module")
def bf16_engine(tiny_model: Path) -> SambertEngine:
    eng = SambertEngine(str(tiny_model), threads=1, analyzer=fake_analyze, precision="bfloat16")
    eng.load()
    return eng


@pytest.mark.parametrize("voice", ["zhitian_emo", "zhiyan_emo"])
def test_bfloat16_audio_is_close_to_float32_tiny(
    engine: SambertEngine, bf16_engine: SambertEngine, voice: str
) -> None:
    assert engine.precision == "float32" and bf16_engine.precision == "bfloat16"
    reference = engine.synthesize("x", voice=voice, emotion="happy", speed=1.0)
    audio = bf16_engine.synthesize("x", voice=voice, emotion="happy", speed=1.0)
    assert audio.dtype == np.float32
    # The acoustic model stays float32: same durations, so same length.
    assert audio.shape == reference.shape
    # Really another path (not float32 twice), and close to it.
    assert not np.array_equal(audio, reference)
    assert snr_db(reference, audio) >= MIN_SNR_DB
