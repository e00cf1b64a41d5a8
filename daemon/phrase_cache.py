"""The phrase cache: rendered sentences on disk, so a repeated announcement plays at once.

One file per sentence, named by a hash of everything that changes its sound (engine, model
revision, voice, emotion, speed, the normalized sentence and the sample rate). Each file
carries its key and a SHA-256 of the samples: a corrupt, truncated or foreign file is
detected, deleted and reported as a miss (the sentence is synthesized again), never played.

Files are written to a temporary name and renamed, so a reader never sees half a file; no
fsync: a file cut short by a power loss fails its checksum, which is all it needs. The
cache is bounded (``max_bytes``) and evicts the least recently used files; the order
survives restarts through the files' modification times, touched on every hit.

Every method blocks on file I/O: the daemon calls them on the cache's own thread
(:class:`AsyncPhraseCache`), never on the event loop and never behind a synthesis.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import struct
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Final

import numpy as np

from daemon.engines.base import Audio, Engine

log = logging.getLogger(__name__)

#: Bump when the file layout or the meaning of a key changes: old files then never match.
FORMAT_VERSION: Final = 1
_MAGIC: Final = b"VDPHRASE"
#: magic, format version, sample rate, sample count, key length, SHA-256 of key + samples.
_HEADER: Final = struct.Struct("<8sHIQI32s")
_SUFFIX: Final = ".pcm"


@dataclass(frozen=True)
class CacheKey:
    """Everything that changes how a sentence sounds."""

    engine: str
    revision: str
    voice: str
    emotion: str
    speed: float
    text: str
    """The sentence exactly as the engine receives it (normalized and split)."""
    sample_rate: int

    def encoded(self) -> bytes:
        fields = asdict(self)
        fields["speed"] = round(self.speed, 4)
        fields["format"] = FORMAT_VERSION
        return json.dumps(fields, ensure_ascii=False, sort_keys=True).encode("utf-8")

    def digest(self) -> str:
        return hashlib.sha256(self.encoded()).hexdigest()


def key_for(engine: Engine, sentence: str, *, voice: str, emotion: str, speed: float) -> CacheKey:
    """The key of one sentence as ``engine`` (loaded) would speak it."""
    return CacheKey(
        engine=engine.name,
        revision=engine.revision,
        voice=voice,
        emotion=emotion,
        speed=speed,
        text=sentence,
        sample_rate=engine.sample_rate,
    )


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    corrupt: int = 0
    stored: int = 0
    evicted: int = 0


class PhraseCache:
    """A size-capped LRU of rendered sentences in one directory. Thread-safe."""

    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.stats = CacheStats()
        self._lock = threading.Lock()
        #: digest -> file size, least recently used first.
        self._index: OrderedDict[str, int] = OrderedDict()
        self._bytes = 0
        self._opened = False

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._index)

    def open(self) -> None:
        """Create the directory and index what it holds (oldest use first)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        entries: list[tuple[float, str, int]] = []
        with os.scandir(self.directory) as scan:
            for entry in scan:
                if entry.name.endswith(".tmp"):
                    with contextlib.suppress(OSError):
                        Path(entry.path).unlink()  # left by a crash mid-write
                    continue
                if not entry.name.endswith(_SUFFIX) or not entry.is_file():
                    continue
                with contextlib.suppress(OSError):
                    info = entry.stat()
                    entries.append((info.st_mtime, entry.name[: -len(_SUFFIX)], info.st_size))
        with self._lock:
            self._index.clear()
            for _, digest, size in sorted(entries):
                self._index[digest] = size
            self._bytes = sum(self._index.values())
            self._opened = True
        self._evict()
        log.info(
            "phrase cache %s: %d sentence(s), %.1f of %.0f MB",
            self.directory,
            len(self._index),
            self._bytes / 1e6,
            self.max_bytes / 1e6,
        )

    def path(self, key: CacheKey) -> Path:
        return self.directory / (key.digest() + _SUFFIX)

    def get(self, key: CacheKey) -> Audio | None:
        """The cached audio, or None (absent, or corrupt: then the file is removed)."""
        digest = key.digest()
        if not self._opened or digest not in self._index:
            self.stats.misses += 1
            return None
        path = self.directory / (digest + _SUFFIX)
        try:
            data = path.read_bytes()
        except OSError:
            self._forget(digest)
            self.stats.misses += 1
            return None
        audio = _decode(data, key)
        if audio is None:
            log.warning("phrase cache: %s is corrupt or truncated; synthesizing again", path.name)
            self.stats.corrupt += 1
            self.stats.misses += 1
            self._forget(digest, unlink=True)
            return None
        with self._lock:
            if digest in self._index:
                self._index.move_to_end(digest)
        with contextlib.suppress(OSError):
            os.utime(path)  # the LRU order survives a restart
        self.stats.hits += 1
        return audio

    def put(self, key: CacheKey, audio: Audio) -> bool:
        """Store a rendered sentence; False when it can't be (too large, disk error)."""
        if not self._opened:
            return False
        samples = np.ascontiguousarray(audio, dtype="<f4")
        data = _encode(samples, key)
        if len(data) > self.max_bytes:
            return False
        digest = key.digest()
        path = self.directory / (digest + _SUFFIX)
        temporary = self.directory / f".{digest}.{os.getpid()}.{threading.get_ident()}.tmp"
        try:
            temporary.write_bytes(data)
            temporary.replace(path)
        except OSError as error:
            log.warning("phrase cache: cannot store %s: %s", path.name, error)
            with contextlib.suppress(OSError):
                temporary.unlink()
            return False
        with self._lock:
            self._bytes += len(data) - self._index.pop(digest, 0)
            self._index[digest] = len(data)
        self.stats.stored += 1
        self._evict()
        return True

    def contains(self, key: CacheKey) -> bool:
        """Whether an entry exists (not verified: :meth:`get` verifies)."""
        with self._lock:
            return key.digest() in self._index

    def clear(self) -> int:
        """Delete every entry; how many there were."""
        with self._lock:
            digests = list(self._index)
            self._index.clear()
            self._bytes = 0
        for digest in digests:
            with contextlib.suppress(OSError):
                (self.directory / (digest + _SUFFIX)).unlink()
        return len(digests)

    def _forget(self, digest: str, *, unlink: bool = False) -> None:
        with self._lock:
            self._bytes -= self._index.pop(digest, 0)
        if unlink:
            with contextlib.suppress(OSError):
                (self.directory / (digest + _SUFFIX)).unlink()

    def _evict(self) -> None:
        while True:
            with self._lock:
                if self._bytes <= self.max_bytes or not self._index:
                    return
                digest, size = self._index.popitem(last=False)
                self._bytes -= size
            with contextlib.suppress(OSError):
                (self.directory / (digest + _SUFFIX)).unlink()
            self.stats.evicted += 1


def _encode(samples: Audio, key: CacheKey) -> bytes:
    encoded_key = key.encoded()
    payload = samples.tobytes()
    checksum = hashlib.sha256(encoded_key + payload).digest()
    header = _HEADER.pack(
        _MAGIC, FORMAT_VERSION, key.sample_rate, samples.size, len(encoded_key), checksum
    )
    return header + encoded_key + payload


def _decode(data: bytes, key: CacheKey) -> Audio | None:
    """The samples of a cache file, or None when anything about it is wrong."""
    if len(data) < _HEADER.size:
        return None
    magic, version, rate, count, key_length, checksum = _HEADER.unpack_from(data)
    body = data[_HEADER.size :]
    if (
        magic != _MAGIC
        or version != FORMAT_VERSION
        or rate != key.sample_rate
        or count == 0
        or len(body) != key_length + 4 * count
    ):
        return None
    encoded_key = body[:key_length]
    if encoded_key != key.encoded() or hashlib.sha256(body).digest() != checksum:
        return None
    audio = np.frombuffer(body, dtype="<f4", offset=key_length).astype(np.float32)
    if not np.all(np.isfinite(audio)):
        return None
    return audio


class AsyncPhraseCache:
    """The cache as the event loop uses it: every call runs on one thread of its own, so a
    lookup neither blocks the loop nor waits behind a synthesis."""

    def __init__(self, cache: PhraseCache) -> None:
        self.cache = cache
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="phrase-cache")
        self._writes: set[asyncio.Future[bool]] = set()

    async def open(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._executor, self.cache.open)

    async def get(self, key: CacheKey) -> Audio | None:
        try:
            return await asyncio.get_running_loop().run_in_executor(
                self._executor, self.cache.get, key
            )
        except Exception:
            log.exception("phrase cache lookup failed")
            return None

    def put(self, key: CacheKey, audio: Audio) -> None:
        """Store in the background (the speaker doesn't wait for the disk)."""
        future = asyncio.get_running_loop().run_in_executor(
            self._executor, self.cache.put, key, audio
        )
        self._writes.add(future)
        future.add_done_callback(self._written)

    async def store(self, key: CacheKey, audio: Audio) -> bool:
        """Store and wait until it is on disk."""
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, self.cache.put, key, audio
        )

    async def clear(self) -> int:
        """Delete every entry (off the event loop); how many there were."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, self.cache.clear)

    def _written(self, future: asyncio.Future[bool]) -> None:
        self._writes.discard(future)
        if not future.cancelled() and future.exception() is not None:
            log.error("phrase cache write failed: %s", future.exception())

    def close(self) -> None:
        self._executor.shutdown(wait=True)
