"""Loading errors name the missing file, key or checkpoint entry; loads are strict."""

from __future__ import annotations

import datetime
import json
import re
import shutil
import sys
import types
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
import yaml

from daemon.engines.base import EngineError
from daemon.engines.sambert import ModelError, SambertEngine

from .conftest import fake_analyze

AM_CKPT = Path("voices/zhitian_emo/am/ckpt/checkpoint_1000.pth")
VOC_CKPT = Path("voices/zhitian_emo/voc/ckpt/checkpoint_2000.pth")
AM_CFG = Path("voices/zhitian_emo/am/config.yaml")


@pytest.fixture
def model_copy(tiny_model: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(tiny_model, tmp_path / "model"))


def load(model: Path) -> SambertEngine:
    engine = SambertEngine(str(model), threads=1, analyzer=fake_analyze)
    engine.load()
    return engine


def fails(model: Path, pattern: str) -> ModelError:
    with pytest.raises(ModelError, match=pattern) as info:
        load(model)
    assert isinstance(info.value, EngineError)
    return info.value


def edit_yaml(path: Path, change: Callable[[dict], None]) -> None:
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data))


def test_missing_directory(tmp_path: Path) -> None:
    err = fails(tmp_path / "nowhere", "model directory not found")
    assert err.code == "model_missing"


def test_missing_configuration_json(model_copy: Path) -> None:
    (model_copy / "configuration.json").unlink()
    fails(model_copy, r"missing file: .*configuration\.json")


def test_voices_json_without_voices(model_copy: Path) -> None:
    (model_copy / "voices" / "voices.json").write_text(json.dumps({"names": []}))
    fails(model_copy, r"voices\.json: missing key 'voices'")


def test_missing_voice_directory(model_copy: Path) -> None:
    shutil.rmtree(model_copy / "voices" / "zhitian_emo")
    fails(model_copy, "missing directory for voice 'zhitian_emo'")


def test_missing_am_config(model_copy: Path) -> None:
    (model_copy / AM_CFG).unlink()
    fails(model_copy, r"missing file: .*am/config\.yaml")


def test_missing_checkpoint(model_copy: Path) -> None:
    (model_copy / VOC_CKPT).unlink()
    fails(model_copy, r"voc/ckpt/checkpoint_<N>\.pth")


def test_missing_model_param(model_copy: Path) -> None:
    edit_yaml(
        model_copy / AM_CFG,
        lambda c: c["Model"]["KanTtsSAMBERT"]["params"].pop("decoder_num_layers"),
    )
    fails(model_copy, r"missing key\(s\) Model\.KanTtsSAMBERT\.params\.decoder_num_layers")


def test_missing_model_section(model_copy: Path) -> None:
    edit_yaml(model_copy / AM_CFG, lambda c: c.pop("Model"))
    fails(model_copy, r"missing key 'Model'")


def test_missing_linguistic_unit(model_copy: Path) -> None:
    edit_yaml(model_copy / AM_CFG, lambda c: c.pop("linguistic_unit"))
    fails(model_copy, "no 'linguistic_unit' section")


def test_unsupported_variant_is_named(model_copy: Path) -> None:
    edit_yaml(model_copy / AM_CFG, lambda c: c["Model"]["KanTtsSAMBERT"]["params"].update(NSF=True))
    fails(model_copy, r"NSF voices are not supported")


def test_checkpoint_with_foreign_objects(model_copy: Path) -> None:
    state = torch.load(model_copy / AM_CKPT, weights_only=True)
    state["saved_at"] = datetime.datetime(2024, 1, 1)
    torch.save(state, model_copy / AM_CKPT)
    fails(model_copy, r"checkpoint_1000\.pth: holds objects other than tensors .*weights_only=True")


def test_checkpoint_without_model_entry(model_copy: Path) -> None:
    state = torch.load(model_copy / AM_CKPT, weights_only=True)
    torch.save({"state_dict": state["model"]}, model_copy / AM_CKPT)
    fails(model_copy, r"checkpoint_1000\.pth: checkpoint has no entry 'model'")


def test_vocoder_checkpoint_without_generator(model_copy: Path) -> None:
    state = torch.load(model_copy / VOC_CKPT, weights_only=True)
    torch.save({"model": {"discriminator": state["model"]["generator"]}}, model_copy / VOC_CKPT)
    fails(model_copy, r"checkpoint has no entry 'model'/'generator'")


def test_garbage_checkpoint(model_copy: Path) -> None:
    (model_copy / AM_CKPT).write_bytes(b"not a checkpoint")
    fails(model_copy, r"checkpoint_1000\.pth: not a readable torch checkpoint")


def test_strict_names_missing_and_unexpected_keys(model_copy: Path) -> None:
    state = torch.load(model_copy / AM_CKPT, weights_only=True)
    del state["model"]["mel_postnet.fc.bias"]
    state["model"]["mel_postnet.extra.weight"] = torch.zeros(2)
    torch.save(state, model_copy / AM_CKPT)
    err = fails(model_copy, "state dict does not match")
    assert "missing keys: mel_postnet.fc.bias" in err.message
    assert "unexpected keys: mel_postnet.extra.weight" in err.message


def test_strict_names_shape_mismatch(model_copy: Path) -> None:
    state = torch.load(model_copy / AM_CKPT, weights_only=True)
    state["model"]["emo_tokenizer.weight"] = torch.zeros(35, 4)
    torch.save(state, model_copy / AM_CKPT)
    fails(model_copy, re.escape("emo_tokenizer.weight (35, 4) (expected (36, 4))"))


def test_vocoder_half_weight_norm_pair_is_named(model_copy: Path) -> None:
    state = torch.load(model_copy / VOC_CKPT, weights_only=True)
    del state["model"]["generator"]["conv_post.conv1d.weight_g"]
    torch.save(state, model_copy / VOC_CKPT)
    err = fails(model_copy, "state dict does not match")
    assert "conv_post.conv1d.weight" in err.message


def test_legacy_model_card_without_mask_symbol(model_copy: Path) -> None:
    """``has_mask: false`` in configuration.json: vocabularies one entry shorter."""
    cfg = json.loads((model_copy / "configuration.json").read_text())
    cfg["model"]["am"] = {"linguistic_unit": {"has_mask": False}}
    (model_copy / "configuration.json").write_text(json.dumps(cfg))
    fails(model_copy, re.escape("text_encoder.sy_emb.weight (147, 16) (expected (146, 16))"))


def test_model_id_without_modelscope(monkeypatch: pytest.MonkeyPatch) -> None:

    monkeypatch.setitem(sys.modules, "modelscope", None)
    err = fails(Path("damo/speech_sambert-hifigan_tts_zh-cn_16k"), "pip install modelscope")
    assert err.code == "model_missing"


def test_model_id_uses_snapshot_download(
    monkeypatch: pytest.MonkeyPatch, tiny_model: Path, tmp_path: Path
) -> None:

    calls: list[tuple[str, str | None]] = []

    def snapshot_download(model_id: str, cache_dir: str | None = None) -> str:
        calls.append((model_id, cache_dir))
        return str(tiny_model)

    fake = types.ModuleType("modelscope")
    fake.snapshot_download = snapshot_download  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "modelscope", fake)
    engine = SambertEngine("damo/speech_sambert-hifigan_tts_zh-cn_16k", cache_dir=tmp_path)
    assert engine.voices() == ["zhitian_emo", "zhiyan_emo"]
    assert calls == [("damo/speech_sambert-hifigan_tts_zh-cn_16k", str(tmp_path / "modelscope"))]
