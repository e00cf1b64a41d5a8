"""Character error rate that ignores how a reading is written.

The engine is told *what to say*; the ASR writes what it heard in its own way: "3" or
"三", "10:30" or "十点三十", traditional or simplified characters, 在 or 再. We compare
what is *said*: both sides go through the shared normalizer (digits, units and Latin
letters become Chinese characters), punctuation is dropped, and each character becomes its
toneless pypinyin syllable. The error rate is the syllable edit distance divided by the
reference length; Chinese characters are one syllable each, so this is a CER over
readings. Tones are ignored because the ASR's choice between homophones is its own
guess, not the voice's fault; a plain character CER is reported alongside.
"""

from __future__ import annotations

from collections.abc import Sequence

from pypinyin import Style, lazy_pinyin, load_phrases_dict
from pypinyin.phrases_dict import phrases_dict

import daemon.text

# daemon.text keeps pypinyin's phrase dictionary out of memory when it imports pypinyin
# first (daemon/text/dictionary.py); these reference readings use it either way.
load_phrases_dict(phrases_dict)


def edit_distance(ref: Sequence[str], hyp: Sequence[str]) -> int:
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1]


def spoken_characters(text: str) -> str:
    """The normalized text's characters only (no punctuation)."""
    normalized = daemon.text.normalize(text).text
    return "".join(ch for ch in normalized if "\u3400" <= ch <= "\u9fff")


def readings(text: str) -> list[str]:
    return lazy_pinyin(spoken_characters(text), style=Style.NORMAL)
