"""Build a randomly initialised model directory in the official ModelScope layout.

For tests and benchmarks without the real weights: the directory is loaded through the
same code path as a downloaded model. Weights come from ``numpy``'s seeded generator (not
torch's initialisers), so the same seed gives bitwise the same checkpoints on any torch
version; the conformance goldens in ``tests/sambert`` depend on that. Random weights
would predict zero durations, so the duration head is biased to about 8 frames per phone.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import yaml

from .acoustic import SambertAcousticModel
from .am_layers import dur_inv_timescales, sinusoid_table
from .ling_units import LinguisticUnits
from .params import AmParams, VocoderParams
from .vocoder import HifiGanGenerator

Size = Literal["tiny", "real"]

#: Stock ``sambert_16k.yaml`` model parameters (the real architecture).
REAL_AM: dict[str, Any] = {
    "max_len": 800,
    "embedding_dim": 512,
    "encoder_num_layers": 8,
    "encoder_num_heads": 8,
    "encoder_num_units": 128,
    "encoder_ffn_inner_dim": 1024,
    "encoder_dropout": 0.1,
    "encoder_attention_dropout": 0.1,
    "encoder_relu_dropout": 0.1,
    "encoder_projection_units": 32,
    "speaker_units": 32,
    "emotion_units": 32,
    "predictor_filter_size": 41,
    "predictor_fsmn_num_layers": 3,
    "predictor_num_memory_units": 128,
    "predictor_ffn_inner_dim": 256,
    "predictor_dropout": 0.1,
    "predictor_shift": 0,
    "predictor_lstm_units": 128,
    "dur_pred_prenet_units": [128, 128],
    "dur_pred_lstm_units": 128,
    "decoder_prenet_units": [256, 256],
    "decoder_num_layers": 12,
    "decoder_num_heads": 8,
    "decoder_num_units": 128,
    "decoder_ffn_inner_dim": 1024,
    "decoder_dropout": 0.1,
    "decoder_attention_dropout": 0.1,
    "decoder_relu_dropout": 0.1,
    "outputs_per_step": 3,
    "num_mels": 80,
    "postnet_filter_size": 41,
    "postnet_fsmn_num_layers": 4,
    "postnet_num_memory_units": 256,
    "postnet_ffn_inner_dim": 512,
    "postnet_dropout": 0.1,
    "postnet_shift": 17,
    "postnet_lstm_units": 128,
    "MAS": False,
}

#: A few-thousand-parameter model with the same structure, for fast tests.
TINY_AM: dict[str, Any] = {
    **REAL_AM,
    "max_len": 64,
    "embedding_dim": 16,
    "encoder_num_layers": 2,
    "encoder_num_heads": 2,
    "encoder_num_units": 8,
    "encoder_ffn_inner_dim": 16,
    "encoder_projection_units": 4,
    "speaker_units": 4,
    "emotion_units": 4,
    "predictor_filter_size": 5,
    "predictor_fsmn_num_layers": 2,
    "predictor_num_memory_units": 8,
    "predictor_ffn_inner_dim": 8,
    "predictor_lstm_units": 4,
    "dur_pred_prenet_units": [8, 8],
    "dur_pred_lstm_units": 8,
    "decoder_prenet_units": [16, 16],
    "decoder_num_layers": 2,
    "decoder_num_heads": 2,
    "decoder_num_units": 8,
    "decoder_ffn_inner_dim": 16,
    "num_mels": 10,
    "postnet_filter_size": 5,
    "postnet_fsmn_num_layers": 2,
    "postnet_num_memory_units": 8,
    "postnet_ffn_inner_dim": 8,
    "postnet_shift": 1,
    "postnet_lstm_units": 4,
}

#: Stock ``hifigan_v1_16k.yaml`` generator parameters.
REAL_VOC: dict[str, Any] = {
    "in_channels": 80,
    "out_channels": 1,
    "channels": 256,
    "kernel_size": 7,
    "upsample_scales": [10, 5, 2, 2],
    "upsample_kernal_sizes": [20, 10, 4, 4],
    "resblock_kernel_sizes": [3, 7, 11],
    "resblock_dilations": [[1, 3, 5, 7], [1, 3, 5, 7], [1, 3, 5, 7]],
    "bias": True,
    "causal": True,
    "nonlinear_activation": "LeakyReLU",
    "nonlinear_activation_params": {"negative_slope": 0.1},
    "use_weight_norm": True,
}

TINY_VOC: dict[str, Any] = {
    **REAL_VOC,
    "in_channels": 10,
    "channels": 16,
    "kernel_size": 3,
    "resblock_kernel_sizes": [3, 5],
    "resblock_dilations": [[1, 3], [1, 3]],
}

AUDIO_CONFIG: dict[str, Any] = {"sampling_rate": 16000, "hop_length": 200, "num_mels": 80}

#: log(1 + 8): the biased duration head predicts about 8 frames per token.
_DURATION_BIAS = math.log(9.0)


def build_model_dir(path: Path, *, size: Size, voices: list[str], seed: int) -> Path:
    """Write a random model directory at ``path`` (created) and return ``path``.

    Each voice gets its own weights (seed + voice index). Deterministic for a given seed.
    """
    if size not in ("tiny", "real"):
        raise ValueError(f"size must be 'tiny' or 'real', not {size!r}")
    if not voices:
        raise ValueError("at least one voice is needed")
    path = Path(path)
    (path / "voices").mkdir(parents=True, exist_ok=True)
    _write_json(
        path / "configuration.json",
        {
            "framework": "pytorch",
            "task": "text-to-speech",
            "model": {"type": "sambert-hifigan", "lang_type": "zhcn", "sample_rate": 16000},
            "pipeline": {"type": "sambert-hifigan-tts"},
        },
    )
    _write_json(path / "voices" / "voices.json", {"voices": list(voices)})
    am_params = dict(TINY_AM if size == "tiny" else REAL_AM)
    voc_params = dict(TINY_VOC if size == "tiny" else REAL_VOC)
    voc_params["in_channels"] = am_params["num_mels"]
    for index, voice in enumerate(voices):
        _write_voice(path / "voices" / voice, am_params, voc_params, seed + index)
    return path


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def _write_voice(base: Path, am: dict[str, Any], voc: dict[str, Any], seed: int) -> None:
    am_config = {
        "model_type": "sambert",
        "Model": {"KanTtsSAMBERT": {"params": am}},
        "linguistic_unit": {
            "cleaners": "english_cleaners",
            "lfeat_type_list": "sy,tone,syllable_flag,word_segment,emo_category,speaker_category",
            "speaker_list": "F7",
        },
    }
    voc_config = {
        "model_type": "hifigan",
        "Model": {"Generator": {"params": voc}},
        "audio_config": {**AUDIO_CONFIG, "num_mels": am["num_mels"]},
    }
    for sub, cfg in (("am", am_config), ("voc", voc_config)):
        (base / sub / "ckpt").mkdir(parents=True, exist_ok=True)
        (base / sub / "config.yaml").write_text(
            yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8"
        )

    rng = np.random.default_rng(seed)
    where = base / "am" / "config.yaml"
    units = LinguisticUnits.from_config(am_config)
    model = SambertAcousticModel(AmParams.from_config(am_config, units.sizes(), where))
    am_state = {k: _random_am(k, v, rng) for k, v in model.state_dict().items()}
    torch.save({"model": am_state}, base / "am" / "ckpt" / "checkpoint_1000.pth")

    gen = HifiGanGenerator(VocoderParams.from_config(voc_config, base / "voc" / "config.yaml"))
    voc_state: dict[str, torch.Tensor] = {}
    for key, value in gen.state_dict().items():
        shape = tuple(value.shape)
        if key.endswith(".weight"):
            # Weight-norm form, as the official training saves it.
            # Filters of about unit norm keep the signal level up through the layers.
            v = rng.normal(0.0, 1.0, shape)
            g = rng.uniform(0.3, 1.0, (shape[0], 1, 1))
            voc_state[key[: -len(".weight")] + ".weight_g"] = _tensor(g)
            voc_state[key[: -len(".weight")] + ".weight_v"] = _tensor(v)
        else:
            voc_state[key] = _tensor(rng.uniform(-0.05, 0.05, shape))
    torch.save({"model": {"generator": voc_state}}, base / "voc" / "ckpt" / "checkpoint_2000.pth")


def _tensor(a: np.ndarray[Any, Any]) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))


def _random_am(key: str, value: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    shape = tuple(value.shape)
    if key.endswith("position_enc.position_enc"):
        return sinusoid_table(shape[1], shape[2])
    if key.endswith("inv_timescales"):
        return dur_inv_timescales(shape[0])
    if key == "variance_adaptor.duration_predictor.fc.bias":
        return torch.full(shape, _DURATION_BIAS)
    if "layer_norm" in key or key.endswith(("ln.weight", "ln.bias")):
        base = 1.0 if key.endswith("weight") else 0.0
        return _tensor(base + rng.normal(0.0, 0.1, shape))
    if "_emb.weight" in key or "tokenizer" in key:
        return _tensor(rng.normal(0.0, 1.0, shape))
    fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else shape[0]
    if "lstm" in key:
        fan_in = shape[0] // 4 if "weight_hh" in key or "bias" in key else fan_in
    bound = 1.0 / math.sqrt(max(fan_in, 1))
    if key == "variance_adaptor.duration_predictor.fc.weight":
        bound *= 4.0  # durations spread around the bias, not all equal
    return _tensor(rng.uniform(-bound, bound, shape))
