"""The ``sambert`` engine: ModelScope Sambert-HifiGan voices on our own torch runtime."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

from daemon.engines.base import Audio, Engine, EngineError

from .config import ModelDir
from .errors import ModelError
from .ling_units import EMOTION_TYPES
from .precision import dtype_name, resolve
from .source import resolve_model
from .symbols import PinyinToken, ProsodicWord, sentence_symbols, symbol_line
from .voice import LineResult, Voice

logger = logging.getLogger(__name__)

#: Emotions of the official multi-emotion voices (``*_emo``) when the config names none.
DEFAULT_EMO_EMOTIONS: tuple[str, ...] = (
    "neutral", "happy", "sad", "angry", "fear", "disgust", "surprise",
)  # fmt: skip
MIN_SPEED, MAX_SPEED = 0.5, 2.0
_WARM_UP = [ProsodicWord(["ni2", "hao3"], "你好", 3), ProsodicWord(["huan1", "ying2"], "欢迎", 4)]

Analyzer = Callable[[str], Sequence[PinyinToken]]


class SambertEngine(Engine):
    """Sambert-HifiGan voices from a ModelScope model id or a local model directory.

    ``model``: a local model directory in ModelScope's layout, or a ModelScope model id
    (fetched once with ``modelscope.snapshot_download`` into ``cache_dir/modelscope``).
    ``threads``: cores to use. Torch itself runs single-threaded (see :meth:`load`); with
    2 or more, one worker thread vocodes alongside (:mod:`.pipeline`).
    ``emotions`` maps voice names to the emotions they may speak (default: the official
    multi-emotion set for ``*_emo`` voices, ``neutral`` only for others). ``precision``
    (``auto``, ``float32``, ``bfloat16``): what the vocoder computes in, see
    :mod:`.precision`; ``auto`` is bfloat16 on CPUs with native bf16 dot products.
    ``analyzer`` is the text frontend's ``analyze`` (default: :func:`daemon.text.analyze`).

    Voices load on first use (the default voice in :meth:`load`): a model may hold many
    voices of ~70 MB each. Thread-safe: inference keeps no state between calls.
    """

    name = "sambert"

    def __init__(
        self,
        model: str,
        threads: int = 2,
        emotions: dict[str, list[str]] | None = None,
        cache_dir: Path | None = None,
        *,
        precision: str = "auto",
        analyzer: Analyzer | None = None,
    ) -> None:
        try:
            self._dtype = resolve(precision)
        except ValueError as exc:
            raise EngineError("config", f"engine.precision: {exc}") from None
        self._model = str(model)
        self._threads = max(1, int(threads))
        self._cache_dir = cache_dir
        self._analyzer = analyzer
        self._emotions_cfg = {v: _checked_emotions(v, e) for v, e in (emotions or {}).items()}
        self._dir: ModelDir | None = None
        self._voices: dict[str, Voice] = {}
        self._lock = threading.Lock()
        self._sample_rate = 16000
        self._revision = "0"
        self._pool: ThreadPoolExecutor | None = None
        if self._threads > 1:
            # Threads start on first use; one worker is all the pipeline uses.
            self._pool = ThreadPoolExecutor(
                max_workers=1,
                thread_name_prefix="sambert-voc",
                # Per-thread OpenMP setting: without it this thread's convs would start
                # an OpenMP team of their own and compete with the main thread.
                initializer=torch.set_num_threads,
                initargs=(1,),
            )

    # -- Engine interface --------------------------------------------------------------

    @property
    def sample_rate(self) -> int:
        return self._sample_rate

    @property
    def revision(self) -> str:
        return self._revision

    @property
    def precision(self) -> str:
        """What the vocoder computes in: ``float32`` or ``bfloat16`` (``auto`` resolved)."""
        return dtype_name(self._dtype)

    def voices(self) -> list[str]:
        return list(self._model_dir().voices)

    def emotions(self, voice: str) -> list[str]:
        self._check_voice(voice)
        if voice in self._emotions_cfg:
            return list(self._emotions_cfg[voice])
        return list(DEFAULT_EMO_EMOTIONS) if voice.endswith("_emo") else ["neutral"]

    def load(self) -> None:
        start = time.perf_counter()
        model_dir = self._model_dir()
        unknown = sorted(set(self._emotions_cfg) - set(model_dir.voices))
        if unknown:
            raise EngineError(
                "config",
                f"engine.emotions names unknown voice(s) {', '.join(unknown)}; "
                f"voices: {', '.join(model_dir.voices)}",
            )
        voice = self._voice(self.default_voice())
        self._revision = _revision(model_dir)
        self.synthesize_symbols(
            [symbol_line(_WARM_UP, emotion="neutral", speaker=voice.default_speaker)],
            voice=voice.name,
        )
        logger.info(
            "sambert loaded %s in %.2f s (revision %s, %d threads, vocoder in %s)",
            model_dir.root, time.perf_counter() - start, self._revision, self._threads,
            self.precision,
        )  # fmt: skip

    def synthesize(self, sentence: str, *, voice: str, emotion: str, speed: float) -> Audio:
        if emotion not in self.emotions(voice):  # checks the voice too, before loading it
            raise EngineError(
                "unknown_emotion",
                f"unknown emotion {emotion!r} for voice {voice!r}; "
                f"valid: {', '.join(self.emotions(voice))}",
            )
        if not MIN_SPEED <= speed <= MAX_SPEED:
            raise EngineError("invalid_field", f"speed {speed} is outside {MIN_SPEED}-{MAX_SPEED}")
        speaker = self._voice(voice).default_speaker
        lines = sentence_symbols(self._analyze(sentence), emotion=emotion, speaker=speaker)
        if not lines:
            raise EngineError("unspeakable_text", f"nothing to say in {sentence!r}")
        return self.synthesize_symbols(lines, voice=voice, speed=speed)

    # -- lower level: KAN-TTS symbols ----------------------------------------------------

    def synthesize_symbols(self, lines: Sequence[str], voice: str, *, speed: float = 1.0) -> Audio:
        """Speak KAN-TTS symbol lines (one per sentence) with ``voice``; float32 audio.

        Each line is ``{phone$tone$syllable_flag$word_segment$emotion_X$speaker} ...``,
        optionally prefixed by an id and a tab as in official symbol files; blank lines
        are skipped. Raises :class:`~daemon.engines.sambert.errors.SymbolError` (code
        ``unspeakable_text``) naming unknown symbols, ``EngineError("unknown_voice")``.
        """
        parts = [self.synthesize_symbol_line(line, voice, speed=speed).wav
                 for line in lines if line.strip()]  # fmt: skip
        if not parts:
            return np.zeros(0, dtype=np.float32)
        return np.concatenate(parts).astype(np.float32, copy=False)

    def synthesize_symbol_line(self, line: str, voice: str, *, speed: float = 1.0) -> LineResult:
        """One symbol line -> mel, durations, pitch, energy and waveform."""
        loaded = self._voice(voice)
        return loaded.run(loaded.units.encode(line), speed=speed)

    # -- internals -----------------------------------------------------------------------

    def _model_dir(self) -> ModelDir:
        if self._dir is None:
            with self._lock:
                if self._dir is None:
                    self._dir = ModelDir.open(resolve_model(self._model, self._cache_dir))
        return self._dir

    def _check_voice(self, voice: str) -> None:
        voices = self.voices()
        if voice not in voices:
            raise EngineError(
                "unknown_voice", f"unknown voice {voice!r}; valid voices: {', '.join(voices)}"
            )

    def _voice(self, name: str) -> Voice:
        """The loaded voice (loaded on first use: a model may hold many voices)."""
        voice = self._voices.get(name)
        if voice is not None:
            return voice
        self._check_voice(name)
        with self._lock:
            voice = self._voices.get(name)
            if voice is None:
                start = time.perf_counter()
                _configure_threads()
                model_dir = self._model_dir()
                voice = Voice(model_dir.voice(name), has_mask=model_dir.has_mask)
                voice.load_weights(dtype=self._dtype)
                voice.set_worker(self._pool)
                if self._voices and voice.voc_params.sampling_rate != self._sample_rate:
                    raise ModelError(
                        f"voice {name!r} has sample rate {voice.voc_params.sampling_rate}, "
                        f"others {self._sample_rate}"
                    )
                self._sample_rate = voice.voc_params.sampling_rate
                self._voices[name] = voice
                logger.info("sambert voice %s loaded in %.2f s", name, time.perf_counter() - start)
        return voice

    def _analyze(self, sentence: str) -> Sequence[PinyinToken]:
        if self._analyzer is None:
            from daemon import text  # noqa: PLC0415 - the shared frontend, imported on use

            analyze: Analyzer = text.analyze  # type: ignore[attr-defined,unused-ignore]
            self._analyzer = analyze
        return self._analyzer(sentence)


#: oneDNN keeps a compiled kernel for every op and input shape, up to 1024 and never
#: freed; the acoustic model's LSTMs and convolutions meet new lengths with most lines, so
#: a long-running daemon grew by ~4 MB per 10 new lines (measured). 256 holds the
#: vocoder's hot kernels (two chunk lengths, ~140) and the last lines' own, least
#: recently used first out.
ONEDNN_CACHE_CAPACITY = 256


def _configure_threads() -> None:
    """Torch and numpy's BLAS on one thread each (process-wide), and oneDNN's kernel
    cache bounded (:data:`ONEDNN_CACHE_CAPACITY`, unless the environment sets its own:
    oneDNN reads it when it compiles its first kernel, so this runs before any op).

    The acoustic model is a long chain of tiny ops; OpenMP's and OpenBLAS's per-op
    hand-offs only cost there (measured 10x slower with 2 torch threads, 1.5-2.5x slower
    decoding with 2 BLAS threads, on 2 cores with another busy process). A second core
    runs the vocoder on a worker thread instead, beside the acoustic model and then on
    its own part of the line (:mod:`.pipeline`). The BLAS limit needs ``threadpoolctl``;
    without it BLAS keeps its default.
    """
    os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", str(ONEDNN_CACHE_CAPACITY))
    torch.set_num_threads(1)
    try:
        from threadpoolctl import (  # type: ignore[import-untyped,import-not-found,unused-ignore]  # noqa: PLC0415 - optional
            threadpool_limits,
        )
    except ImportError:
        logger.info("threadpoolctl not installed: numpy's BLAS keeps its thread count")
        return
    threadpool_limits(limits=1, user_api="blas")


def _checked_emotions(voice: str, emotions: list[str]) -> tuple[str, ...]:
    known = {e.removeprefix("emotion_") for e in EMOTION_TYPES} - {"none"}
    names = [str(e).strip().lower() for e in emotions]
    bad = [e for e in names if e not in known]
    if bad:
        raise EngineError(
            "config",
            f"engine.emotions.{voice}: unknown emotion(s) {', '.join(bad)}; "
            f"the model's categories: {', '.join(sorted(known))}",
        )
    return tuple(dict.fromkeys(["neutral", *names]))


def _revision(model_dir: ModelDir) -> str:
    """Identifies the checkpoints: names, sizes and the bytes at both ends of each file.

    Hashing whole checkpoints (tens of MB per voice) would slow every start; a changed
    model changes its sizes or its pickled header and trailing tensors.
    """
    import hashlib  # noqa: PLC0415

    h = hashlib.sha256()
    for name in model_dir.voices:
        for sub in ("am", "voc"):
            for path in sorted((model_dir.root / "voices" / name / sub / "ckpt").glob("*.pth")):
                size = path.stat().st_size
                h.update(f"{name}/{sub}/{path.name}:{size}".encode())
                with path.open("rb") as f:
                    h.update(f.read(1 << 16))
                    f.seek(max(0, size - (1 << 16)))
                    h.update(f.read())
    return h.hexdigest()[:16]
