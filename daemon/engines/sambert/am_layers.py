"""Building blocks of the SAMBERT acoustic model.

Attribute names mirror the official checkpoints' state-dict names (``slf_attn.w_qkv``,
``pos_ffn.w_1``, ``fcs.0`` ...), so checkpoints load strictly as they are. Inference only:
no dropout modules, no masks (one utterance at a time, never padded).
"""

from __future__ import annotations

import math
from typing import cast

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 - the torch idiom
from torch import Tensor, nn


class Prenet(nn.Module):
    """Linear+ReLU stack (with an optional output projection).

    The official module interleaves Dropout layers, which hold no weights but shift the
    indices (``fcs.0``, ``fcs.3``, ``fcs.6``): identity placeholders keep those names.
    """

    def __init__(self, in_units: int, units: tuple[int, ...], out_units: int = 0) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for d_in, d_out in zip((in_units, *units[:-1]), units, strict=True):
            layers += [nn.Linear(d_in, d_out), nn.ReLU(), nn.Identity()]
        if out_units:
            layers.append(nn.Linear(units[-1], out_units))
        self.fcs = nn.ModuleList(layers)

    def forward(self, x: Tensor) -> Tensor:
        for layer in self.fcs:
            x = layer(x)
        return x


def split_heads(x: Tensor, n_head: int) -> Tensor:
    """``[T, n*d]`` -> ``[n, T, d]``."""
    t = x.shape[0]
    return x.view(t, n_head, -1).transpose(0, 1)


def merge_heads(x: Tensor) -> Tensor:
    """``[n, T, d]`` -> ``[T, n*d]``."""
    return x.transpose(0, 1).reshape(x.shape[1], -1)


def attend(q: Tensor, k: Tensor, v: Tensor, temperature: float) -> Tensor:
    """Softmax attention exactly as the reference computes it (scores / sqrt(d))."""
    scores = torch.matmul(q, k.transpose(-1, -2)) / temperature
    return torch.matmul(torch.softmax(scores, dim=-1), v)


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, n_head: int, d_in: int, d_model: int, d_head: int) -> None:
        super().__init__()
        self.n_head = n_head
        self.temperature = float(np.power(d_head, 0.5))
        self.layer_norm = nn.LayerNorm(d_in, eps=1e-6)
        self.w_qkv = nn.Linear(d_in, 3 * n_head * d_head)
        self.fc = nn.Linear(n_head * d_head, d_model)

    def forward(self, x: Tensor) -> Tensor:
        q, k, v = self.w_qkv(self.layer_norm(x)).chunk(3, -1)
        out = attend(
            split_heads(q, self.n_head),
            split_heads(k, self.n_head),
            split_heads(v, self.n_head),
            self.temperature,
        )
        y: Tensor = self.fc(merge_heads(out))
        # The first encoder layer changes width, so it has no residual.
        return y + x if y.shape[-1] == x.shape[-1] else y


class PositionwiseConvFeedForward(nn.Module):
    """Pre-norm conv feed-forward with residual; ``x`` is ``[T, C]``."""

    def __init__(self, d_in: int, d_hid: int, kernel_size: tuple[int, int]) -> None:
        super().__init__()
        self.w_1 = nn.Conv1d(d_in, d_hid, kernel_size[0], padding=(kernel_size[0] - 1) // 2)
        self.w_2 = nn.Conv1d(d_hid, d_in, kernel_size[1], padding=(kernel_size[1] - 1) // 2)
        self.layer_norm = nn.LayerNorm(d_in, eps=1e-6)

    def forward(self, x: Tensor) -> Tensor:
        y = _conv_rows(self.w_2, _conv_rows(self.w_1, self.layer_norm(x)).relu_())
        return y + x


def _conv_rows(conv: nn.Conv1d, x: Tensor) -> Tensor:
    """``conv`` (stride 1, no dilation) of time-major ``x`` ``[T, C]``, as one matrix
    product of each frame's window (im2col): for one short utterance, torch would take
    its slow generic conv path (~370 us a call at the stock size, 10x this)."""
    k = conv.kernel_size[0]
    pad = cast(int, conv.padding[0])
    if k > 1 or pad:
        windows = F.pad(x, (0, 0, pad, pad)).unfold(0, k, 1)  # [T', C, k]
        x = windows.reshape(windows.shape[0], -1)
    return torch.addmm(conv_bias(conv), x, conv.weight.reshape(conv.out_channels, -1).t())


def conv_bias(conv: nn.Conv1d) -> Tensor:
    """``conv``'s bias, zeros where it has none."""
    if conv.bias is None:
        return conv.weight.new_zeros(conv.out_channels)
    return conv.bias


class FFTBlock(nn.Module):
    def __init__(
        self,
        d_in: int,
        d_model: int,
        *,
        n_head: int,
        d_head: int,
        d_inner: int,
        kernel_size: tuple[int, int],
    ) -> None:
        super().__init__()
        self.slf_attn = MultiHeadSelfAttention(n_head, d_in, d_model, d_head)
        self.pos_ffn = PositionwiseConvFeedForward(d_model, d_inner, kernel_size)

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.pos_ffn(self.slf_attn(x))
        return out


class MultiHeadPNCAAttention(nn.Module):
    """Decoder attention: over past decoder states (X) and over the memory (H)."""

    def __init__(self, n_head: int, d_model: int, d_mem: int, d_head: int) -> None:
        super().__init__()
        self.n_head = n_head
        self.d_head = d_head
        self.temperature = float(np.power(d_head, 0.5))
        self.layer_norm = nn.LayerNorm(d_model, eps=1e-6)
        self.w_x_qkv = nn.Linear(d_model, 3 * n_head * d_head)
        self.fc_x = nn.Linear(n_head * d_head, d_model)
        self.w_h_kv = nn.Linear(d_mem, 2 * n_head * d_head)
        self.fc_h = nn.Linear(n_head * d_head, d_model)


class PNCABlock(nn.Module):
    def __init__(self, d_model: int, d_mem: int, n_head: int, d_head: int, d_inner: int) -> None:
        super().__init__()
        self.pnca_attn = MultiHeadPNCAAttention(n_head, d_model, d_mem, d_head)
        self.pos_ffn = PositionwiseConvFeedForward(d_model, d_inner, (1, 1))


class FeedForwardNet(nn.Module):
    """FSMN feed-forward: conv(k=1)+ReLU, conv(k=1) without bias; ``x`` is ``[1, C, T]``."""

    def __init__(self, d_in: int, d_hid: int, d_out: int) -> None:
        super().__init__()
        self.w_1 = nn.Conv1d(d_in, d_hid, 1)
        self.w_2 = nn.Conv1d(d_hid, d_out, 1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        # Kernel-1 convs as matrix products: torch runs these shapes on its slow generic
        # conv path (~150-400 us a call, most of the FSMN layers' time).
        h = torch.addmm(conv_bias(self.w_1)[:, None], self.w_1.weight[:, :, 0], x[0]).relu_()
        return torch.mm(self.w_2.weight[:, :, 0], h).unsqueeze(0)


class MemoryBlockV2(nn.Module):
    """Depthwise "memory" convolution with a (possibly shifted) window, plus its input."""

    def __init__(self, d: int, filter_size: int, shift: int) -> None:
        super().__init__()
        left = round((filter_size - 1) / 2)
        right = int((filter_size - 1) / 2)
        if shift > 0:
            left, right = left + shift, right - shift
        self.pad = (left, right)
        self.conv_dw = nn.Conv1d(d, d, filter_size, groups=d, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.conv_dw(F.pad(x, self.pad)) + x
        return out


class FsmnEncoderV2(nn.Module):
    def __init__(
        self,
        input_dim: int,
        *,
        filter_size: int,
        num_layers: int,
        num_memory_units: int,
        ffn_inner_dim: int,
        shifts: tuple[int, ...],
    ) -> None:
        super().__init__()
        dims = (input_dim,) + (num_memory_units,) * (num_layers - 1)
        self.ffn_lst = nn.ModuleList(
            [FeedForwardNet(d, ffn_inner_dim, num_memory_units) for d in dims]
        )
        self.memory_block_lst = nn.ModuleList(
            [MemoryBlockV2(num_memory_units, filter_size, s) for s in shifts]
        )

    def forward(self, x: Tensor) -> Tensor:
        """``x`` is ``[1, C, T]``; returns ``[1, num_memory_units, T]``."""
        for ffn, memory_block in zip(self.ffn_lst, self.memory_block_lst, strict=True):
            memory = memory_block(ffn(x))
            x = memory + x if memory.shape[1] == x.shape[1] else memory
        return x


def sinusoid_table(n_position: int, depth: int) -> Tensor:
    """The text encoder's position table, by the reference's formula (float64, then float32).

    Only used for inputs longer than the table stored in the checkpoint.
    """
    pos = np.arange(1, n_position + 1, dtype=np.float64)[:, None]
    hid = np.arange(depth // 2, dtype=np.float64)[None, :]
    angles = pos / np.power(10000, hid / float(depth / 2 - 1))
    table = np.zeros((n_position, depth))
    table[:, : depth // 2] = np.sin(angles)
    table[:, depth // 2 :] = np.cos(angles)
    return torch.from_numpy(table).float().unsqueeze(0)


def dur_inv_timescales(depth: int) -> Tensor:
    return torch.tensor(
        [math.pow(10000, 2 * (i // 2) / depth) for i in range(depth)], dtype=torch.float32
    )
