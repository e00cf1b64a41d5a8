"""Fixtures for the engine tests: one loaded embedded engine per session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from daemon.engines.fastspeech2 import FastSpeech2Engine

#: tests/engines/conftest.py -> parents[3] is the directory holding main/ and shared/.
SHARED = Path(__file__).resolve().parents[3] / "shared"


def shared_file(relative: str) -> Path:
    path = SHARED / relative
    if not path.is_file():
        pytest.fail(f"shared test data missing: {path} (expected shared/ beside the repo)")
    return path


@pytest.fixture(scope="session")
def fs2_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fs2-cache")


@pytest.fixture(scope="session")
def fs2_engine(fs2_cache_dir: Path) -> Iterator[FastSpeech2Engine]:
    engine = FastSpeech2Engine(threads=2, cache_dir=fs2_cache_dir)
    engine.load()
    yield engine
