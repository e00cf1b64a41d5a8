"""Exceptions of the Sambert engine.

Everything that can go wrong while finding, reading or loading a model is raised as
:class:`ModelError` with a message naming the file, key or checkpoint entry at fault, so
the daemon can report it without a traceback from deep inside torch or yaml.
"""

from __future__ import annotations


class ModelError(Exception):
    """A model directory, config or checkpoint that cannot be used as a Sambert voice."""


class SymbolError(ValueError):
    """Linguistic symbols that the voice's vocabularies do not know, or a malformed line."""
