"""Word segmentation with jieba, loaded lazily, once, thread-safely.

jieba's stock dictionary costs ~65 MB as its prefix dictionary, a fifth of the embedded
voice's memory budget. We load it without its rarest words (seen fewer than
:data:`MIN_WORD_FREQ` times in jieba's corpus: half the entries, mostly names and
obscure compounds). Everyday announcements segment the same or into smaller common
words, which pypinyin still reads with their phrase readings. The prefix dictionary
jieba looks words up in is a :class:`~daemon.text.wordfreq.WordFreq` (~2 MB, where
jieba's own dict of the same words takes ~21 MB); it builds in ~0.35 s, faster than
jieba's own cache. :func:`warm_up` lets an engine pay that at load time instead of on the
first announcement."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

import jieba

from daemon.text.wordfreq import WordFreq, parse

log = logging.getLogger(__name__)

#: Words of jieba's dictionary kept: corpus frequency at least this, or a single character.
MIN_WORD_FREQ = 5

_lock = threading.Lock()
_tokenizer: jieba.Tokenizer | None = None


def warm_up() -> None:
    """Load jieba's dictionary now (idempotent, thread-safe)."""
    _get()


def cut(text: str) -> list[str]:
    """jieba's words for ``text`` (precise mode, with HMM for unknown words)."""
    if not text:
        return []
    return list(_get().lcut(text, HMM=True))


def _get() -> jieba.Tokenizer:
    global _tokenizer  # noqa: PLW0603 - one shared, lazily built tokenizer
    tokenizer = _tokenizer
    if tokenizer is not None:
        return tokenizer
    with _lock:
        if _tokenizer is None:
            tokenizer = jieba.Tokenizer()
            # What jieba's initialize() builds from its dictionary file (gen_pfdict), from
            # the filtered lines and compact: no cache file left behind (jieba's own goes
            # to /tmp), no copy of the whole file in memory.
            freqs, total = parse(_common_entries(tokenizer))
            tokenizer.FREQ, tokenizer.total = WordFreq(freqs), total
            tokenizer.initialized = True
            log.debug("jieba dictionary loaded: %d words", len(freqs))
            _tokenizer = tokenizer
        return _tokenizer


def _common_entries(tokenizer: jieba.Tokenizer) -> Iterator[bytes]:
    """Lines of jieba's dictionary (``word freq [tag]``, UTF-8) worth keeping."""
    with tokenizer.get_dict_file() as lines:
        for line in lines:
            word, freq = line.split(maxsplit=2)[:2]
            if int(freq) >= MIN_WORD_FREQ or len(word.decode("utf-8")) == 1:
                yield line
