"""The phrase cache on its own: keys, integrity checks, LRU eviction, persistence; the
``cache`` request field; the stream resampler the player uses for streamed pieces."""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import resample_poly

from daemon.audio.stream_resampler import StreamResampler
from daemon.phrase_cache import AsyncPhraseCache, CacheKey, PhraseCache
from daemon.request import Rejected, parse_say
from daemon.speaker import trim_leading_silence

KEY = CacheKey(
    engine="fastspeech2",
    revision="r1",
    voice="baker",
    emotion="neutral",
    speed=1.0,
    text="门口有人按门铃。",
    sample_rate=24000,
)


def audio(seconds: float = 0.5, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(int(24000 * seconds)) * 0.2).astype(np.float32)


def opened(directory: Path, max_bytes: int = 10_000_000) -> PhraseCache:
    cache = PhraseCache(directory, max_bytes)
    cache.open()
    return cache


def test_roundtrip_is_exact_and_survives_a_restart(tmp_path: Path) -> None:
    cache = opened(tmp_path)
    sound = audio()
    assert cache.get(KEY) is None
    assert cache.put(KEY, sound)
    np.testing.assert_array_equal(cache.get(KEY), sound)
    again = opened(tmp_path)
    np.testing.assert_array_equal(again.get(KEY), sound)
    assert (cache.stats.hits, cache.stats.misses, cache.stats.stored) == (1, 1, 1)


@pytest.mark.parametrize(
    "change",
    [
        {"engine": "sambert"},
        {"revision": "r2"},
        {"voice": "other"},
        {"emotion": "happy"},
        {"speed": 1.1},
        {"text": "门口有人按门铃！"},
        {"sample_rate": 16000},
    ],
)
def test_everything_that_changes_the_sound_changes_the_key(
    tmp_path: Path, change: dict[str, object]
) -> None:
    cache = opened(tmp_path)
    cache.put(KEY, audio())
    other = replace(KEY, **change)  # type: ignore[arg-type]
    assert other.digest() != KEY.digest()
    assert cache.get(other) is None


def test_speed_is_rounded_into_the_key() -> None:
    assert replace(KEY, speed=1.0000001).digest() == KEY.digest()


def corrupt_ways(data: bytes) -> dict[str, bytes]:
    middle = len(data) // 2
    return {
        "truncated": data[:middle],
        "flipped sample bit": data[:middle] + bytes([data[middle] ^ 0x01]) + data[middle + 1 :],
        "empty": b"",
        "header only": data[:60],
        "extra bytes": data + b"\x00\x00\x00\x00",
        "garbage": os.urandom(len(data)),
    }


@pytest.mark.parametrize("way", list(corrupt_ways(b"x" * 200)))
def test_corrupt_entries_are_misses_and_are_removed(tmp_path: Path, way: str) -> None:
    cache = opened(tmp_path)
    cache.put(KEY, audio())
    path = cache.path(KEY)
    path.write_bytes(corrupt_ways(path.read_bytes())[way])
    assert cache.get(KEY) is None
    assert not path.exists()
    assert cache.stats.corrupt == 1
    assert cache.put(KEY, audio(seed=1))  # stored afresh
    np.testing.assert_array_equal(cache.get(KEY), audio(seed=1))


def test_an_entry_renamed_to_another_key_is_not_played(tmp_path: Path) -> None:
    cache = opened(tmp_path)
    other = replace(KEY, emotion="sad")
    cache.put(KEY, audio())
    cache.put(other, audio(seed=2))
    cache.path(KEY).replace(cache.path(other))  # the sad file now holds neutral audio
    assert cache.get(other) is None


def test_nan_samples_with_a_matching_checksum_are_refused(tmp_path: Path) -> None:
    cache = opened(tmp_path)
    bad = audio()
    bad[10] = np.nan
    cache.put(KEY, bad)
    assert cache.get(KEY) is None


def entry_size(directory: Path) -> int:
    """Bytes one entry of ``audio()`` takes (keys of the same length)."""
    scratch = opened(directory / "scratch")
    scratch.put(replace(KEY, text="句子0。"), audio())
    return scratch.size_bytes


def test_lru_eviction_keeps_the_size_cap_and_the_recently_used(tmp_path: Path) -> None:
    one = entry_size(tmp_path)
    tmp_path = tmp_path / "cache"
    cache = opened(tmp_path, max_bytes=3 * one + 10)
    keys = [replace(KEY, text=f"句子{n}。") for n in range(5)]
    for key in keys[:3]:
        cache.put(key, audio())
    assert cache.get(keys[0]) is not None  # 0 is now the most recently used
    cache.put(keys[3], audio())  # evicts 1, the least recently used
    assert cache.size_bytes <= cache.max_bytes
    assert [cache.contains(k) for k in keys[:4]] == [True, False, True, True]
    assert len(list(tmp_path.glob("*.pcm"))) == 3
    assert cache.stats.evicted == 1


def test_lru_order_survives_a_restart(tmp_path: Path) -> None:
    one = entry_size(tmp_path)
    tmp_path = tmp_path / "cache"
    cache = opened(tmp_path, max_bytes=2 * one + 10)
    first, second, third = (replace(KEY, text=f"句子{n}。") for n in range(3))
    cache.put(first, audio())
    time.sleep(0.02)
    cache.put(second, audio())
    time.sleep(0.02)
    assert cache.get(first) is not None  # touched: newer than second on disk too
    again = opened(tmp_path, max_bytes=2 * one + 10)
    again.put(third, audio())
    assert again.contains(first) and not again.contains(second) and again.contains(third)


def test_too_large_entries_are_not_stored_and_leftovers_are_cleaned(tmp_path: Path) -> None:
    (tmp_path / ".abc.1.2.tmp").write_bytes(b"half a file")
    cache = opened(tmp_path, max_bytes=1000)
    assert not (tmp_path / ".abc.1.2.tmp").exists()
    assert not cache.put(KEY, audio())
    assert len(cache) == 0


def test_an_unusable_directory_means_no_cache_not_a_failure(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    cache = PhraseCache(blocker / "phrases", 1_000_000)
    with pytest.raises(OSError):
        cache.open()
    assert cache.get(KEY) is None
    assert not cache.put(KEY, audio())


def test_clear_removes_everything(tmp_path: Path) -> None:
    cache = opened(tmp_path)
    for n in range(3):
        cache.put(replace(KEY, text=f"句子{n}。"), audio())
    assert cache.clear() == 3
    assert len(cache) == 0 and cache.size_bytes == 0
    assert not list(tmp_path.glob("*.pcm"))


async def test_async_lookups_run_on_the_cache_thread(tmp_path: Path) -> None:
    cache = AsyncPhraseCache(PhraseCache(tmp_path, 10_000_000))
    await cache.open()
    threads: list[str] = []
    original = cache.cache.get

    def spy(key: CacheKey) -> np.ndarray | None:
        import threading

        threads.append(threading.current_thread().name)
        return original(key)

    cache.cache.get = spy  # type: ignore[method-assign]
    assert await cache.get(KEY) is None
    assert await cache.store(KEY, audio())
    cache.put(replace(KEY, text="另一句。"), audio())
    np.testing.assert_array_equal(await cache.get(KEY), audio())
    await asyncio.sleep(0)
    assert threads and all(name.startswith("phrase-cache") for name in threads)
    assert await cache.clear() == 2
    cache.close()


def test_the_cache_field_of_say() -> None:
    assert parse_say(b'{"text": "hi"}', max_text_chars=100).cache is True
    assert parse_say(b'{"text": "hi", "cache": false}', max_text_chars=100).cache is False
    with pytest.raises(Rejected) as rejected:
        parse_say(b'{"text": "hi", "cache": "no"}', max_text_chars=100)
    assert rejected.value.code == "invalid_field"
    assert "cache" in rejected.value.message


@pytest.mark.parametrize(
    ("source", "target"), [(24000, 48000), (24000, 44100), (16000, 48000), (48000, 24000)]
)
def test_stream_resampler_equals_resampling_the_whole(source: int, target: int) -> None:
    rng = np.random.default_rng(3)
    signal = (rng.standard_normal(30000) * 0.3).astype(np.float32)
    divisor = np.gcd(source, target)
    whole = resample_poly(signal, target // divisor, source // divisor).astype(np.float32)
    resampler = StreamResampler(source, target)
    cuts = [0, *sorted(rng.integers(0, signal.size, 15).tolist()), signal.size]
    pieces = [resampler.feed(signal[a:b]) for a, b in itertools.pairwise(cuts)]
    joined = np.concatenate([*pieces, resampler.flush()])
    np.testing.assert_allclose(joined, whole, atol=1e-6)


def test_leading_silence_is_cut_to_two_milliseconds() -> None:
    sound = np.concatenate([np.zeros(2400, np.float32), audio(0.1)])
    trimmed = trim_leading_silence(sound, 24000)
    assert trimmed.size == sound.size - 2400 + 48
    np.testing.assert_array_equal(trimmed[48:], sound[2400:])
    tone = np.sin(np.arange(100, dtype=np.float32))  # starts at 0.0: nothing to cut
    np.testing.assert_array_equal(trim_leading_silence(tone, 24000), tone)


def test_say_command_no_cache_flag() -> None:
    from daemon.cli import build_parser
    from daemon.commands.say import _request

    plain = _request(build_parser().parse_args(["say", "你好"]), "a")
    assert "cache" not in plain
    fresh = _request(build_parser().parse_args(["say", "你好", "--no-cache"]), "b")
    assert fresh["cache"] is False
