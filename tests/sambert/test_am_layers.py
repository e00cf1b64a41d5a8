"""The acoustic model's convs computed as matrix products equal torch's convolutions."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from daemon.engines.sambert.am_layers import FeedForwardNet, PositionwiseConvFeedForward


@pytest.mark.parametrize("kernel", [1, 3, 5])  # odd, as KAN-TTS configures them
@pytest.mark.parametrize("frames", [1, 7])
def test_conv_feed_forward_equals_torch_convs(kernel: int, frames: int) -> None:
    torch.manual_seed(kernel)
    ffn = PositionwiseConvFeedForward(6, 10, (kernel, 1)).eval()
    with torch.no_grad():
        for p in ffn.parameters():
            p.normal_()
    x = torch.randn(frames, 6)
    with torch.inference_mode():
        h = ffn.layer_norm(x).t().unsqueeze(0)
        expected = ffn.w_2(torch.relu(ffn.w_1(h)))[0].t() + x
        got = ffn(x)
    assert got.shape == (frames, 6)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def test_fsmn_feed_forward_equals_torch_convs() -> None:
    torch.manual_seed(0)
    ffn = FeedForwardNet(5, 9, 4).eval()
    x = torch.randn(1, 5, 11)
    with torch.inference_mode():
        expected = ffn.w_2(torch.relu(ffn.w_1(x)))
        got = ffn(x)
    assert got.shape == (1, 4, 11)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
    assert isinstance(ffn.w_1, nn.Conv1d)  # the checkpoint's names and shapes stay
