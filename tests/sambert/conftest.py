"""Shared fixtures: a tiny random model directory in the official layout."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from daemon.engines.sambert import SambertEngine
from daemon.engines.sambert.testmodel import build_model_dir

#: Seed of the model the conformance goldens were produced on (see test_conformance.py).
GOLDEN_SEED = 20261124
VOICES = ["zhitian_emo", "zhiyan_emo"]


@dataclass(frozen=True)
class Tok:
    """Stands in for :class:`daemon.text.Token`."""

    text: str
    syllables: Sequence[str] = field(default_factory=list)
    is_punct: bool = False


def fake_analyze(sentence: str) -> list[Tok]:
    """A fixed analysis, whatever the sentence: 今天天气很好，我们去公园散步吧。"""
    return [
        Tok("今天", ["jin1", "tian1"]),
        Tok("天气", ["tian1", "qi4"]),
        Tok("很", ["hen3"]),
        Tok("好", ["hao3"]),
        Tok("，", [], True),
        Tok("我们", ["wo3", "men5"]),
        Tok("去", ["qu4"]),
        Tok("公园", ["gong1", "yuan2"]),
        Tok("散步", ["san4", "bu4"]),
        Tok("吧", ["ba5"]),
        Tok("。", [], True),
    ]


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_model_dir(
        tmp_path_factory.mktemp("sambert") / "model", size="tiny", voices=VOICES, seed=GOLDEN_SEED
    )


@pytest.fixture(scope="session")
def engine(tiny_model: Path) -> SambertEngine:
    # float32: the path the conformance goldens check (bfloat16 is compared to it).
    eng = SambertEngine(str(tiny_model), threads=1, analyzer=fake_analyze, precision="float32")
    eng.load()
    return eng
