"""The postnet fed block by block, so the vocoder can start before the decoder ends.

Each FSMN memory block looks ``left`` frames back and ``right`` frames ahead (stock: 37
and 3), the LSTM only back: an output frame is final once ``right`` more frames of its
layer's input have arrived. Every layer keeps its last ``left`` inputs as history (zeros
at the start, like the whole-sequence zero padding) and the frames still waiting for
look-ahead; the end of the sequence pads ``right`` zeros. Same values as
:meth:`PostNet.forward` on the whole sequence, up to float rounding.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import torch
from torch import Tensor

from .am_layers import FeedForwardNet, MemoryBlockV2

if TYPE_CHECKING:
    from .acoustic import PostNet


class _FsmnLayerStream:
    def __init__(self, ffn: FeedForwardNet, memory: MemoryBlockV2, residual: bool) -> None:
        self.ffn = ffn
        self.conv = memory.conv_dw
        self.left, self.right = memory.pad
        self.residual = residual
        self.ffn_out: Tensor | None = None  # [1, C, left + pending (+ look-ahead)]
        self.inputs: Tensor | None = None  # [1, C_in, pending]: the residual's inputs

    def push(self, x: Tensor, final: bool) -> Tensor:
        """New input frames ``[1, C_in, n]`` -> the output frames now final ``[1, C, k]``."""
        if x.shape[-1] == 0 and (self.ffn_out is None or not final):
            return x.new_zeros((1, self.conv.out_channels, 0))  # nothing new to compute
        if self.ffn_out is None or self.inputs is None:
            y = torch.nn.functional.pad(self.ffn(x), (self.left, 0))
            inputs = x
        elif x.shape[-1] == 0:
            y, inputs = self.ffn_out, self.inputs
        else:
            y = torch.cat([self.ffn_out, self.ffn(x)], dim=-1)
            inputs = torch.cat([self.inputs, x], dim=-1)
        pending = inputs.shape[-1]
        if final:
            y = torch.nn.functional.pad(y, (0, self.right))
            ready = pending
        else:
            ready = max(0, pending - self.right)
        self.ffn_out = y[:, :, ready:]
        self.inputs = inputs[:, :, ready:]
        if ready == 0:
            return y.new_zeros((1, self.conv.out_channels, 0))
        out: Tensor = self.conv(y[:, :, : self.left + ready + self.right])
        out = out + y[:, :, self.left : self.left + ready]  # the memory block adds its input
        if self.residual:
            out = out + inputs[:, :, :ready]
        return out


class PostnetStream:
    """Push decoder frames ``[n, num_mels]`` in order; get final mel frames back.

    Returns ``postnet(dec) + dec`` for the frames whose look-ahead is complete; the
    ``final`` push returns all the rest.
    """

    def __init__(self, postnet: PostNet) -> None:
        if not self.supports(postnet):
            raise ValueError("a postnet memory block is shifted beyond its window")
        self.postnet = postnet
        self.layers = []
        for f, m in zip(postnet.fsmn.ffn_lst, postnet.fsmn.memory_block_lst, strict=True):
            ffn, mb = cast(FeedForwardNet, f), cast(MemoryBlockV2, m)
            # As FsmnEncoderV2: a residual wherever the width doesn't change.
            residual = ffn.w_1.in_channels == mb.conv_dw.out_channels
            self.layers.append(_FsmnLayerStream(ffn, mb, residual))
        self.lstm_state: tuple[Tensor, Tensor] | None = None
        self.dec: Tensor | None = None  # decoder frames whose postnet output is pending

    @staticmethod
    def supports(postnet: PostNet) -> bool:
        """Whether every memory block looks ahead zero or more frames (stock: 3)."""
        return all(cast(MemoryBlockV2, m).pad[1] >= 0 for m in postnet.fsmn.memory_block_lst)

    def push(self, dec: Tensor, final: bool = False) -> Tensor:
        self.dec = dec if self.dec is None else torch.cat([self.dec, dec])
        h = dec.t().unsqueeze(0)
        for layer in self.layers:
            h = layer.push(h, final)
        ready = h.shape[-1]
        if ready == 0:
            return dec.new_zeros((0, dec.shape[1]))
        out, self.lstm_state = self.postnet.lstm(h.transpose(1, 2), self.lstm_state)
        mel: Tensor = self.postnet.fc(out[0]) + self.dec[:ready]
        self.dec = self.dec[ready:]
        return mel
