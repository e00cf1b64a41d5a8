"""Splitting normalized text into sentences for streaming synthesis.

Sentences end after 。！？；(and their ASCII forms, for text that was not normalized).
A sentence longer than the limit is cut at clause marks (，、：), packing whole clauses
into each piece; a clause still too long is cut between jieba words, never inside a word
or inside a number's reading (三点五, 百分之六十五, 十四点零五分). Only a single word
longer than the limit (pathological input) is cut hard, still outside numbers
where it can be. Pieces keep their punctuation.
"""

from __future__ import annotations

from collections.abc import Iterator

from daemon.text.chars import CLAUSE_BREAK, NUMERAL_CHARS, PAUSE_PUNCT, SENTENCE_END
from daemon.text.segment import cut

_ENDS = SENTENCE_END | frozenset("!?;")
_BREAKS = CLAUSE_BREAK | frozenset(",:")
_MARKS = PAUSE_PUNCT | frozenset("!?;,:.")
_NUMBERISH = NUMERAL_CHARS | {"点"}


def split_sentences(
    text: str, max_chars: int = 50, first_max_chars: int | None = None
) -> list[str]:
    """Sentences of ``text``, none longer than ``max_chars`` (not counting trailing
    pause marks, which always stay with the words before them).

    ``first_max_chars`` bounds the first piece only, so that the first audio comes fast:
    a first sentence longer than that is cut after its first clause (at the first
    ，、：), or, if that clause is still too long, between words within the bound.
    """
    if max_chars < 1 or (first_max_chars is not None and first_max_chars < 1):
        raise ValueError("max_chars and first_max_chars must be at least 1")
    pieces: list[str] = []
    for whole in _sentences("".join(text.split())):
        sentence = whole
        if not pieces and first_max_chars is not None and len(whole) > first_max_chars:
            first = _first_piece(whole, first_max_chars)
            pieces.append(first)
            sentence = whole[len(first) :]
        if len(sentence) <= max_chars:
            _append(pieces, sentence)
            continue
        for piece in _pack(_clauses(sentence), max_chars):
            _append(pieces, piece)
    return pieces


def _append(pieces: list[str], piece: str) -> None:
    if not piece:
        return
    if pieces and all(ch in _MARKS for ch in piece):
        pieces[-1] += piece  # marks ride along with their words, past the limit
    else:
        pieces.append(piece)


def _first_piece(sentence: str, limit: int) -> str:
    first_clause = _clauses(sentence)[0]
    if len(first_clause) <= limit:
        return first_clause
    piece = next(_pack(_words(first_clause), limit))
    # Marks right after the cut belong to this piece.
    rest = sentence[len(piece) :]
    return piece + rest[: len(rest) - len(rest.lstrip("".join(_MARKS)))]


def _sentences(text: str) -> Iterator[str]:
    start = 0
    i = 0
    n = len(text)
    while i < n:
        if text[i] in _ENDS or (text[i] == "." and not text[i + 1 : i + 2].isdigit()):
            while i + 1 < n and (text[i + 1] in _ENDS or text[i + 1] == "."):
                i += 1
            yield from _speakable(text[start : i + 1])
            start = i + 1
        i += 1
    yield from _speakable(text[start:])


def _speakable(piece: str) -> Iterator[str]:
    """Skip pieces with nothing to say (only marks)."""
    if any(ch not in _MARKS for ch in piece):
        yield piece.lstrip("".join(_MARKS))


def _clauses(sentence: str) -> list[str]:
    clauses: list[str] = []
    start = 0
    for i, ch in enumerate(sentence):
        nxt = sentence[i + 1 : i + 2]
        if ch in _BREAKS and nxt not in _BREAKS and nxt not in _MARKS:
            clauses.append(sentence[start : i + 1])
            start = i + 1
    if start < len(sentence):
        clauses.append(sentence[start:])
    return clauses


def _pack(units: list[str], limit: int) -> Iterator[str]:
    """Greedily join ``units`` into pieces of at most ``limit`` characters."""
    current = ""
    for unit in units:
        if current and len(current) + len(unit) > limit:
            yield current
            current = ""
        if len(unit) > limit:
            words = _words(unit)
            if len(words) > 1:
                yield from _pack(words, limit)
            else:
                yield from _cut_hard(unit, limit)
            continue
        current += unit
    if current:
        yield current


def _cut_hard(word: str, limit: int) -> Iterator[str]:
    """One word longer than the limit: cut outside numbers if possible, else anywhere."""
    while len(word) > limit:
        cut_at = next((i for i in range(limit, 0, -1) if _breakable(word, i)), limit)
        yield word[:cut_at]
        word = word[cut_at:]
    if word:
        yield word


def _words(clause: str) -> list[str]:
    """jieba words, rejoined wherever a cut would split a number's reading."""
    words: list[str] = []
    pos = 0
    for word in cut(clause):
        if words and not _breakable(clause, pos):
            words[-1] += word
        else:
            words.append(word)
        pos += len(word)
    return words


def _breakable(text: str, i: int) -> bool:
    """May a piece end between ``text[i - 1]`` and ``text[i]``?"""
    left, right = text[i - 1], text[i]
    if right in _MARKS:
        return False
    if left in _NUMBERISH and (right in _NUMBERISH or right in "分秒"):
        return False
    if left in "之第负" and right in NUMERAL_CHARS:
        return False
    if text[i - 2 : i] in ("零下", "零上") and right in NUMERAL_CHARS:
        return False
    return text[i : i + 2] != "分之"
