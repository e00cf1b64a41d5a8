"""Safe checkpoint reading and strict state-dict loading with readable errors."""

from __future__ import annotations

import hashlib
import logging
import pickle
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .errors import ModelError

logger = logging.getLogger(__name__)


def read_state_dict(path: Path, keys: tuple[str, ...]) -> dict[str, torch.Tensor]:
    """Load ``path`` with ``weights_only=True`` and return ``ckpt[keys[0]][keys[1]]...``."""
    if not path.is_file():
        raise ModelError(f"missing file: {path}")
    is_zip = zipfile.is_zipfile(path)
    if not is_zip and not _is_legacy_pickle(path):
        raise ModelError(f"{path}: not a readable torch checkpoint (neither zip nor pickle)")
    try:
        # weights_only: a checkpoint is data, never code to run. mmap (zip format only):
        # tensors stay file-backed until copied into the model, so loading doesn't hold
        # a second anonymous copy of the weights.
        obj: Any = torch.load(path, map_location="cpu", weights_only=True, mmap=is_zip)
    except pickle.UnpicklingError as exc:
        raise ModelError(
            f"{path}: holds objects other than tensors and plain containers, refused by the "
            f"safe loader (weights_only=True): {_unpickler_reason(str(exc))}"
        ) from None
    except Exception as exc:  # torch raises RuntimeError/EOFError/... for broken files
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise ModelError(
            f"{path}: not a readable torch checkpoint ({type(exc).__name__}: {first})"
        ) from None
    node = obj
    walked: list[str] = []
    for key in keys:
        walked.append(key)
        if not isinstance(node, Mapping) or key not in node:
            raise ModelError(f"{path}: checkpoint has no entry {'/'.join(repr(k) for k in walked)}")
        node = node[key]
    if not isinstance(node, Mapping):
        raise ModelError(f"{path}: entry {'/'.join(walked)} is not a state dict")
    bad = [k for k, v in node.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    if bad:
        raise ModelError(
            f"{path}: entry {'/'.join(walked)} holds non-tensor values: "
            f"{', '.join(map(str, bad[:5]))}"
        )
    return dict(node)


def load_strict(module: nn.Module, state: Mapping[str, torch.Tensor], where: Path) -> None:
    """Load every parameter, naming missing, unexpected and mis-shaped keys."""
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = [
        f"{k} {tuple(state[k].shape)} (expected {tuple(own[k].shape)})"
        for k in sorted(set(own) & set(state))
        if own[k].shape != state[k].shape
    ]
    problems = []
    if missing:
        problems.append(f"missing keys: {_names(missing)}")
    if unexpected:
        problems.append(f"unexpected keys: {_names(unexpected)}")
    if shapes:
        problems.append(f"shape mismatches: {_names(shapes)}")
    if problems:
        raise ModelError(
            f"{where}: state dict does not match the model config; " + "; ".join(problems)
        )
    module.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)


def _is_legacy_pickle(path: Path) -> bool:
    """Pre-1.6 torch.save wrote a bare pickle (starting with PROTO, 0x80)."""
    with path.open("rb") as f:
        return f.read(1) == b"\x80"


def _unpickler_reason(message: str) -> str:
    """The one informative line of torch's long weights_only error."""
    for line in message.splitlines():
        if "WeightsUnpickler error:" in line:
            return line.split("WeightsUnpickler error:", 1)[1].split(". Please use")[0].strip()
    return message.splitlines()[0] if message else ""


def _names(items: list[str], limit: int = 12) -> str:
    more = f" ... (+{len(items) - limit} more)" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def file_digest(paths: list[Path]) -> str:
    """Short content hash of the given files (the engine's ``revision``)."""
    h = hashlib.sha256()
    for p in paths:
        with p.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()[:16]
