"""Exceptions of the Sambert engine.

Both are :class:`~daemon.engines.base.EngineError` subclasses with a stable code, so the
daemon reports them like any engine error, without a traceback from deep inside torch.
Everything that can go wrong while finding, reading or loading a model is a
:class:`ModelError` whose message names the file, key or checkpoint entry at fault.
"""

from __future__ import annotations

from daemon.engines.base import EngineError


class ModelError(EngineError):
    """A model directory, config or checkpoint that cannot be used as a Sambert voice."""

    def __init__(self, message: str, code: str = "model_invalid") -> None:
        super().__init__(code, message)


class SymbolError(EngineError, ValueError):
    """Text or symbols the voice cannot speak: unknown symbols, malformed lines, bad pinyin."""

    def __init__(self, message: str) -> None:
        super().__init__("unspeakable_text", message)
