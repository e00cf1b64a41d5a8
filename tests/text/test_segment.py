"""jieba is loaded lazily, once, quietly and thread-safely; analysis is then cheap."""

from __future__ import annotations

import threading

import jieba
import pytest

from daemon.text import analyze, segment, warm_up


def test_concurrent_first_use_loads_jieba_once(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    created: list[object] = []

    class CountingTokenizer(jieba.Tokenizer):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            created.append(self)

    monkeypatch.setattr(segment, "_tokenizer", None)
    monkeypatch.setattr(jieba, "Tokenizer", CountingTokenizer)
    results: list[list[str]] = []
    barrier = threading.Barrier(8)

    def work() -> None:
        barrier.wait()
        results.append(segment.cut("我去银行取钱"))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(created) == 1
    assert len(results) == 8
    assert all(result == results[0] for result in results)
    assert "银行" in results[0]
    # jieba's own "Building prefix dict ..." chatter stays out of the logs.
    captured = capfd.readouterr()
    assert "prefix dict" not in (captured.err + captured.out).lower()


def test_warm_up_is_idempotent() -> None:
    warm_up()
    tokenizer = segment._tokenizer
    warm_up()
    assert segment._tokenizer is tokenizer is not None


def test_analysis_after_warm_up_reuses_the_dictionary(monkeypatch: pytest.MonkeyPatch) -> None:
    warm_up()

    def no_reload() -> None:
        raise AssertionError("jieba's dictionary was built again")

    monkeypatch.setattr(jieba, "Tokenizer", no_reload)
    words = [t.text for t in analyze("各位家庭成员请注意：明天上午八点至下午六点将暂停供水。")]
    assert "暂停" in words and "供水" in words


def test_rare_words_are_left_out_and_common_ones_kept() -> None:
    warm_up()
    tokenizer = segment._tokenizer
    assert tokenizer is not None
    # From jieba's dict.txt: 暂停 (freq 569) stays; 请说出 (3) and 提醒您 (3) go, so
    # those split into common words. Single characters always stay.
    assert tokenizer.FREQ.get("暂停", 0) > 0
    assert tokenizer.FREQ.get("请说出", 0) == 0
    assert segment.cut("请说出您的指令") == ["请", "说出", "您", "的", "指令"]
    assert segment.cut("提醒您") == ["提醒", "您"]
    assert tokenizer.FREQ.get("丂", 0) == 2  # freq 2, kept as a single character
