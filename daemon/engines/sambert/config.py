"""Reading a model directory in ModelScope's Sambert-HifiGan layout.

Layout (what the official loader reads)::

    configuration.json
    voices/voices.json                      {"voices": [...]}, first = default
    voices/<voice>/am/config.yaml           Model.KanTtsSAMBERT.params, linguistic_unit
    voices/<voice>/am/ckpt/checkpoint_<N>.pth
    voices/<voice>/voc/config.yaml          Model.Generator.params
    voices/<voice>/voc/ckpt/checkpoint_<N>.pth

Every missing file or key raises :class:`ModelError` naming it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .errors import ModelError

_CKPT_RE = re.compile(r"^checkpoint[_-](\d+)\.pth$")


def read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ModelError(f"missing file: {path}")
    try:
        with path.open(encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except (OSError, yaml.YAMLError) as exc:
        raise ModelError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise ModelError(f"{path} does not hold a mapping")
    return data


def read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ModelError(f"missing file: {path}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise ModelError(f"{path} does not hold a JSON object")
    return data


def section(config: Mapping[str, Any], dotted: str, where: Path) -> dict[str, Any]:
    """``config[a][b][c]`` for ``"a.b.c"``, or :class:`ModelError` naming the missing key."""
    node: Any = config
    walked: list[str] = []
    for key in dotted.split("."):
        walked.append(key)
        if not isinstance(node, Mapping) or key not in node:
            raise ModelError(f"{where}: missing key '{'.'.join(walked)}'")
        node = node[key]
    if not isinstance(node, dict):
        raise ModelError(f"{where}: key '{dotted}' is not a mapping")
    return node


def require(params: Mapping[str, Any], keys: tuple[str, ...], prefix: str, where: Path) -> None:
    missing = [k for k in keys if k not in params]
    if missing:
        raise ModelError(f"{where}: missing key(s) {', '.join(f'{prefix}.{k}' for k in missing)}")


def latest_checkpoint(ckpt_dir: Path) -> Path:
    """The ``checkpoint_<N>.pth`` with the highest N, as the official loader picks it."""
    if not ckpt_dir.is_dir():
        raise ModelError(f"missing directory: {ckpt_dir}")
    found = []
    for p in ckpt_dir.iterdir():
        m = _CKPT_RE.match(p.name)
        if m and p.is_file():
            found.append((int(m.group(1)), p))
    if not found:
        raise ModelError(f"missing file: {ckpt_dir}/checkpoint_<N>.pth (no checkpoint found)")
    return max(found)[1]


@dataclass(frozen=True)
class VoiceFiles:
    """Paths and parsed configs of one voice."""

    name: str
    """Voice name as in voices.json."""
    am_config: dict[str, Any]
    """Parsed ``am/config.yaml``."""
    am_config_path: Path
    """Where the acoustic model's config was read from."""
    am_checkpoint: Path
    """Latest acoustic-model checkpoint."""
    voc_config: dict[str, Any]
    """Parsed ``voc/config.yaml``."""
    voc_config_path: Path
    """Where the vocoder's config was read from."""
    voc_checkpoint: Path
    """Latest vocoder checkpoint."""


@dataclass(frozen=True)
class ModelDir:
    """A model directory: its configuration and voice list (voices are read lazily)."""

    root: Path
    """The directory."""
    configuration: dict[str, Any]
    """Parsed configuration.json."""
    voices: tuple[str, ...]
    """Voice names; the first is the default."""

    @classmethod
    def open(cls, root: Path) -> ModelDir:
        if not root.is_dir():
            raise ModelError(f"model directory not found: {root}", code="model_missing")
        configuration = read_json(root / "configuration.json")
        voices_json = root / "voices" / "voices.json"
        listing = read_json(voices_json)
        voices = listing.get("voices")
        if not isinstance(voices, list) or not voices:
            raise ModelError(f"{voices_json}: missing key 'voices' (a non-empty list)")
        if not all(isinstance(v, str) and v for v in voices):
            raise ModelError(f"{voices_json}: 'voices' must list voice names")
        return cls(root=root, configuration=configuration, voices=tuple(voices))

    @property
    def has_mask(self) -> bool:
        """False for legacy model cards that declare vocabularies without ``@[MASK]``."""
        model = self.configuration.get("model", {})
        am = model.get("am", {}) if isinstance(model, Mapping) else {}
        unit = am.get("linguistic_unit", {}) if isinstance(am, Mapping) else {}
        return bool(unit.get("has_mask", True)) if isinstance(unit, Mapping) else True

    def voice(self, name: str) -> VoiceFiles:
        base = self.root / "voices" / name
        if not base.is_dir():
            raise ModelError(f"missing directory for voice {name!r}: {base}")
        am_cfg_path = base / "am" / "config.yaml"
        voc_cfg_path = base / "voc" / "config.yaml"
        return VoiceFiles(
            name=name,
            am_config=read_yaml(am_cfg_path),
            am_config_path=am_cfg_path,
            am_checkpoint=latest_checkpoint(base / "am" / "ckpt"),
            voc_config=read_yaml(voc_cfg_path),
            voc_config_path=voc_cfg_path,
            voc_checkpoint=latest_checkpoint(base / "voc" / "ckpt"),
        )
