"""Typed hyper-parameters of the acoustic model and the vocoder, read from a voice's configs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import require, section
from .errors import ModelError

_AM_KEYS = (
    "max_len",
    "embedding_dim",
    "encoder_num_layers",
    "encoder_num_heads",
    "encoder_num_units",
    "encoder_ffn_inner_dim",
    "encoder_projection_units",
    "speaker_units",
    "emotion_units",
    "predictor_filter_size",
    "predictor_fsmn_num_layers",
    "predictor_num_memory_units",
    "predictor_ffn_inner_dim",
    "predictor_shift",
    "predictor_lstm_units",
    "dur_pred_prenet_units",
    "dur_pred_lstm_units",
    "decoder_prenet_units",
    "decoder_num_layers",
    "decoder_num_heads",
    "decoder_num_units",
    "decoder_ffn_inner_dim",
    "outputs_per_step",
    "num_mels",
    "postnet_filter_size",
    "postnet_fsmn_num_layers",
    "postnet_num_memory_units",
    "postnet_ffn_inner_dim",
    "postnet_shift",
    "postnet_lstm_units",
)

_VOC_KEYS = (
    "in_channels",
    "out_channels",
    "channels",
    "kernel_size",
    "upsample_scales",
    "upsample_kernal_sizes",
    "resblock_kernel_sizes",
    "resblock_dilations",
)


def _shifts(value: Any, layers: int, key: str, where: Path) -> tuple[int, ...]:
    if isinstance(value, list):
        if len(value) != layers:
            raise ModelError(f"{where}: {key} lists {len(value)} shifts for {layers} layers")
        return tuple(int(v) for v in value)
    return (int(value),) * layers


@dataclass(frozen=True)
class AmParams:
    """``Model.KanTtsSAMBERT.params`` plus the vocabulary sizes."""

    max_len: int
    embedding_dim: int
    encoder_num_layers: int
    encoder_num_heads: int
    encoder_num_units: int
    encoder_ffn_inner_dim: int
    encoder_projection_units: int
    speaker_units: int
    emotion_units: int
    predictor_filter_size: int
    predictor_fsmn_num_layers: int
    predictor_num_memory_units: int
    predictor_ffn_inner_dim: int
    predictor_shift: tuple[int, ...]
    predictor_lstm_units: int
    dur_pred_prenet_units: tuple[int, ...]
    dur_pred_lstm_units: int
    decoder_prenet_units: tuple[int, ...]
    decoder_num_layers: int
    decoder_num_heads: int
    decoder_num_units: int
    decoder_ffn_inner_dim: int
    outputs_per_step: int
    num_mels: int
    postnet_filter_size: int
    postnet_fsmn_num_layers: int
    postnet_num_memory_units: int
    postnet_ffn_inner_dim: int
    postnet_shift: tuple[int, ...]
    postnet_lstm_units: int
    vocab_sizes: Mapping[str, int]
    """sy, tone, syllable_flag, word_segment, emotion, speaker table sizes."""
    mas: bool = False
    """Trained with monotonic alignment search (its aligner is training-only)."""

    @classmethod
    def from_config(
        cls, am_config: Mapping[str, Any], sizes: Mapping[str, int], where: Path
    ) -> AmParams:
        p = section(am_config, "Model.KanTtsSAMBERT.params", where)
        require(p, _AM_KEYS, "Model.KanTtsSAMBERT.params", where)
        for flag, what in (
            ("SE", "speaker-embedding (SE)"),
            ("NSF", "NSF"),
            ("FP", "filled-pause (FP)"),
            ("using_byte", "byte-input"),
        ):
            if p.get(flag, False):
                raise ModelError(f"{where}: {what} voices are not supported ({flag}: true)")
        try:
            return cls(
                **{
                    k: int(p[k])
                    for k in _AM_KEYS
                    if k
                    not in (
                        "predictor_shift",
                        "postnet_shift",
                        "dur_pred_prenet_units",
                        "decoder_prenet_units",
                    )
                },
                predictor_shift=_shifts(
                    p["predictor_shift"],
                    int(p["predictor_fsmn_num_layers"]),
                    "predictor_shift",
                    where,
                ),
                postnet_shift=_shifts(
                    p["postnet_shift"], int(p["postnet_fsmn_num_layers"]), "postnet_shift", where
                ),
                dur_pred_prenet_units=tuple(int(u) for u in p["dur_pred_prenet_units"]),
                decoder_prenet_units=tuple(int(u) for u in p["decoder_prenet_units"]),
                vocab_sizes=dict(sizes),
                mas=bool(p.get("MAS", False)),
            )
        except (TypeError, ValueError) as exc:
            raise ModelError(f"{where}: bad value in Model.KanTtsSAMBERT.params: {exc}") from None


@dataclass(frozen=True)
class VocoderParams:
    """``Model.Generator.params`` of a HiFi-GAN voice."""

    in_channels: int
    out_channels: int
    channels: int
    kernel_size: int
    upsample_scales: tuple[int, ...]
    upsample_kernel_sizes: tuple[int, ...]
    resblock_kernel_sizes: tuple[int, ...]
    resblock_dilations: tuple[tuple[int, ...], ...]
    repeat_upsample: bool = True
    causal: bool = True
    negative_slope: float = 0.1
    sampling_rate: int = 16000

    @property
    def hop_size(self) -> int:
        hop = 1
        for s in self.upsample_scales:
            hop *= s
        return hop

    @classmethod
    def from_config(cls, voc_config: Mapping[str, Any], where: Path) -> VocoderParams:
        p = section(voc_config, "Model.Generator.params", where)
        require(p, _VOC_KEYS, "Model.Generator.params", where)
        if p.get("nsf_params"):
            raise ModelError(f"{where}: NSF vocoders are not supported (nsf_params is set)")
        if int(p["out_channels"]) != 1:
            raise ModelError(f"{where}: multi-band (PQMF) vocoders are not supported")
        act = p.get("nonlinear_activation", "LeakyReLU")
        if act != "LeakyReLU":
            raise ModelError(f"{where}: nonlinear_activation {act!r} is not supported")
        act_params = p.get("nonlinear_activation_params") or {}
        audio = voc_config.get("audio_config") or {}
        try:
            params = cls(
                in_channels=int(p["in_channels"]),
                out_channels=int(p["out_channels"]),
                channels=int(p["channels"]),
                kernel_size=int(p["kernel_size"]),
                upsample_scales=tuple(int(s) for s in p["upsample_scales"]),
                upsample_kernel_sizes=tuple(int(s) for s in p["upsample_kernal_sizes"]),
                resblock_kernel_sizes=tuple(int(s) for s in p["resblock_kernel_sizes"]),
                resblock_dilations=tuple(
                    tuple(int(d) for d in ds) for ds in p["resblock_dilations"]
                ),
                repeat_upsample=bool(p.get("repeat_upsample", True)),
                causal=bool(p.get("causal", True)),
                negative_slope=float(act_params.get("negative_slope", 0.01)),
                sampling_rate=int(audio.get("sampling_rate", 16000)),
            )
        except (TypeError, ValueError, AttributeError) as exc:
            raise ModelError(f"{where}: bad value in Model.Generator.params: {exc}") from None
        if len(params.upsample_scales) != len(params.upsample_kernel_sizes):
            raise ModelError(f"{where}: upsample_scales and upsample_kernal_sizes differ in length")
        if len(params.resblock_kernel_sizes) != len(params.resblock_dilations):
            raise ModelError(
                f"{where}: resblock_kernel_sizes and resblock_dilations differ in length"
            )
        return params
