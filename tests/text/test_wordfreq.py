"""WordFreq answers jieba's lookups exactly as the dict jieba would have built."""

from __future__ import annotations

import random

import jieba
import pytest

from daemon.text import segment
from daemon.text.wordfreq import WordFreq, parse


def test_words_prefixes_and_strangers() -> None:
    freqs = WordFreq({"银行": 5, "银": 3, "行走": 0, "一行人": 9})
    assert freqs["银行"] == 5 and freqs.get("银") == 3
    assert "行" in freqs and freqs["行"] == 0  # only a prefix of 行走
    assert "行走" in freqs and freqs.get("行走") == 0
    assert freqs["一行"] == 0 and freqs["一行人"] == 9
    for stranger in ("走", "银行卡", "行人", "", "z"):
        assert stranger not in freqs
        assert freqs.get(stranger) is None and freqs.get(stranger, 1) == 1
        with pytest.raises(KeyError):
            freqs[stranger]


def test_parse_keeps_the_last_line_and_counts_every_line() -> None:
    freqs, total = parse([b"ab 3 n\n", b"a 2\n", b"ab 4 v\n"])
    assert freqs == {"ab": 4, "a": 2}
    assert total == 9


def test_same_answers_as_jiebas_prefix_dict() -> None:
    expected, expected_total = jieba.Tokenizer.gen_pfdict(
        segment._common_entries(jieba.Tokenizer())
    )
    parsed, total = parse(segment._common_entries(jieba.Tokenizer()))
    freqs = WordFreq(parsed)
    assert total == expected_total
    assert all(key in freqs and freqs[key] == value for key, value in expected.items())
    rng = random.Random(0)
    probes = [key + ch for key in rng.sample(sorted(expected), 5000) for ch in "的行A"]
    probes += [ch + key for key in rng.sample(sorted(expected), 5000) for ch in "的A"]
    assert all(freqs.get(probe) == expected.get(probe) for probe in probes)
