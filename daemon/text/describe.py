"""What ``voice-daemon text --json`` prints: the whole frontend's view of a text."""

from __future__ import annotations

from typing import TypedDict

from daemon.text.normalize import normalize
from daemon.text.pinyin import analyze
from daemon.text.sentences import split_sentences


class Description(TypedDict):
    normalized: str
    sentences: list[str]
    pinyin: list[list[str]]


def describe(text: str) -> Description:
    """``{"normalized": str, "sentences": [str], "pinyin": [[str]]}``: pinyin per
    sentence, the syllables of all its tokens in order."""
    normalized = normalize(text).text
    sentences = split_sentences(normalized)
    pinyin = [
        [syllable for token in analyze(sentence) for syllable in token.syllables]
        for sentence in sentences
    ]
    return {"normalized": normalized, "sentences": sentences, "pinyin": pinyin}
