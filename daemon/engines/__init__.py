"""Speech engines behind one interface, chosen by name in the config."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

from daemon.engines.base import Engine, EngineError
from daemon.settings import EngineSettings

__all__ = ["Engine", "EngineError", "create_engine"]


def create_engine(settings: EngineSettings, cache_dir: Path) -> Engine:
    """Build (but don't load) the configured engine. Imports are lazy: torch is only
    imported when the sambert engine is chosen."""
    if settings.name == "fastspeech2":
        from daemon.engines.fastspeech2 import FastSpeech2Engine  # noqa: PLC0415

        return FastSpeech2Engine(threads=settings.threads, cache_dir=cache_dir)
    if settings.name == "sambert":
        if not settings.model:
            raise EngineError("config", "engine.model: required for the sambert engine")
        from daemon.engines.sambert import SambertEngine  # noqa: PLC0415

        return SambertEngine(
            settings.model,
            threads=settings.threads,
            emotions=settings.emotions,
            cache_dir=cache_dir,
            precision=settings.precision,
        )
    if settings.name == "plugin":
        return _plugin(settings, cache_dir)
    from daemon.engines.tone import ToneEngine  # noqa: PLC0415

    return ToneEngine()


def _plugin(settings: EngineSettings, cache_dir: Path) -> Engine:
    """An engine class named in the config (never in a message)."""
    if not settings.plugin:
        raise EngineError("config", "engine.plugin: required for engine.name plugin")
    module_name, _, class_name = settings.plugin.partition(":")
    try:
        engine_class = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as error:
        raise EngineError(
            "config", f"engine.plugin: cannot load {settings.plugin}: {error}"
        ) from None
    if not (isinstance(engine_class, type) and issubclass(engine_class, Engine)):
        raise EngineError("config", f"engine.plugin: {settings.plugin} is not an Engine subclass")
    # Plug-ins take (settings, cache_dir); the base class's own constructor takes nothing.
    factory: Callable[[EngineSettings, Path], Engine] = engine_class
    return factory(settings, cache_dir)
