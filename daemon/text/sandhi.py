"""Tone sandhi on lexical pinyin: 一, 不 and third-tone chains.

Syllables are pypinyin TONE3 strings (``"ni3"``, neutral ``"de5"``); words are jieba's.

- 一: yi2 before a tone 4 (or neutral) syllable, yi4 before tones 1-3; it stays yi1 when
  counting or ordinal (第一, 一月, 一号, 十一, 二零一六, 一点五, 星期一), at the end of a
  word or clause, and is neutral between a reduplicated verb (看一看).
- 不: bu2 before tone 4, neutral in A不A and in a few set phrases (对不起), else bu4.
- 3-3: in a run of third tones inside a word, all but the last become tone 2
  (你好 ni2 hao3, 展览馆 zhan2 lan2 guan3). Words over three syllables are taken as
  groups of two (岂有|此理 qi2 you3 ci2 li3), and between groups and between words
  where one is a single syllable (我|想 wo2 xiang3) the rule is applied right to left
  on the tones already changed (我|很好 wo3 hen2 hao3). That is the common fluent
  reading; a 1+2 word (小老鼠) is read 2-2-3 like a 2+1 one.
"""

from __future__ import annotations

from collections.abc import Sequence

from daemon.text.chars import NUMERAL_CHARS, word_set

_DIGITS = frozenset("零〇一二三四五六七八九幺")
_YI1_AFTER = frozenset("第零一二三四五六七八九十幺期拜")  # 星期一, 礼拜一
_YI1_BEFORE = frozenset("月号")
_TIME_AFTER_DIAN = _DIGITS | frozenset("半钟整")
_BU_NEUTRAL_WORDS = word_set(
    "对不起 了不起 来不及 差不多 受不了 忍不住 舍不得 看不见 听不见 "
    "睡不着 吃不下 买不起 用不着 怪不得 巴不得 说不定 顾不上 来不了 "
    "去不了 免不了 少不了 用不了"
)


def tone(syllable: str) -> int:
    """The tone digit of a TONE3 syllable (5 for neutral)."""
    return int(syllable[-1]) if syllable[-1:].isdigit() else 5


def with_tone(syllable: str, new_tone: int) -> str:
    base = syllable[:-1] if syllable[-1:].isdigit() else syllable
    return f"{base}{new_tone}"


def apply(words: Sequence[str], syllables: list[list[str]]) -> None:
    """Apply all sandhi rules in place; ``syllables[i]`` belongs to ``words[i]``
    (punctuation words have no syllables and break every rule's context)."""
    _yi_bu(words, syllables)
    _third_tones(words, syllables)


def _yi_bu(words: Sequence[str], syllables: list[list[str]]) -> None:
    chars = "".join(words)
    flat = [s for word_syllables in syllables for s in word_syllables]
    # Index of each character's syllable in ``flat`` (None for punctuation).
    index: list[int | None] = []
    k = 0
    for word, word_syllables in zip(words, syllables, strict=True):
        for _ in word:
            if word_syllables:
                index.append(k)
                k += 1
            else:
                index.append(None)
    pos = 0
    for word, word_syllables in zip(words, syllables, strict=True):
        for offset, char in enumerate(word):
            i = pos + offset
            if char not in "一不" or not word_syllables:
                continue
            prev = chars[i - 1] if i > 0 and index[i - 1] is not None else ""
            nxt = chars[i + 1] if i + 1 < len(chars) and index[i + 1] is not None else ""
            next_index = index[i + 1] if nxt else None
            next_tone = tone(flat[next_index]) if next_index is not None else 0
            final = not nxt or (offset == len(word) - 1 and len(word) > 1)
            if char == "一":
                new = _yi(chars, i, prev, nxt, next_tone, final=final)
                word_syllables[offset] = f"yi{new}"
            else:
                new = _bu(word, prev, nxt, next_tone)
                word_syllables[offset] = f"bu{new}"
        pos += len(word)


def _yi(chars: str, i: int, prev: str, nxt: str, next_tone: int, *, final: bool) -> int:
    if prev and prev == nxt:
        return 5  # 看一看
    if final or prev in _YI1_AFTER or nxt in _DIGITS or nxt in _YI1_BEFORE:
        return 1
    if nxt == "日" and prev == "月":
        return 1  # 十二月一日
    if prev in "百千万亿" and nxt == "十":
        return 1  # 一百一十
    if nxt == "点" and chars[i + 2 : i + 3] in _TIME_AFTER_DIAN:
        return 1  # 一点五, 一点半
    if nxt == "点" and (prev in NUMERAL_CHARS or prev in "午晨"):
        return 1  # 十一点, 下午一点 (a time, not "a bit")
    return 2 if next_tone in (4, 5) else 4


def _bu(word: str, prev: str, nxt: str, next_tone: int) -> int:
    if (prev and prev == nxt) or word in _BU_NEUTRAL_WORDS:
        return 5  # 好不好, 对不起
    return 2 if nxt and next_tone == 4 else 4


def _third_tones(words: Sequence[str], syllables: list[list[str]]) -> None:
    # Within each group of a word, on the dictionary tones.
    for word_syllables in syllables:
        for start, end in _groups(len(word_syllables)):
            original = [tone(s) for s in word_syllables[start:end]]
            for j in range(len(original) - 1):
                if original[j] == 3 and original[j + 1] == 3:
                    word_syllables[start + j] = with_tone(word_syllables[start + j], 2)
    # Across group and short-word boundaries, right to left on the changed tones.
    boundaries: list[tuple[int, int, int]] = []  # (left word, left syllable, right word)
    for w, word_syllables in enumerate(syllables):
        for start, _end in _groups(len(word_syllables))[1:]:
            boundaries.append((w, start - 1, w))
        nxt = syllables[w + 1] if w + 1 < len(syllables) else []
        if word_syllables and nxt and min(len(word_syllables), len(nxt)) == 1:
            boundaries.append((w, len(word_syllables) - 1, w + 1))
    for left_word, left_index, right_word in reversed(boundaries):
        right_index = left_index + 1 if left_word == right_word else 0
        left = syllables[left_word][left_index]
        if tone(left) == 3 and tone(syllables[right_word][right_index]) == 3:
            syllables[left_word][left_index] = with_tone(left, 2)


def _groups(length: int) -> list[tuple[int, int]]:
    """Prosodic groups inside a word: whole up to 3 syllables, else twos (a final three)."""
    if length <= 3:
        return [(0, length)] if length else []
    groups: list[tuple[int, int]] = []
    start = 0
    while length - start > 3:
        groups.append((start, start + 2))
        start += 2
    groups.append((start, length))
    return groups
