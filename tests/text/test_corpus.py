"""Every real announcement is read completely: nothing dropped, no digit or letter left."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from daemon.text import analyze, normalize, split_sentences
from daemon.text.chars import is_speakable

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "announcements.txt"


def _announcements() -> list[str]:
    if not CORPUS.is_file():
        # Fail loudly: a missing corpus must not turn into a silently green suite.
        raise FileNotFoundError(f"announcement corpus missing: {CORPUS}")
    lines: list[str] = []
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        _emotion, text = line.split("\t", 1)
        lines.append(text)
    return lines


ANNOUNCEMENTS = _announcements()


def test_corpus_is_not_empty() -> None:
    assert len(ANNOUNCEMENTS) >= 20


@pytest.mark.parametrize("text", ANNOUNCEMENTS)
def test_announcement_is_read_completely(text: str) -> None:
    result = normalize(text)
    assert result.dropped == []
    assert not re.search(r"[0-9A-Za-z]", result.text)
    assert is_speakable(result.text)
    for sentence in split_sentences(result.text, max_chars=30, first_max_chars=12):
        for token in analyze(sentence):
            assert len(token.syllables) == (0 if token.is_punct else len(token.text))


def test_known_announcements_read_as_expected() -> None:
    expected = {
        "室外温度-3.5℃，出门请多穿点衣服。": "室外温度零下三点五摄氏度，出门请多穿点衣服。",
        "快递柜取件码是865231，请在24小时内取件。": (
            "快递柜取件码是八六五二三幺，请在二十四小时内取件。"
        ),
        "Wi-Fi信号弱，正在尝试重新连接路由器。": "歪飞信号弱，正在尝试重新连接路由器。",
    }
    for text, reading in expected.items():
        assert text in ANNOUNCEMENTS
        assert normalize(text).text == reading
