"""Text normalization: any string -> Chinese characters and pause marks only.

Numbers, dates, times, codes, ranges and units are read by :mod:`daemon.text.numeric`,
Latin letters by :mod:`daemon.text.letters`; everything else is handled here. Choices
where the spec was silent (the tests pin each of them):

- Full-width and compatibility forms are folded with NFKC (except ² ³, kept for m², and
  the Chinese comma); other scripts' digits read as digits; é reads as e.
- Quotes of every kind, ``·`` in names, ``_`` and zero-width/format characters are
  removed: they carry no sound.
- Brackets, dashes (— – ~ and a ``-`` not joining two letters or digits), ``|`` and
  bullets become a comma pause, and so does an ellipsis; a line break ends a sentence.
- A ``-`` between letters or digits (Wi-Fi, A-1) joins them silently.
- ``/`` after a number and its unit means "per" (5元/斤 -> 五元每斤), else a 、 pause.
- A run of pause marks keeps the strongest one (?! -> ？); leading marks are removed.
- Symbols with a reading are read (& 和, @ 艾特, = 等于, + 加, ° 度, ...).
- Everything else that cannot be read (emoji, other scripts, rare symbols, control
  characters, Han characters pypinyin has no reading for) is listed in ``dropped``.

Number choices: phone numbers and codes are read digit by digit with 1 as 幺 (their
common spoken form); years (four digits before 年, or in a date) digit by digit with
一; decimals read every written digit (12.50 -> 十二点五零); 2 is 两 before measure
words and leading 千/万/亿 (两个, 两点, 两千), 二 otherwise (二号, 第二); a minus sign
is 零下 for temperatures (℃, °, 度, or after 温度/气温) and 负 otherwise.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass, field

from daemon.text.chars import (
    PAUSE_EQUIVALENTS,
    PAUSE_PUNCT,
    PAUSE_RANK,
    is_readable_han,
    is_silent,
)
from daemon.text.letters import GREEK, ascii_letter, read_word
from daemon.text.numeric import is_range_connector, read_numeric
from daemon.text.units import UNIT_RE, UNITS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Normalized:
    """The speakable text and what could not be read."""

    text: str
    """Only readable CJK characters and the pause marks ``，。！？；：、``."""
    dropped: list[str] = field(default_factory=list)
    """Characters that could not be read, each once, in order of appearance."""


#: NFKC would turn these into plain digits (m² -> m2) or ASCII commas.
_KEEP_AS_IS = frozenset("²³，")
_BEFORE_NFKC = {"㎡": "m²", "㎥": "m³", "㎠": "cm²", "㎤": "cm³", "㎢": "km²", "〇": "零"}
_AFTER_NFKC = {
    "⁄": "/",
    "∕": "/",
    "‐": "-",
    "‑": "-",
    "‒": "–",
    "∶": ":",
    "〜": "~",
    "∼": "~",
    "．": ".",
}

#: Symbols with a reading of their own wherever they stand.
_SYMBOLS = {
    "&": "和",
    "@": "艾特",
    "#": "井号",
    "*": "星号",
    "+": "加",
    "=": "等于",
    "−": "减",
    "×": "乘",
    "÷": "除以",
    "<": "小于",
    ">": "大于",
    "≤": "小于等于",
    "≥": "大于等于",
    "≠": "不等于",
    "±": "正负",
    "≈": "约等于",
    "%": "百分号",
    "‰": "千分号",
    "°": "度",
    "²": "平方",
    "³": "立方",
    "√": "根号",
    "∞": "无穷",
    "→": "到",
    "¥": "元",
    "$": "美元",
    "€": "欧元",
    "£": "英镑",
    "♂": "男",
    "♀": "女",
}
_SILENT_MARKS = frozenset("\"'`´“”‘’„‚«»‹›「」『』《》〈〉〝〞〟·・_")
_PAUSE_MARKS = frozenset("()[]{}【】〔〕〖〗〘〙⦅⦆—–―⸺⸻~|•◆●■▪")
_LINE_BREAKS = frozenset("\n\r\u2028\u2029\x0b\x0c\x85")

_WORD_RE = re.compile(r"[A-Za-z]+(?:[-'’][A-Za-z]+)*")
_ELLIPSIS_RE = re.compile(r"\.{2,}")
_NUMBER_NO_RE = re.compile(r"No\.\s?(?=[0-9])")
_PUNCT_RUN_RE = re.compile(f"[{''.join(sorted(PAUSE_PUNCT))}]{{2,}}")


def normalize(text: str) -> Normalized:
    """Make ``text`` speakable: see the module docstring for the rules."""
    prepared = _prepare(text)
    out: list[str] = []
    dropped: dict[str, None] = {}
    pos = 0
    n = len(prepared)
    while pos < n:
        reading, pos = _read_at(prepared, pos, out, dropped)
        if reading:
            out.append(reading)
    normalized = Normalized(_tidy("".join(out)), list(dropped))
    if normalized.dropped:
        log.debug("unreadable characters: %r", normalized.dropped)
    return normalized


def _prepare(text: str) -> str:
    """Full-width forms, compatibility characters and other scripts' digits made plain."""
    text = unicodedata.normalize("NFC", "".join(_BEFORE_NFKC.get(ch, ch) for ch in text))
    pieces: list[str] = []
    for ch in text:
        if ch in _KEEP_AS_IS or ch.isascii():
            pieces.append(ch)
            continue
        pieces.extend(_plain_char(c) for c in unicodedata.normalize("NFKC", ch))
    return "".join(pieces)


def _plain_char(char: str) -> str:
    char = _AFTER_NFKC.get(char, char)
    if char.isascii():
        return char
    if char.isdigit():
        decimal = unicodedata.decimal(char, None)  # other scripts' digits (٣, ३)
        return char if decimal is None else str(decimal)
    if char.isalpha() and char not in GREEK:
        letter = ascii_letter(char)  # é -> e, read as the letter
        if letter is not None:
            return letter.upper() if char.isupper() else letter
    return char


def _read_at(text: str, pos: int, out: list[str], dropped: dict[str, None]) -> tuple[str, int]:
    """The reading of what starts at ``pos`` and the position after it."""
    char = text[pos]
    if is_range_connector(text, pos):
        return "到", pos + 1
    numeric = read_numeric(text, pos)
    if numeric is not None:
        return numeric
    if is_readable_han(char):
        return char, pos + 1
    if char.isascii() and char.isalpha():
        return _read_latin(text, pos)
    if char in _LINE_BREAKS:
        return ("" if out and out[-1][-1:] in PAUSE_PUNCT else "。"), pos + 1
    if is_silent(char) or char in _SILENT_MARKS:
        return "", pos + 1
    if char in PAUSE_PUNCT:
        return char, pos + 1
    if char == ".":
        ellipsis = _ELLIPSIS_RE.match(text, pos)
        if ellipsis is not None:
            return "，", ellipsis.end()
    if char in PAUSE_EQUIVALENTS:
        return PAUSE_EQUIVALENTS[char], pos + 1
    if char == "-":
        return _hyphen(text, pos), pos + 1
    if char == "/":
        return _slash(text, pos)
    if char in _PAUSE_MARKS:
        return "，", pos + 1
    if char == "°" and text[pos + 1 : pos + 2] in ("C", "F"):
        return UNITS[text[pos : pos + 2]], pos + 2
    reading = _SYMBOLS.get(char) or GREEK.get(char)
    if reading:
        return reading, pos + 1
    dropped[char] = None
    return "", pos + 1


def _read_latin(text: str, pos: int) -> tuple[str, int]:
    number_sign = _NUMBER_NO_RE.match(text, pos)
    if number_sign is not None:  # "No.5" is 第五
        return "第", number_sign.end()
    word = _WORD_RE.match(text, pos)
    assert word is not None  # text[pos] is an ASCII letter
    return read_word(word.group()), word.end()


def _hyphen(text: str, pos: int) -> str:
    """A hyphen joining letters or digits is silent; elsewhere it is a dash (pause)."""
    before = text[pos - 1] if pos else ""
    after = text[pos + 1] if pos + 1 < len(text) else ""
    joins = before.isascii() and before.isalnum() and after.isascii() and after.isalnum()
    return "" if joins else "，"


def _slash(text: str, pos: int) -> tuple[str, int]:
    """``/`` after a number and unit is "per" (5元/斤, 5元/kg); otherwise a list pause."""
    if not any(ch.isdigit() for ch in text[max(0, pos - 6) : pos]):
        return "、", pos + 1
    unit = UNIT_RE.match(text, pos + 1)
    if unit is not None and not unit.group().startswith(" "):
        return "每" + UNITS[unit["unit"]], unit.end()
    nxt = text[pos + 1 : pos + 2]
    return ("每" if nxt and is_readable_han(nxt) else "、"), pos + 1


def _tidy(text: str) -> str:
    """Collapse runs of pause marks to the strongest and drop leading ones."""
    text = _PUNCT_RUN_RE.sub(lambda m: max(m.group(), key=PAUSE_RANK.__getitem__), text)
    return text.lstrip("".join(PAUSE_PUNCT))
