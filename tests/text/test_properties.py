"""Properties over arbitrary text: nothing raises, the alphabet is as promised, and every
character is either read or reported."""

from __future__ import annotations

import os
import re
import unicodedata

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daemon.text import analyze, describe, normalize, split_sentences
from daemon.text.chars import PAUSE_PUNCT, is_readable_han, is_speakable

_SYLLABLE = re.compile(r"[a-z]+[1-5]")

#: Text that looks like announcements: digits, signs, units, letters, Chinese, emoji.
_ANNOUNCEMENT_ALPHABET = st.sampled_from(
    list("0123456789") * 4
    + list("-+.,:/%℃°~ ×÷=¥$") * 2
    + list("kmgWVhsAPMBCabcxyzKG")
    + list("年月日号点分第度个元温气下午室码电话是的一不好你我很长行")
    + list("，。！？；：、（）“”《》—…\n")
    + ["😀", "★", "²", "㎡", "１", "Ａ", "\u200b", "é", "π", "〇", "⼀"]
)
announcement_text = st.text(_ANNOUNCEMENT_ALPHABET, max_size=40)
any_text = st.text(max_size=40)
texts = st.one_of(any_text, announcement_text)

_SETTINGS = settings(
    max_examples=int(os.environ.get("TEXT_PROPERTY_EXAMPLES", "250")),
    deadline=None,
    database=None,  # no .hypothesis directory in the shared tree
    suppress_health_check=[HealthCheck.too_slow],
)


@_SETTINGS
@given(texts)
def test_normalize_output_alphabet(text: str) -> None:
    result = normalize(text)
    assert is_speakable(result.text)
    assert " " not in result.text
    assert not result.text or result.text[0] not in PAUSE_PUNCT
    assert len(result.dropped) == len(set(result.dropped))


@_SETTINGS
@given(texts)
def test_dropped_characters_come_from_the_input(text: str) -> None:
    nfkc = unicodedata.normalize("NFKC", text)
    for char in normalize(text).dropped:
        assert char in text or char in nfkc


@_SETTINGS
@given(texts)
def test_every_character_is_read_or_reported(text: str) -> None:
    result = normalize(text)
    composed = unicodedata.normalize("NFC", text)
    # A character unreadable on its own is never swallowed by its context.
    for char in composed:
        if normalize(char).dropped:
            assert set(normalize(char).dropped) <= set(result.dropped), char
    # Chinese characters pass through in order.
    han = [c for c in composed if is_readable_han(c) and unicodedata.normalize("NFKC", c) == c]
    it = iter(result.text)
    assert all(c in it for c in han)
    # Digits and Latin letters are always said.
    if any(c.isascii() and c.isalnum() for c in composed):
        assert result.text
    # Nothing readable vanished without a trace.
    if not result.text and not result.dropped:
        assert all(not normalize(c).text for c in composed)


@_SETTINGS
@given(texts, st.integers(1, 60), st.one_of(st.none(), st.integers(1, 30)))
def test_split_sentences_pieces(text: str, max_chars: int, first_max_chars: int | None) -> None:
    normalized = normalize(text).text
    pieces = split_sentences(normalized, max_chars=max_chars, first_max_chars=first_max_chars)
    assert "".join(pieces) == normalized
    for i, piece in enumerate(pieces):
        limit = first_max_chars if i == 0 and first_max_chars is not None else max_chars
        assert 0 < len(piece.rstrip("".join(PAUSE_PUNCT))) <= limit
        assert any(ch not in PAUSE_PUNCT for ch in piece)


@_SETTINGS
@given(any_text, st.integers(1, 60))
def test_split_sentences_never_raises_on_raw_text(text: str, max_chars: int) -> None:
    for piece in split_sentences(text, max_chars=max_chars):
        assert piece.strip()


@_SETTINGS
@given(texts)
def test_analyze_gives_one_syllable_per_character(text: str) -> None:
    for token in analyze(text):
        assert token.text
        if token.is_punct:
            assert token.syllables == ()
            assert all(ch in PAUSE_PUNCT for ch in token.text)
        else:
            assert len(token.syllables) == len(token.text)
            assert all(is_readable_han(ch) for ch in token.text)
            assert all(_SYLLABLE.fullmatch(s) for s in token.syllables), token


@settings(max_examples=60, deadline=None, database=None)
@given(texts)
def test_describe_is_consistent(text: str) -> None:
    described = describe(text)
    assert described["normalized"] == normalize(text).text
    assert "".join(described["sentences"]) == described["normalized"]
    assert len(described["pinyin"]) == len(described["sentences"])
    for sentence, syllables in zip(described["sentences"], described["pinyin"], strict=True):
        assert len(syllables) == sum(1 for ch in sentence if ch not in PAUSE_PUNCT)
