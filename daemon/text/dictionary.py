"""pypinyin's character and phrase readings, held compactly.

pypinyin keeps its 47k-phrase dictionary as a dict of lists of lists of strings, plus a
copy and a prefix set of it for its own segmenter: ~45 MB resident. We import pypinyin
without them (``PYPINYIN_NO_PHRASES`` and ``PYPINYIN_NO_DICT_COPY``, its FAQ's way to
save memory) and keep each phrase's readings in one string per first character (~2 MB).
A converter hook gives pypinyin those readings, so it still converts them to TONE3
itself: the syllables are the ones its phrase dictionary gives.

Relies on pypinyin's ``phrases_dict.json`` and converter hooks; pyproject.toml pins the
versions this was checked with.
"""

from __future__ import annotations

import os
import re
from importlib.resources import files
from typing import Any

# Only takes effect before pypinyin's first import in the process; the readings are the
# same either way (the hook below overrides pypinyin's own phrase readings).
os.environ["PYPINYIN_NO_PHRASES"] = "1"
os.environ["PYPINYIN_NO_DICT_COPY"] = "1"

from pypinyin import Style
from pypinyin.converter import UltimateConverter
from pypinyin.core import Pinyin
from pypinyin.pinyin_dict import pinyin_dict

#: Code point -> pypinyin's readings (comma-separated) of every character it can read.
CHAR_READINGS: dict[int, str] = pinyin_dict

#: One entry of phrases_dict.json: ``"银行": [["yín"], ["háng", "xíng"]]``. Read entry by
#: entry with these patterns, not ``json.loads``: that would first build the whole ~45 MB
#: dict of lists this module exists to avoid, and the process's peak RSS would keep it.
_ENTRY_RE = re.compile(r'"([^"]+)"\s*:\s*\[((?:\s*\[[^\]]*\]\s*,?)*)\s*\]')
_FIRST_READING_RE = re.compile(r'\[\s*"([^"]*)"')


def _load() -> tuple[dict[str, str], int]:
    """``{first character: "\\n银行\\tyín háng\\n..."}`` (each character's first reading,
    what pypinyin uses without heteronyms) and the longest phrase's length."""
    text = files("pypinyin").joinpath("phrases_dict.json").read_text(encoding="utf-8")
    lines: dict[str, list[str]] = {}
    longest = 0
    for entry in _ENTRY_RE.finditer(text):
        phrase = entry[1]
        readings = " ".join(_FIRST_READING_RE.findall(entry[2]))
        lines.setdefault(phrase[0], [""]).append(f"{phrase}\t{readings}")
        longest = max(longest, len(phrase))
    return {first: "\n".join(group) + "\n" for first, group in lines.items()}, longest


_BLOCKS, MAX_PHRASE_LEN = _load()


def phrase_readings(phrase: str) -> list[str] | None:
    """pypinyin's readings (tone marks) of a phrase in its dictionary, else None."""
    block = _BLOCKS.get(phrase[:1])
    if block is None:
        return None
    start = block.find(f"\n{phrase}\t")
    if start < 0:
        return None
    start += len(phrase) + 2
    return block[start : block.index("\n", start)].split(" ")


def is_phrase(word: str) -> bool:
    return phrase_readings(word) is not None


class _PhraseConverter(UltimateConverter):
    """pypinyin's converter with phrase readings from :func:`phrase_readings`."""

    def post_pinyin(
        self, han: str, heteronym: bool, pinyin: list[list[str]], **kwargs: Any
    ) -> list[list[str]] | None:
        readings = phrase_readings(han)
        if readings is None:
            return super().post_pinyin(han, heteronym, pinyin, **kwargs)
        return [[reading] for reading in readings]


_PINYIN = Pinyin(_PhraseConverter(neutral_tone_with_five=True))


def tone3(pieces: list[str]) -> list[str]:
    """TONE3 syllables (neutral tone 5) of phrases and single characters: what
    ``lazy_pinyin(pieces, style=Style.TONE3, neutral_tone_with_five=True)`` gives with
    pypinyin's phrase dictionary loaded."""
    readings: list[str] = _PINYIN.lazy_pinyin(pieces, style=Style.TONE3)
    return readings
