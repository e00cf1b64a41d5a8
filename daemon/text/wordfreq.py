"""jieba's prefix dictionary as sorted words in one string.

jieba keeps ``FREQ``: every word -> its corpus frequency and every prefix of a word -> 0,
as a dict of 180k entries (~21 MB resident even after our trimming). :class:`WordFreq`
answers the same three questions jieba asks of it (``in``, ``[]``, ``get``) by binary
search over the sorted words, in ~2 MB: a prefix of a word sorts right before it, so the
first word not less than a fragment starts with it if any word does.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable
from itertools import accumulate


class WordFreq:
    """Read-only stand-in for jieba's ``Tokenizer.FREQ``."""

    def __init__(self, freqs: dict[str, int]) -> None:
        words = sorted(freqs)
        self._text = "".join(words)
        # Offsets, frequencies and indices all fit unsigned 32 bits (max ~900k).
        self._starts = array("I", accumulate(map(len, words), initial=0))
        self._freqs = array("I", (freqs[word] for word in words))
        self._indices = range(len(words))
        # Words starting with chr(c) are indices _by_first[c] to _by_first[c + 1]: the
        # binary search then takes ~8 steps rather than ~17.
        self._by_first = array("I")
        for index, word in enumerate(words):
            first = ord(word[0])
            while len(self._by_first) <= first:
                self._by_first.append(index)
        self._by_first.append(len(words))
        # jieba asks ``in`` and then ``[]`` for the same fragment.
        self._last: tuple[str, int | None] = ("", None)

    def __len__(self) -> int:
        return len(self._freqs)

    def __contains__(self, fragment: object) -> bool:
        return isinstance(fragment, str) and self._find(fragment) is not None

    def __getitem__(self, fragment: str) -> int:
        freq = self._find(fragment)
        if freq is None:
            raise KeyError(fragment)
        return freq

    def get(self, fragment: str, default: int | None = None) -> int | None:
        freq = self._find(fragment)
        return default if freq is None else freq

    def _word(self, index: int) -> str:
        return self._text[self._starts[index] : self._starts[index + 1]]

    def _find(self, fragment: str) -> int | None:
        """The word's frequency, 0 for a prefix of a word only, None for neither."""
        last = self._last
        if last[0] == fragment:
            return last[1]
        first = ord(fragment[0]) if fragment else len(self._by_first)
        if first + 1 >= len(self._by_first):
            return None
        end = self._by_first[first + 1]
        index = bisect_left(self._indices, fragment, self._by_first[first], end, key=self._word)
        freq = None
        if index < end:
            word = self._word(index)
            if word == fragment:
                freq = self._freqs[index]
            elif word.startswith(fragment):
                freq = 0
        self._last = (fragment, freq)
        return freq


def parse(lines: Iterable[bytes]) -> tuple[dict[str, int], int]:
    """Dictionary lines -> ({word: frequency}, total), parsed as jieba's ``gen_pfdict``
    does: the last line for a word wins, the total counts every line."""
    freqs: dict[str, int] = {}
    total = 0
    for line in lines:
        word, freq = line.strip().decode("utf-8").split(" ")[:2]
        freqs[word] = int(freq)
        total += int(freq)
    return freqs, total
