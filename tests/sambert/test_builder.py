"""The random model builder writes the official layout, deterministically."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml

from daemon.engines.sambert.testmodel import build_model_dir


def test_layout(tiny_model: Path) -> None:
    configuration = json.loads((tiny_model / "configuration.json").read_text())
    assert configuration["model"]["type"] == "sambert-hifigan"
    assert configuration["pipeline"]["type"] == "sambert-hifigan-tts"
    voices = json.loads((tiny_model / "voices" / "voices.json").read_text())["voices"]
    assert voices == ["zhitian_emo", "zhiyan_emo"]
    for voice in voices:
        base = tiny_model / "voices" / voice
        am_cfg = yaml.safe_load((base / "am" / "config.yaml").read_text())
        assert "params" in am_cfg["Model"]["KanTtsSAMBERT"]
        assert am_cfg["linguistic_unit"]["speaker_list"] == "F7"
        voc_cfg = yaml.safe_load((base / "voc" / "config.yaml").read_text())
        assert "params" in voc_cfg["Model"]["Generator"]
        am = torch.load(base / "am" / "ckpt" / "checkpoint_1000.pth", weights_only=True)
        assert set(am) == {"model"}
        assert "text_encoder.ling_enc.position_enc.position_enc" in am["model"]
        voc = torch.load(base / "voc" / "ckpt" / "checkpoint_2000.pth", weights_only=True)
        generator = voc["model"]["generator"]
        # Weight-norm form, as official training saves it.
        assert "conv_pre.conv1d.weight_g" in generator
        assert "conv_pre.conv1d.weight_v" in generator
        assert "conv_pre.conv1d.weight" not in generator


def test_deterministic(tmp_path: Path) -> None:
    a = build_model_dir(tmp_path / "a", size="tiny", voices=["v1", "v2"], seed=3)
    b = build_model_dir(tmp_path / "b", size="tiny", voices=["v1", "v2"], seed=3)
    c = build_model_dir(tmp_path / "c", size="tiny", voices=["v1"], seed=4)
    rel = Path("voices/v1/am/ckpt/checkpoint_1000.pth")
    sa, sb, sc = (torch.load(d / rel, weights_only=True)["model"] for d in (a, b, c))
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not torch.equal(sa["text_encoder.sy_emb.weight"], sc["text_encoder.sy_emb.weight"])
    # Each voice of one model gets its own weights.
    s2 = torch.load(a / "voices/v2/am/ckpt/checkpoint_1000.pth", weights_only=True)["model"]
    assert not torch.equal(sa["text_encoder.sy_emb.weight"], s2["text_encoder.sy_emb.weight"])


def test_real_size_parameter_counts(tmp_path: Path) -> None:
    model = build_model_dir(tmp_path / "m", size="real", voices=["zhitian_emo"], seed=1)
    am = torch.load(model / "voices/zhitian_emo/am/ckpt/checkpoint_1000.pth", weights_only=True)
    n_am = sum(t.numel() for k, t in am["model"].items() if "position_enc" not in k)
    voc = torch.load(model / "voices/zhitian_emo/voc/ckpt/checkpoint_2000.pth", weights_only=True)
    n_voc = sum(t.numel() for k, t in voc["model"]["generator"].items() if not k.endswith("_g"))
    # The stock architecture: ~12.7 M (acoustic model) and ~4.9 M (generator) parameters.
    assert 12.0e6 < n_am < 13.5e6
    assert 4.5e6 < n_voc < 5.3e6


def test_rejects_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="size"):
        build_model_dir(tmp_path, size="huge", voices=["v"], seed=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="voice"):
        build_model_dir(tmp_path, size="tiny", voices=[], seed=1)
