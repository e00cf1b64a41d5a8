"""Cutting sentences into model-sized utterances."""

from __future__ import annotations

from dataclasses import dataclass, field

from daemon.engines.fastspeech2.utterances import plan


@dataclass
class Tok:
    text: str
    syllables: list[str] = field(default_factory=list)
    is_punct: bool = False


def word(n: int) -> Tok:
    return Tok("字" * n, ["zi4"] * n)


def comma() -> Tok:
    return Tok("，", is_punct=True)


def stop() -> Tok:
    return Tok("。", is_punct=True)


def lengths(tokens: list[Tok], limit: int) -> list[tuple[int, bool]]:
    return [(sum(len(t.syllables) for t in u.tokens), u.ends_sentence) for u in plan(tokens, limit)]


def test_short_sentence_is_one_utterance() -> None:
    assert lengths([word(4), comma(), word(6), stop()], 24) == [(10, True)]


def test_long_sentence_is_cut_at_commas_only() -> None:
    tokens = [word(10), comma(), word(10), comma(), word(10), stop()]
    assert lengths(tokens, 24) == [(20, False), (10, True)]


def test_a_long_clause_is_never_cut_inside() -> None:
    assert lengths([word(30), word(5), stop()], 24) == [(35, True)]


def test_sentence_end_always_cuts() -> None:
    tokens = [word(2), Tok("！", is_punct=True), word(3), Tok("？", is_punct=True)]
    assert lengths(tokens, 24) == [(2, True), (3, True)]


def test_missing_final_punctuation_and_empty_input() -> None:
    assert lengths([word(3)], 24) == [(3, True)]
    assert lengths([stop()], 24) == []
    assert lengths([], 24) == []
