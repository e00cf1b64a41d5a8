"""Where a model comes from: a local directory, or a ModelScope model id fetched once.

``modelscope`` is imported lazily and only for ``snapshot_download`` (its model classes
need kantts/ttsfrd and are never imported here); a device that can't reach the hub uses
a local directory in the same layout.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from .errors import ModelError

logger = logging.getLogger(__name__)

_MODEL_ID_RE = re.compile(r"^[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*$")


def is_model_id(model: str) -> bool:
    """``owner/name`` that is not an existing path (``damo/speech_sambert-...``)."""
    return bool(_MODEL_ID_RE.match(model)) and not Path(model).expanduser().exists()


def resolve_model(model: str, cache_dir: Path | None) -> Path:
    """A local model directory for ``model`` (a directory path or a ModelScope id)."""
    path = Path(model).expanduser()
    if path.is_dir():
        return path
    if not is_model_id(model):
        raise ModelError(f"model directory not found: {path}", code="model_missing")
    try:
        from modelscope import snapshot_download  # noqa: PLC0415 - optional, heavy
    except ImportError:
        raise ModelError(
            f"model {model!r} is a ModelScope id but the modelscope package is not installed "
            "(pip install modelscope), or give a local model directory",
            code="model_missing",
        ) from None
    target = str(cache_dir / "modelscope") if cache_dir is not None else None
    logger.info("fetching ModelScope model %s (cache %s)", model, target or "default")
    try:
        local = snapshot_download(model, cache_dir=target)
    except Exception as exc:  # network, auth, unknown id: all mean "not available here"
        raise ModelError(
            f"cannot fetch ModelScope model {model!r}: {type(exc).__name__}: {exc}",
            code="model_missing",
        ) from None
    return Path(local)
