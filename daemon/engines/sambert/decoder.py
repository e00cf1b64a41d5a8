"""The autoregressive mel decoder's step loop, in numpy.

The decoder runs one step per ``outputs_per_step`` frames, 12 layers each, every step
depending on the last; its cost is thousands of matrix-vector products and tiny ops, so
the per-op overhead of the framework dominates (measured: torch eager ~0.37 s, this
loop ~0.2 s for 5 s of audio at the stock size). The maths is the reference's, with two
exact reformulations:

- the memory's keys/values are projected once, not at every step; past decoder states
  are kept in a preallocated key/value cache, and attention only reads the band the
  reference's masks leave open (masked scores contribute exactly zero after softmax);
- LayerNorm's affine and the attention temperature are folded into the next projection.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from .am_layers import PNCABlock

if TYPE_CHECKING:
    from .acoustic import HybridAttentionDecoder

Array = npt.NDArray[np.floating[Any]]
_EPS = np.float32(1e-6)


def _np(t: torch.Tensor) -> Array:
    return np.ascontiguousarray(t.detach().cpu().numpy(), dtype=np.float32)


def _fold_ln(ln: nn.LayerNorm, weight: torch.Tensor, bias: torch.Tensor) -> tuple[Array, Array]:
    """``ln(x) @ W.T + b`` == ``normalize(x) @ W'.T + b'``: returns ``(W'.T, b')``."""
    w, b = ln.weight.detach().double(), ln.bias.detach().double()
    wt = weight.detach().double().t()
    return _np((w[:, None] * wt).float()), _np((b @ wt + bias.detach().double()).float())


@dataclass(frozen=True)
class _Layer:
    wqkv: Array
    bqkv: Array
    wfc: Array
    bfc: Array
    w1: Array
    b1: Array
    w2: Array
    b2: Array
    wh: Array
    bh: Array


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
            w1, b1 = _fold_ln(f.layer_norm, f.w_1.weight[:, :, 0], _bias(f.w_1))
            self.layers.append(
                _Layer(
                    wqkv=wqkv, bqkv=bqkv,
                    wfc=_np(torch.cat([a.fc_x.weight, a.fc_h.weight], dim=1).t()),
                    bfc=_np(a.fc_x.bias + a.fc_h.bias),
                    w1=w1, b1=b1, w2=_np(f.w_2.weight[:, :, 0].t()), b2=_np(_bias(f.w_2)),
                    wh=_np(a.w_h_kv.weight.t()), bh=_np(a.w_h_kv.bias),
                )
            )  # fmt: skip
        self.w_out, self.b_out = _fold_ln(dec.ln, dec.dec_out_proj.weight, dec.dec_out_proj.bias)

    def decode(self, memory: Array, x_band: int, h_band: int) -> Array:
        """All steps for ``memory`` ``[S, d_mem]``; returns ``[S, r * num_mels]``."""
        steps = memory.shape[0]
        n, d, dm = self.n_head, self.d_head, self.d_model
        nd = n * d
        mem_in = memory @ self.w_in_mem + self.b_in
        h_keys, h_vals, x_keys, x_vals = [], [], [], []
        for lw in self.layers:
            kv = memory @ lw.wh + lw.bh
            # Keys as [n, d, S] and values as [n, S, d]: a window is a plain slice.
            h_keys.append(np.ascontiguousarray(kv[:, :nd].reshape(steps, n, d).transpose(1, 2, 0)))
            h_vals.append(np.ascontiguousarray(kv[:, nd:].reshape(steps, n, d).transpose(1, 0, 2)))
            x_keys.append(np.empty((n, d, steps), np.float32))
            x_vals.append(np.empty((n, steps, d), np.float32))
        out = np.empty((steps, self.w_out.shape[1]), np.float32)
        prev: Array = np.zeros((1, self.num_mels), np.float32)
        scale = np.float32(dm**0.5)
        last = len(self.prenet) - 1
        for t in range(steps):
            h: Array = prev
            for i, (w, b) in enumerate(self.prenet):
                h = h @ w + b
                if i < last:
                    np.maximum(h, 0, out=h)
            x = (mem_in[t : t + 1] + h @ self.w_in_x) * scale
            lo = max(0, t - x_band)
            hi = min(steps, t + h_band + 1)
            for lw, xk, xv, hk, hv in zip(self.layers, x_keys, x_vals, h_keys, h_vals, strict=True):
                qkv = _normalize(x, dm) @ lw.wqkv + lw.bqkv
                q = qkv[0, :nd].reshape(n, 1, d)
                xk[:, :, t] = qkv[0, nd : 2 * nd].reshape(n, d)
                xv[:, t, :] = qkv[0, 2 * nd :].reshape(n, d)
                ox = _softmax(q @ xk[:, :, lo : t + 1]) @ xv[:, lo : t + 1]
                oh = _softmax(q @ hk[:, :, t:hi]) @ hv[:, t:hi]
                att = np.concatenate((ox.reshape(1, nd), oh.reshape(1, nd)), axis=1)
                x = att @ lw.wfc + lw.bfc + x
                f = _normalize(x, dm) @ lw.w1 + lw.b1
                np.maximum(f, 0, out=f)
                x = f @ lw.w2 + lw.b2 + x
            y = _normalize(x, dm) @ self.w_out + self.b_out
            out[t] = y[0]
            prev = y[:, -self.num_mels :]
        return out


def _bias(conv: nn.Conv1d) -> torch.Tensor:
    assert conv.bias is not None, "decoder convs have biases"
    return conv.bias


def _normalize(x: Array, dim: int) -> Array:
    """LayerNorm without affine (eps 1e-6, biased variance) of a ``[1, dim]`` row."""
    xc = x - x.mean()
    var = np.float32(np.dot(xc[0], xc[0]) / dim)
    out: Array = xc * np.float32(1.0 / np.sqrt(var + _EPS))
    return out


def _softmax(s: Array) -> Array:
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    out: Array = e / e.sum(axis=-1, keepdims=True)
    return out
