"""Word segmentation with jieba, loaded lazily, once, thread-safely.

jieba builds its prefix dictionary on first use (~1 s): :func:`warm_up` lets an engine
pay that at load time instead of on the first announcement.
"""

from __future__ import annotations

import logging
import threading

import jieba

log = logging.getLogger(__name__)

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
            # jieba logs its loading at INFO/DEBUG on its own handler; keep it quiet.
            jieba.setLogLevel(logging.WARNING)
            tokenizer = jieba.Tokenizer()
            tokenizer.initialize()
            log.debug("jieba dictionary loaded")
            _tokenizer = tokenizer
        return _tokenizer
