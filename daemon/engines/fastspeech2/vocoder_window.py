"""Give the MB-MelGAN vocoder a fixed input length, so LiteRT can plan its memory.

The shipped ``mb_melgan.tflite`` accepts any number of mel frames: its padding, dilated
convolutions (TensorFlow's SpaceToBatch form) and transposed convolutions compute their
shapes at run time from ``Shape`` ops. That makes every activation a *dynamic* tensor,
which LiteRT allocates on its own and keeps at its largest size: ~65 MB for a 192-frame
window, all alive at once. With the input length fixed, those shape computations are
constants; we evaluate them once (they depend on the length only, not on the mel),
store the values in the graph and drop the ops. Every tensor then has a static shape,
LiteRT's planner lets tensors whose lifetimes don't overlap share memory, and the same
window costs ~40 MB less (~60 MB less at its peak), with the same samples out.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from ai_edge_litert import schema_py_generated as schema
from ai_edge_litert.interpreter import Interpreter, OpResolverType

from daemon.engines.fastspeech2.model_rewrite import ModelRewriteError, builtin_code, pack

#: Bump whenever :func:`fix_input_frames` changes what it writes.
WINDOW_REWRITE_VERSION = 1
NUM_MELS = 80


def fix_input_frames_in_child(model_bytes: bytes, frames: int) -> bytes:
    """:func:`fix_input_frames` in a short-lived child process.

    Evaluating the shapes runs the dynamic model once (~190 MB at 192 frames), memory
    glibc would keep in this long-running process after it is freed. A plain
    ``python -m`` child rather than multiprocessing: that would re-import the caller's
    main module.
    """
    package_root = str(Path(__file__).resolve().parents[3])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-m", __name__, str(frames)],
        input=model_bytes,
        capture_output=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        errors = done.stderr.decode(errors="replace").strip().splitlines()
        reason = errors[-1] if errors else f"exit status {done.returncode}"
        raise ModelRewriteError(f"the vocoder rewrite failed: {reason}")
    return done.stdout


def fix_input_frames(model_bytes: bytes, frames: int) -> bytes:
    """The vocoder with its input fixed to ``[1, frames, NUM_MELS]`` and no shape ops."""
    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(model_bytes, 0))
    if len(model.subgraphs) != 1:
        raise ModelRewriteError("expected a single-graph vocoder")
    graph = model.subgraphs[0]
    inputs = [int(i) for i in graph.inputs]
    signature = graph.tensors[inputs[0]].shapeSignature if len(inputs) == 1 else None
    if signature is None or list(signature) != [1, -1, NUM_MELS]:
        raise ModelRewriteError("vocoder input is not [1, frames, 80]")
    mel_input = inputs[0]

    folded, shape_tensors = _shape_computations(model, graph)
    if not folded:
        raise ModelRewriteError("no shape computations found: unexpected vocoder")
    values = _evaluate(model, graph, frames, shape_tensors)
    for index, value in values.items():
        buffer = schema.BufferT()
        buffer.data = np.frombuffer(value.astype(value.dtype.newbyteorder("<")).tobytes(), np.uint8)
        model.buffers.append(buffer)
        tensor = graph.tensors[index]
        tensor.buffer = len(model.buffers) - 1
        tensor.shape = np.asarray(value.shape, dtype=np.int32)
        tensor.shapeSignature = None
    graph.operators = [op for i, op in enumerate(graph.operators) if i not in folded]
    if any(builtin_code(model, op) == schema.BuiltinOperator.SHAPE for op in graph.operators):
        raise ModelRewriteError("Shape ops remain after folding")
    graph.tensors[mel_input].shape = np.asarray([1, frames, NUM_MELS], dtype=np.int32)
    for tensor in graph.tensors:
        # A -1 left in a signature would make LiteRT treat the tensor as resizable.
        signature = tensor.shapeSignature
        if signature is not None and (np.asarray(signature) < 0).any():
            tensor.shapeSignature = None

    return pack(model, len(model_bytes))


def _shape_computations(model: schema.ModelT, graph: schema.SubGraphT) -> tuple[set[int], set[int]]:
    """Ops that compute from shapes only (``Shape`` and what reads only its results and
    constants), and the tensors they produce. Operators are in execution order."""
    constant = {i for i, t in enumerate(graph.tensors) if model.buffers[t.buffer].data is not None}
    folded: set[int] = set()
    shape_tensors: set[int] = set()
    for i, op in enumerate(graph.operators):
        inputs = [int(t) for t in op.inputs if int(t) >= 0]
        from_shapes = any(t in shape_tensors for t in inputs) and all(
            t in shape_tensors or t in constant for t in inputs
        )
        if builtin_code(model, op) == schema.BuiltinOperator.SHAPE or from_shapes:
            folded.add(i)
            shape_tensors.update(int(t) for t in op.outputs)
    return folded, shape_tensors


def _evaluate(
    model: schema.ModelT, graph: schema.SubGraphT, frames: int, tensors: set[int]
) -> dict[int, np.ndarray]:
    """The values of ``tensors`` for an input of ``frames`` frames (any mel will do).

    They are made graph outputs for this run, so LiteRT keeps them without keeping every
    tensor (``experimental_preserve_all_tensors`` would hold ~360 MB at 192 frames).
    """
    wanted = sorted(tensors)
    outputs = graph.outputs
    graph.outputs = np.asarray([*(int(t) for t in outputs), *wanted], dtype=np.int32)
    try:
        probe = pack(model, 1 << 20)
    finally:
        graph.outputs = outputs
    interpreter = Interpreter(
        model_content=probe,
        num_threads=1,
        # Without XNNPACK: its partitions would not hand these small int tensors back.
        experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    )
    (mel,) = interpreter.get_input_details()
    interpreter.resize_tensor_input(mel["index"], [1, frames, NUM_MELS], strict=True)
    interpreter.allocate_tensors()
    interpreter.set_tensor(mel["index"], np.zeros((1, frames, NUM_MELS), dtype=np.float32))
    interpreter.invoke()
    values: dict[int, np.ndarray] = {}
    for index in wanted:
        value = np.array(interpreter.get_tensor(index))
        if value.dtype not in (np.int32, np.int64):
            raise ModelRewriteError(f"shape computation tensor {index} is {value.dtype}")
        values[index] = value
    return values


if __name__ == "__main__":
    # The child of fix_input_frames_in_child: model on stdin, rewritten model on stdout.
    sys.stdout.buffer.write(fix_input_frames(sys.stdin.buffer.read(), int(sys.argv[1])))
