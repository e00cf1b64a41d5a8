"""The autoregressive mel decoder's step loop, in numpy.

The decoder runs one step per ``outputs_per_step`` frames, 12 layers each, every step
depending on the last; its cost is thousands of matrix-vector products and tiny ops, so
the per-op overhead of the framework dominates (measured: torch eager ~0.37 s, this
loop ~0.13 s for 5 s of audio at the stock size, about half of it reading the 16 MB of
weights per step). The maths is the reference's, with exact reformulations:

- the memory's keys/values are projected once, not at every step; past decoder states
  are kept in a preallocated key/value cache, and attention only reads the band the
  reference's masks leave open (masked scores contribute exactly zero after softmax);
- both attentions (over past states and over the memory) run as one batched product
  and softmax over a shared padded buffer (see :meth:`NumpyDecoder.iter_decode`);
- LayerNorm's affine and the attention temperature are folded into the next projection.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from .am_layers import PNCABlock, conv_bias

if TYPE_CHECKING:
    from .acoustic import HybridAttentionDecoder

Array = npt.NDArray[np.floating[Any]]
_EPS = 1e-6
#: Score of padded attention positions: exp() of it minus any real score is exactly 0.
_PAD_SCORE = np.float32(-1e30)


def _np(t: torch.Tensor) -> Array:
    return np.ascontiguousarray(t.detach().cpu().numpy(), dtype=np.float32)


def _fold_ln(ln: nn.LayerNorm, weight: torch.Tensor, bias: torch.Tensor) -> tuple[Array, Array]:
    """``ln(x) @ W.T + b`` == ``normalize(x) @ W'.T + b'``: returns ``(W'.T, b')``."""
    w, b = ln.weight.detach().double(), ln.bias.detach().double()
    wt = weight.detach().double().t()
    return _np((w[:, None] * wt).float()), _np((b @ wt + bias.detach().double()).float())


@dataclass(frozen=True)
class _Layer:
    """One PNCA layer's weights; each ``*_aug`` has its bias as an extra last row, so the
    product of an input ending in a constant 1 (see :class:`_Buffers`) includes it."""

    wqkv_aug: Array
    wfc_aug: Array
    w1_aug: Array
    w2_aug: Array
    wh: Array
    bh: Array


def _aug(w: Array, b: Array) -> Array:
    return np.ascontiguousarray(np.concatenate([w, b[None, :]]), dtype=np.float32)


class _Buffers:
    """One layer's per-step outputs, written in place: numpy calls cost microseconds
    each here, so reshapes and slices are views made once, and inputs of the next
    product end in a constant 1 for its bias."""

    def __init__(self, n: int, d: int, d_ffn: int) -> None:
        nd, qw = n * d, 2 * n * (d + 1)
        self.qkv = np.empty((1, qw + 2 * nd), np.float32)
        self.q = self.qkv[0, :qw].reshape(2 * n, 1, d + 1)
        self.k = self.qkv[0, qw : qw + nd].reshape(n, d)
        self.v = self.qkv[0, qw + nd :].reshape(n, d)
        self.att_1 = np.ones((1, 2 * nd + 1), np.float32)
        self.att = self.att_1[0, : 2 * nd].reshape(2 * n, 1, d)
        self.ffn_1 = np.ones((1, d_ffn + 1), np.float32)
        self.ffn = self.ffn_1[:, :d_ffn]


class NumpyDecoder:
    """Weights of ``HybridAttentionDecoder`` unpacked for :meth:`decode`."""

    def __init__(
        self, dec: HybridAttentionDecoder, *, n_head: int, d_model: int, num_mels: int
    ) -> None:
        self.n_head = n_head
        self.d_head = d_model // n_head
        self.d_model = d_model
        self.num_mels = num_mels
        inv_temp = 1.0 / float(np.power(self.d_head, 0.5))
        prenet = [m for m in dec.prenet.fcs if isinstance(m, nn.Linear)]
        self.prenet = [(_np(m.weight.t()), _np(m.bias)) for m in prenet]
        w_in = dec.dec_in_proj.weight
        d_mem = w_in.shape[1] - d_model
        self.w_in_mem = _np(w_in[:, :d_mem].t())
        self.w_in_x = _np(w_in[:, d_mem:].t())
        self.b_in = _np(dec.dec_in_proj.bias)
        self.layers = []
        nd = n_head * self.d_head
        for block in dec.pnca:
            b = cast(PNCABlock, block)
            a, f = b.pnca_attn, b.pos_ffn
            wqkv, bqkv = _fold_ln(a.layer_norm, a.w_x_qkv.weight, a.w_x_qkv.bias)
            wqkv[:, :nd] *= inv_temp  # scores / temperature == (q / temperature) . k
            bqkv[:nd] *= inv_temp
            wqkv, bqkv = _twin_queries(wqkv, bqkv, n_head, self.d_head)
            w1, b1 = _fold_ln(f.layer_norm, f.w_1.weight[:, :, 0], conv_bias(f.w_1))
            wfc = _np(torch.cat([a.fc_x.weight, a.fc_h.weight], dim=1).t())
            self.layers.append(
                _Layer(
                    wqkv_aug=_aug(wqkv, bqkv),
                    wfc_aug=_aug(wfc, _np(a.fc_x.bias + a.fc_h.bias)),
                    w1_aug=_aug(w1, b1),
                    w2_aug=_aug(_np(f.w_2.weight[:, :, 0].t()), _np(conv_bias(f.w_2))),
                    wh=_np(a.w_h_kv.weight.t()), bh=_np(a.w_h_kv.bias),
                )
            )  # fmt: skip
        self.w_out_aug = _aug(*_fold_ln(dec.ln, dec.dec_out_proj.weight, dec.dec_out_proj.bias))

    def decode(self, memory: Array, band: int) -> Array:
        """All steps for ``memory`` ``[S, d_mem]``; returns ``[S, r * num_mels]``."""
        blocks = list(self.iter_decode(memory, band, max(1, memory.shape[0])))
        if not blocks:
            return np.empty((0, self.w_out_aug.shape[1]), np.float32)
        return np.concatenate(blocks)

    def iter_decode(self, memory: Array, band: int, block_steps: int) -> Iterator[Array]:
        """:meth:`decode` ``block_steps`` steps at a time (the last block may be shorter).

        Attention reads steps ``t - band .. t`` of the decoder's own states and
        ``t .. t + band`` of the memory: both windows live in one buffer per layer (the
        decoder's heads first, padded in front; the memory's heads after, padded at the
        end), so one batched product and one softmax serve both. Queries carry an extra
        component 1 and keys an extra component 0, or -1e30 in the padding: padded
        scores are -1e30 (weight exactly 0 after softmax), real ones unchanged.
        """
        steps = memory.shape[0]
        n, d, dm = self.n_head, self.d_head, self.d_model
        nd = n * d
        width = steps + band
        mem_in = memory @ self.w_in_mem + self.b_in
        keys, values = [], []
        for lw in self.layers:
            kv = memory @ lw.wh + lw.bh
            k2 = np.zeros((2 * n, d + 1, width), np.float32)
            k2[:n, d, :band] = _PAD_SCORE
            k2[n:, :d, :steps] = kv[:, :nd].reshape(steps, n, d).transpose(1, 2, 0)
            k2[n:, d, steps:] = _PAD_SCORE
            v2 = np.zeros((2 * n, width, d), np.float32)
            v2[n:, :steps] = kv[:, nd:].reshape(steps, n, d).transpose(1, 0, 2)
            keys.append(k2)
            values.append(v2)
        out = np.empty((steps, self.w_out_aug.shape[1]), np.float32)
        prev: Array = np.zeros((1, self.num_mels), np.float32)
        scale = np.float32(dm**0.5)
        last = len(self.prenet) - 1
        norm = _Normalizer(dm)
        bufs = [_Buffers(n, d, lw.w1_aug.shape[1]) for lw in self.layers]
        for t in range(steps):
            h: Array = prev
            for i, (w, b) in enumerate(self.prenet):
                h = h @ w + b
                if i < last:
                    np.maximum(h, 0, out=h)
            x = (mem_in[t : t + 1] + h @ self.w_in_x) * scale
            at = t + band  # this step's column in the decoder-state half
            for lw, k2, v2, buf in zip(self.layers, keys, values, bufs, strict=True):
                np.matmul(norm(x), lw.wqkv_aug, out=buf.qkv)
                k2[:n, :d, at] = buf.k
                v2[:n, at] = buf.v
                scores = buf.q @ k2[:, :, t : at + 1]
                _softmax_(scores)
                np.matmul(scores, v2[:, t : at + 1], out=buf.att)
                y = buf.att_1 @ lw.wfc_aug
                y += x
                x = y
                np.matmul(norm(x), lw.w1_aug, out=buf.ffn)
                np.maximum(buf.ffn, 0, out=buf.ffn)
                y = buf.ffn_1 @ lw.w2_aug
                y += x
                x = y
            y = norm(x) @ self.w_out_aug
            out[t] = y[0]
            prev = y[:, -self.num_mels :]
            if (t + 1) % block_steps == 0 or t + 1 == steps:
                yield out[t + 1 - ((t % block_steps) + 1) : t + 1]


def _twin_queries(w: Array, b: Array, n_head: int, d_head: int) -> tuple[Array, Array]:
    """``[q | k | v]`` columns -> ``[q' | q' | k | v]``, ``q'`` each head's query plus a
    constant-1 component (zero weights, bias 1): the query of both attention halves."""
    nd = n_head * d_head
    wq = w[:, :nd].reshape(-1, n_head, d_head)
    bq = b[:nd].reshape(n_head, d_head)
    wq1 = np.concatenate([wq, np.zeros((w.shape[0], n_head, 1), np.float32)], axis=2)
    bq1 = np.concatenate([bq, np.ones((n_head, 1), np.float32)], axis=1)
    wq2 = np.tile(wq1.reshape(w.shape[0], -1), (1, 2))
    bq2 = np.tile(bq1.reshape(-1), 2)
    return (
        np.ascontiguousarray(np.concatenate([wq2, w[:, nd:]], axis=1)),
        np.ascontiguousarray(np.concatenate([bq2, b[nd:]])),
    )


class _Normalizer:
    """LayerNorm without affine (eps 1e-6, biased variance) of a ``[1, dim]`` row, into a
    buffer ``[1, dim + 1]`` whose last entry stays 1 (the next product's bias row).

    Fewest numpy calls: the mean as a dot product (``ndarray.mean`` costs 4x more on
    128 values), the scale in Python floats.
    """

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self.mean_weights = np.full(dim, 1.0 / dim, np.float32)
        self.out_1 = np.ones((1, dim + 1), np.float32)
        self.out = self.out_1[:, :dim]

    def __call__(self, x: Array) -> Array:
        xc = x - np.dot(x[0], self.mean_weights)
        var = float(np.dot(xc[0], xc[0])) / self.dim
        np.multiply(xc, 1.0 / math.sqrt(var + _EPS), out=self.out)
        return self.out_1


def _softmax_(s: Array) -> None:
    """Softmax over the last axis, in place."""
    s -= s.max(axis=-1, keepdims=True)
    np.exp(s, out=s)
    s /= s.sum(axis=-1, keepdims=True)
