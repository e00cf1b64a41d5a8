"""One loaded voice: vocabularies, acoustic model and vocoder."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch

from daemon.engines.heap import release_free_heap

from . import pipeline
from .acoustic import AcousticOutput, SambertAcousticModel
from .checkpoint import load_strict, read_state_dict
from .config import VoiceFiles
from .errors import ModelError
from .ling_units import EncodedLine, LinguisticUnits
from .params import AmParams, VocoderParams
from .vocoder import CHUNK_STEP, HifiGanGenerator, fuse_weight_norm

logger = logging.getLogger(__name__)

#: Vocoder chunk (0.8 s at hop 200): bounds activation memory, however long the sentence.
#: 96 would run ~8% faster but peak ~20 MB higher, with both threads vocoding at once.
VOCODER_CHUNK_FRAMES = 64

#: Largest chunk the worker vocodes while the acoustic model runs (see pipeline).
WORKER_CHUNK_FRAMES = 64

#: Shorter lines (4 s) stream the postnet once only, for the worker's first chunk, and
#: vocode the rest after the decoder with each chunk on both threads
#: (:func:`.pipeline.synthesize_short`): streaming the postnet block by block, and the
#: worker's chunks ending after the decoder, would cost them more than it overlaps.
PIPELINE_MIN_FRAMES = 320

#: Decoder steps per mel block handed to the vocoder thread (48 frames at r=3): small
#: enough to start the vocoder early, large enough to keep per-block overheads low.
DECODER_BLOCK_STEPS = 16

#: Shorter lines vocode all their frames after the decoder: the worker's first chunk
#: (~40 ms) would outlast the rest of their decoding and hold up the calling thread.
SHORT_HEAD_MIN_FRAMES = 120

#: Training-only modules a checkpoint may carry that inference never uses.
_TRAINING_ONLY_PREFIXES = ("align_attention.",)


@dataclass(frozen=True)
class LineResult:
    """Acoustic features and waveform of one symbol line."""

    acoustic: AcousticOutput
    """Mel frames, durations, pitch and energy."""
    wav: npt.NDArray[np.float32]
    """Waveform in [-1, 1]."""


class Voice:
    def __init__(self, files: VoiceFiles, *, has_mask: bool = True) -> None:
        self.name = files.name
        self.files = files
        self.units = LinguisticUnits.from_config(files.am_config, has_mask=has_mask)
        self.am_params = AmParams.from_config(
            files.am_config, self.units.sizes(), files.am_config_path
        )
        self.voc_params = VocoderParams.from_config(files.voc_config, files.voc_config_path)
        if self.voc_params.in_channels != self.am_params.num_mels:
            raise ModelError(
                f"{files.voc_config_path}: vocoder in_channels {self.voc_params.in_channels} "
                f"!= acoustic model num_mels {self.am_params.num_mels}"
            )
        # Not on the "meta" device: its first use imports ~75 MB of torch internals.
        self.am = SambertAcousticModel(self.am_params)
        self.vocoder = HifiGanGenerator(self.voc_params)
        self._pool: ThreadPoolExecutor | None = None

    @property
    def default_speaker(self) -> str:
        return self.units.speakers[0]

    def load_weights(self, *, dtype: torch.dtype = torch.float32) -> None:
        """Load both checkpoints; the vocoder then computes in ``dtype``.

        The acoustic model always stays float32: its durations are rounded to whole
        frames, so reduced precision there could change the length of the audio.
        """
        am_state = read_state_dict(self.files.am_checkpoint, ("model",))
        dropped = [k for k in am_state if k.startswith(_TRAINING_ONLY_PREFIXES)]
        if dropped and self.am_params.mas:
            logger.info(
                "voice %s: ignoring %d training-only aligner weights", self.name, len(dropped)
            )
            am_state = {k: v for k, v in am_state.items() if k not in dropped}
        load_strict(self.am, am_state, self.files.am_checkpoint)
        voc_state = read_state_dict(self.files.voc_checkpoint, ("model", "generator"))
        load_strict(self.vocoder, fuse_weight_norm(voc_state), self.files.voc_checkpoint)
        self.am.eval()
        self.vocoder.eval()
        for p in [*self.am.parameters(), *self.vocoder.parameters()]:
            p.requires_grad_(False)
        self.am.prepare()
        self.vocoder.prepare(dtype)

    def set_worker(self, pool: ThreadPoolExecutor | None) -> None:
        """With a worker thread: the vocoder runs beside the acoustic model, then on both
        threads (:mod:`.pipeline`)."""
        self._pool = pool

    def run(self, line: EncodedLine, speed: float = 1.0) -> LineResult:
        """Synthesize one encoded line (torch ops run single-threaded, see the engine)."""
        # OpenMP's thread count is per calling thread: the daemon calls from its own
        # worker threads, which would otherwise start 2-thread teams of their own.
        torch.set_num_threads(1)
        with torch.inference_mode():
            plan = self.am.plan(
                torch.from_numpy(line.ling),
                torch.from_numpy(line.emotion),
                torch.from_numpy(line.speaker),
                speed=speed,
            )
            if plan.frames == 0:
                empty = torch.zeros((0, self.am_params.num_mels))
                return LineResult(plan.output(empty), np.zeros(0, dtype=np.float32))
            if self._pool is None:
                mel = self.am.infer_mel(plan)
                wav = self.vocoder.stream(mel.t().unsqueeze(0), VOCODER_CHUNK_FRAMES, ends=True)
                wav = wav.reshape(-1)
            elif plan.frames < PIPELINE_MIN_FRAMES:
                mel, wav = pipeline.synthesize_short(
                    self.am,
                    plan,
                    self.vocoder,
                    self._pool,
                    chunk_frames=VOCODER_CHUNK_FRAMES,
                    head_steps=DECODER_BLOCK_STEPS,
                    head_frames=CHUNK_STEP if plan.frames >= SHORT_HEAD_MIN_FRAMES else 0,
                )
            else:
                blocks = self.am.iter_mel(plan, DECODER_BLOCK_STEPS)
                mel, wav = pipeline.synthesize(
                    blocks,
                    self.vocoder,
                    self._pool,
                    chunk_frames=VOCODER_CHUNK_FRAMES,
                    worker_chunk_frames=WORKER_CHUNK_FRAMES,
                    total_frames=plan.frames,
                )
        samples = wav.reshape(-1).numpy().astype(np.float32, copy=False)
        result = LineResult(plan.output(mel), samples)
        # This line's activations: not kept for the next line's peak. The worker is idle
        # now, so it trims (3-5 ms) while this thread goes on with the next line.
        if self._pool is None:
            release_free_heap()
        else:
            self._pool.submit(release_free_heap)
        return result
