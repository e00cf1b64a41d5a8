"""An output that writes one WAV file per announcement, for boxes without a sound card."""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path

import numpy as np
import soundfile

from daemon.audio.errors import AudioDeviceError
from daemon.engines.base import Audio

log = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def safe_name(request_id: str) -> str:
    """A file-name-safe form of a request id (ids come from the network)."""
    return _UNSAFE.sub("_", request_id).strip("._")[:64] or "request"


class WavDirOutput:
    """Collects the blocks of one announcement and writes them as a WAV when it ends."""

    def __init__(self, directory: Path, rate: int) -> None:
        self._directory = directory
        self.rate = rate
        self._blocks: list[Audio] = []
        self.request_id = "request"

    def begin(self) -> None:
        self._blocks = []

    def write(self, block: Audio) -> None:
        self._blocks.append(np.array(block, dtype=np.float32))

    def end(self, *, discard: bool) -> None:
        del discard  # what was "played" before a stop is kept, as a speaker would have it
        samples = np.concatenate(self._blocks) if self._blocks else np.zeros(0, np.float32)
        self._blocks = []
        name = f"{time.strftime('%Y%m%d-%H%M%S')}-{safe_name(self.request_id)}.wav"
        path = self._directory / name
        try:
            self._directory.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(".part")
            soundfile.write(partial, samples, self.rate, subtype="PCM_16", format="WAV")
            partial.replace(path)
        except OSError as error:
            raise AudioDeviceError(f"cannot write {path}: {error}") from None
        log.info("[%s] wrote %s", self.request_id, path)

    def close(self) -> None:
        self._blocks = []
