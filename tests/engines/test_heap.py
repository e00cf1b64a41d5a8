"""Freed heap memory goes back to the OS."""

from __future__ import annotations

import platform
from pathlib import Path

from daemon.engines.heap import release_free_heap


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_release_free_heap_returns_freed_memory() -> None:
    assert platform.libc_ver()[0] == "glibc"  # the CI machine's C library: trim must work
    # 80 MB in blocks below glibc's mmap threshold, so they live in the heap; the last
    # one stays, so freeing the others leaves a hole glibc keeps without a trim.
    blocks = [bytearray(b"x" * 64_000) for _ in range(1250)]
    keep = blocks[-1]
    del blocks
    before = _rss_mb()
    release_free_heap()
    after = _rss_mb()
    assert before - after > 40, (before, after)
    assert keep[0] == ord("x")
