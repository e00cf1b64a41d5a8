"""Our frontend stage: analyzed words (pinyin after sandhi) -> KAN-TTS symbol lines.

Input is :func:`daemon.text.analyze`'s tokens for one normalized sentence. Output is one
symbol line per sentence-final mark, in the format the voices were trained on (KAN-TTS's
training script converter): every prosodic word is followed by a break ``#1``-``#4``, and
each phone carries its tone, its place in the syllable and in the word.

Prosody is predicted by simple rules (the official frontend's statistical predictor is
closed source): lexical words from jieba become prosodic words, with unstressed particles
joined to the word before; ``#3`` at clause punctuation, ``#2`` at enumeration commas and
to break up long runs of words, ``#4`` at the end.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from .errors import SymbolError
from .phones import split_tone, syllable_phones

#: Particles read as part of the word before them (no break in between).
CLITICS = frozenset("的地得了着过吗呢吧啊呀嘛么哦啦哇哪")
CLAUSE_PUNCT = frozenset("，,；;：:")
LIST_PUNCT = frozenset("、")
SENTENCE_END = frozenset("。！？!?…")
#: Syllables after which a run of #1-separated words gets a #2.
PHRASE_SYLLABLES = 6


class PinyinToken(Protocol):
    """What we read from :class:`daemon.text.Token`."""

    @property
    def text(self) -> str: ...

    @property
    def syllables(self) -> Sequence[str]: ...

    @property
    def is_punct(self) -> bool: ...


@dataclass
class ProsodicWord:
    """TONE3 syllables spoken as one prosodic word, and the break after it."""

    syllables: list[str]
    """Pinyin with tone digits, e.g. ``["ni2", "hao3"]``."""
    text: str = ""
    """The characters, for messages."""
    break_after: int = 1
    """Prosodic break level 1-4 after the word (0: none)."""


@dataclass
class Sentence:
    words: list[ProsodicWord] = field(default_factory=list)


def plan_prosody(tokens: Iterable[PinyinToken]) -> list[list[ProsodicWord]]:
    """Group tokens into prosodic words with breaks; one list per output line."""
    sentences: list[list[ProsodicWord]] = [[]]
    for token in tokens:
        words = sentences[-1]
        if token.is_punct:
            if words:
                level = _punct_break(token.text)
                words[-1].break_after = max(words[-1].break_after, level)
                if level == 4:
                    sentences.append([])
            continue
        syllables = _erhua([s for s in token.syllables if s.strip()])
        if not syllables:
            continue
        prev = words[-1] if words else None
        joins = (
            prev is not None
            and prev.break_after <= 1
            and (
                token.text in CLITICS
                # Two one-syllable words read as one prosodic word (很 好 -> 很好).
                or (len(prev.syllables) == 1 and len(syllables) == 1 and prev.text not in CLITICS)
            )
        )
        if prev is not None and joins:
            prev.syllables += syllables
            prev.text += token.text
        else:
            words.append(ProsodicWord(syllables, token.text))
    result = [s for s in sentences if s]
    for words in result:
        words[-1].break_after = 4
        _phrase_breaks(words)
    return result


def _erhua(syllables: list[str]) -> list[str]:
    """Merge a neutral-tone 儿 into the syllable before it (玩儿 wan2 er5 -> wanr2).

    pypinyin reads the erhua suffix as ``er5`` and a full 儿 (女儿) with its own tone;
    the voices have r-coloured finals for the merged syllable.
    """
    out: list[str] = []
    for syllable in syllables:
        if syllable.lower() in ("er5", "er") and out and not out[-1].lower().startswith("er"):
            base, tone = split_tone(out[-1])
            if not base.endswith("r"):
                out[-1] = base + "r" + tone.removeprefix("tone")
                continue
        out.append(syllable)
    return out


def _punct_break(text: str) -> int:
    if any(ch in SENTENCE_END for ch in text):
        return 4
    if any(ch in CLAUSE_PUNCT for ch in text):
        return 3
    if any(ch in LIST_PUNCT for ch in text):
        return 2
    return 1


def _phrase_breaks(words: list[ProsodicWord]) -> None:
    """Promote a #1 to #2 when a phrase gets long and enough of the clause remains."""
    run = 0
    for i, word in enumerate(words):
        run += len(word.syllables)
        if word.break_after >= 2:
            run = 0
            continue
        rest = 0
        for later in words[i + 1 :]:
            rest += len(later.syllables)
            if later.break_after >= 3:
                break
        if run >= PHRASE_SYLLABLES and rest >= 3:
            word.break_after = 2
            run = 0


def symbol_line(words: Sequence[ProsodicWord], *, emotion: str, speaker: str) -> str:
    """One KAN-TTS symbol line for the words (emotion without the ``emotion_`` prefix)."""
    tail = f"$emotion_{emotion}${speaker}}}"
    out: list[str] = []
    for word in words:
        phones: list[tuple[str, str, str]] = []  # phone, tone, syllable flag
        for syllable in word.syllables:
            pinyin, tone = split_tone(syllable)
            try:
                initial, final = syllable_phones(pinyin)
            except SymbolError as exc:
                raise SymbolError(f"{exc} (in {word.text!r})") from None
            phones += [(initial, tone, "s_begin"), (final, tone, "s_end")]
        n_syl = len(word.syllables)
        for i, (phone, tone, flag) in enumerate(phones):
            out.append(f"{{{phone}${tone}${flag}${_word_position(i, len(phones), n_syl)}{tail}")
        if word.break_after:
            out.append(f"{{#{word.break_after}$tone_none$s_none$word_none{tail}")
    return " ".join(out)


def _word_position(index: int, n_phones: int, n_syllables: int) -> str:
    """Per-phone word flag as KAN-TTS's converter assigns it.

    The first phone begins the word and the last ends it; every other phone is
    ``word_middle`` (for a one-syllable word too: its initial begins, its final ends).
    """
    if n_phones == 1:
        return "word_both"
    if index == 0:
        return "word_begin"
    if index == n_phones - 1:
        return "word_end"
    return "word_middle"


def sentence_symbols(tokens: Iterable[PinyinToken], *, emotion: str, speaker: str) -> list[str]:
    """Analyzed tokens of one sentence -> symbol lines (several if it has inner 。！？)."""
    return [symbol_line(words, emotion=emotion, speaker=speaker) for words in plan_prosody(tokens)]
