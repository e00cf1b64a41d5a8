"""jieba is loaded lazily, once, quietly and thread-safely; analysis is then cheap."""

from __future__ import annotations

import threading
import time

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


def test_analysis_after_warm_up_takes_a_few_milliseconds() -> None:
    warm_up()
    sentence = "各位家庭成员请注意：由于小区管网维修，明天上午八点至下午六点将暂停供水。"
    analyze(sentence)
    start = time.perf_counter()
    for _ in range(20):
        analyze(sentence)
    per_sentence = (time.perf_counter() - start) / 20
    assert per_sentence < 0.02  # measured ~1 ms; generous for slow CI machines
