"""An engine plug-in for the start-up test: the beep engine, with a model that takes
:data:`LOAD_S` seconds to load (as a large Sambert voice does on a small board)."""

from __future__ import annotations

import time
from pathlib import Path

from daemon.engines.tone import ToneEngine
from daemon.settings import EngineSettings

LOAD_S = 6.0


class SlowLoadingEngine(ToneEngine):
    name = "slow-loading"

    def __init__(self, settings: EngineSettings, cache_dir: Path) -> None:
        del settings, cache_dir
        super().__init__()

    def load(self) -> None:
        time.sleep(LOAD_S)
