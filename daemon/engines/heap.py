"""Handing freed heap memory back to the operating system (glibc's ``malloc_trim``)."""

from __future__ import annotations

import ctypes
import functools
import logging
from collections.abc import Callable
from typing import cast

logger = logging.getLogger(__name__)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        trim = ctypes.CDLL(None).malloc_trim  # the C library this process runs on
    except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
        logger.debug("malloc_trim unavailable: freed heap memory stays with the process")
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return cast(Callable[[int], int], trim)


def release_free_heap() -> None:
    """Return the free pages of the heap to the OS; a no-op without glibc.

    glibc keeps memory freed in the middle of its heaps: after each synthesized line of a
    torch engine that is the line's activations and buffers, tens of MB of varying sizes
    that would otherwise add up to a higher peak on the next line. Takes a few ms.
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
