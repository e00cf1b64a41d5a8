"""Character classes shared by the normalizer, the sentence splitter and the pinyin step.

"Readable" Han characters are the ones pypinyin has a reading for: the output of
:func:`daemon.text.normalize` promises every character gets a syllable, so a Han
character without one is reported as dropped rather than passed on.
"""

from __future__ import annotations

import unicodedata

from daemon.text.dictionary import CHAR_READINGS

#: The only punctuation left in normalized text; each is a pause of some length.
PAUSE_PUNCT = frozenset("，。！？；：、")

#: Marks that end a sentence for streaming.
SENTENCE_END = frozenset("。！？；")

#: Marks inside a sentence where a long one may be cut.
CLAUSE_BREAK = frozenset("，、：")

#: How strongly each pause mark ends what came before; a run of marks keeps the strongest.
PAUSE_RANK = {"、": 0, "，": 1, "：": 2, "；": 3, "。": 4, "！": 5, "？": 6}

#: ASCII and other punctuation with the same meaning as a pause mark.
PAUSE_EQUIVALENTS = {
    ",": "，",
    ".": "。",
    "!": "！",
    "?": "？",
    ";": "；",
    ":": "：",
    "｡": "。",
    "､": "、",
    "、": "、",
    "︰": "：",
    "¡": "",
    "¿": "",
}

#: Characters written out in Chinese numbers, used to keep a number's reading together.
NUMERAL_CHARS = frozenset("零〇一二两三四五六七八九十百千万亿幺")

#: Digits as read one by one (years, decimals) and in phone numbers and codes.
DIGIT_NAMES = "零一二三四五六七八九"
DIGIT_NAMES_PHONE = "零幺二三四五六七八九"


def word_set(spaced: str) -> frozenset[str]:
    """``"银行 行走"`` -> ``{"银行", "行走"}``: word lists written compactly."""
    return frozenset(spaced.split())


def is_readable_han(char: str) -> bool:
    """A CJK ideograph pypinyin can give a syllable."""
    return len(char) == 1 and ord(char) in CHAR_READINGS and unicodedata.category(char) == "Lo"


def is_speakable(text: str) -> bool:
    """True when ``text`` holds only readable Han characters and pause marks."""
    return all(ch in PAUSE_PUNCT or is_readable_han(ch) for ch in text)


def is_silent(char: str) -> bool:
    """Characters that carry no sound and no meaning of their own: whitespace, format
    controls (zero-width joiners, direction marks, BOM) and variation selectors."""
    if char.isspace():
        return True
    category = unicodedata.category(char)
    if category == "Cf":
        return True
    code = ord(char)
    return 0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF
