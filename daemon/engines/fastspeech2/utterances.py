"""Cut one analyzed sentence into utterances the acoustic model reads well.

The voice was trained on single Baker sentences (mostly under ~30 syllables), each framed
by ``sil``. Inputs much longer than that lose words (the ASR round trip showed garbled
ends of 50-character chunks), so long sentences are cut at clause punctuation into
groups of at most :data:`MAX_SYLLABLES`; sentence-final marks always end an utterance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from daemon.engines.fastspeech2.symbols import CLAUSE_PUNCT, PinyinToken

#: Longest utterance (in syllables) sent to the model in one piece, unless a single clause
#: is longer (clauses are never cut inside).
MAX_SYLLABLES = 24
SENTENCE_END = frozenset("。！？!?…")


@dataclass(frozen=True)
class Utterance:
    tokens: list[PinyinToken]
    ends_sentence: bool
    """True after 。！？ (a longer pause follows), False after a clause cut at ，、：；."""


def plan(tokens: Sequence[PinyinToken], max_syllables: int = MAX_SYLLABLES) -> list[Utterance]:
    utterances: list[Utterance] = []
    current: list[PinyinToken] = []
    current_len = 0
    for clause, ends_sentence in _clauses(tokens):
        length = sum(len(t.syllables) for t in clause)
        if current and current_len + length > max_syllables:
            utterances.append(Utterance(current, ends_sentence=False))
            current, current_len = [], 0
        current.extend(clause)
        current_len += length
        if ends_sentence:
            utterances.append(Utterance(current, ends_sentence=True))
            current, current_len = [], 0
    if current:
        utterances.append(Utterance(current, ends_sentence=True))
    return [u for u in utterances if any(t.syllables for t in u.tokens)]


def _clauses(tokens: Sequence[PinyinToken]) -> list[tuple[list[PinyinToken], bool]]:
    """Runs of tokens each ending at punctuation, flagged when that ends a sentence."""
    clauses: list[tuple[list[PinyinToken], bool]] = []
    current: list[PinyinToken] = []
    for token in tokens:
        current.append(token)
        if token.is_punct:
            if any(ch in SENTENCE_END for ch in token.text):
                clauses.append((current, True))
                current = []
            elif any(ch in CLAUSE_PUNCT for ch in token.text):
                clauses.append((current, False))
                current = []
    if current:
        clauses.append((current, False))
    return clauses
