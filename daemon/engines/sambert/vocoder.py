"""Our torch implementation of KAN-TTS's HiFi-GAN generator (inference only).

Parameter names match the official checkpoints after weight norm is fused: the
checkpoint's ``<conv>.weight_g`` / ``<conv>.weight_v`` pairs become ``<conv>.weight``
(``g * v / ||v||``, what ``remove_weight_norm`` computes) before the strict load.
"""

from __future__ import annotations

import functools
import logging
import warnings
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import cast

import torch
import torch.nn.functional as F  # noqa: N812 - the torch idiom
from torch import Tensor, nn

from .params import VocoderParams

logger = logging.getLogger(__name__)

#: Per-module carried context of a chunked (streaming) run, keyed by ``id(module)``.
Stream = dict[int, Tensor]


class CausalConv1d(nn.Module):
    """Conv padded on the left only, as KAN-TTS's causal vocoder does."""

    def __init__(
        self, c_in: int, c_out: int, kernel: int, dilation: int = 1, *, causal: bool = True
    ) -> None:
        super().__init__()
        self.causal = causal
        self.pad = (kernel - 1) * dilation
        padding = 0 if causal else self.pad // 2
        self.conv1d = nn.Conv1d(c_in, c_out, kernel, dilation=dilation, padding=padding)

    def forward(self, x: Tensor, state: Stream | None = None) -> Tensor:
        if not self.causal:
            out: Tensor = self.conv1d(x)
            return out
        if state is None:
            x = F.pad(x, (self.pad, 0))
        elif self.pad:
            # Streaming: the left context is the previous chunk's last inputs.
            prev = state.get(id(self))
            if prev is None:
                prev = x.new_zeros((x.shape[0], x.shape[1], self.pad))
            x = torch.cat([prev, x], dim=-1)
            state[id(self)] = x[:, :, -self.pad :].clone()  # not a view: frees the chunk
        y: Tensor = self.conv1d(x)
        return y


class CausalConvTranspose1d(nn.Module):
    def __init__(
        self, c_in: int, c_out: int, kernel: int, stride: int, *, causal: bool = True
    ) -> None:
        super().__init__()
        self.causal = causal
        self.trim = kernel - stride
        padding = 0 if causal else self.trim // 2
        self.deconv = nn.ConvTranspose1d(c_in, c_out, kernel, stride, padding=padding)

    def forward(self, x: Tensor, state: Stream | None = None) -> Tensor:
        y: Tensor = self.deconv(x)
        if not self.causal or self.trim <= 0:
            return y
        if state is not None:
            # Streaming: the previous chunk's overhang (without its bias) belongs to the
            # start of this chunk's output; this chunk's overhang goes to the next.
            prev = state.get(id(self))
            if prev is not None:
                y[:, :, : self.trim] += prev
            tail = y[:, :, -self.trim :]
            if self.deconv.bias is not None:
                tail = tail - self.deconv.bias[None, :, None]
            state[id(self)] = tail.clone()
        return y[:, :, : -self.trim]


class ResidualBlock(nn.Module):
    def __init__(
        self, channels: int, kernel: int, dilations: tuple[int, ...], slope: float, causal: bool
    ) -> None:
        super().__init__()
        self.slope = slope
        self.convs1 = nn.ModuleList(
            [CausalConv1d(channels, channels, kernel, d, causal=causal) for d in dilations]
        )
        self.convs2 = nn.ModuleList(
            [CausalConv1d(channels, channels, kernel, 1, causal=causal) for _ in dilations]
        )

    def forward(self, x: Tensor, state: Stream | None = None) -> Tensor:
        """One TorchScript call (see :func:`_residual_script`) with each conv's left context:
        zeros at the start, as the causal padding, else the stream's carried frames."""
        pairs = zip(self.convs1, self.convs2, strict=True)
        convs_ = [cast(CausalConv1d, c) for pair in pairs for c in pair]
        context = [
            _context(state, c, x) if state is not None else x.new_zeros((*x.shape[:2], c.pad))
            for c in convs_
        ]
        out, carried = _residual_script()(
            x,
            context,
            [c.conv1d.weight for c in convs_],
            [cast(Tensor, c.conv1d.bias) for c in convs_],
            [int(c.conv1d.dilation[0]) for c in convs_],
            self.slope,
        )
        if state is not None:
            for c, kept in zip(convs_, carried, strict=True):
                state[id(c)] = kept
        return out


def _context(state: Stream, conv: CausalConv1d, x: Tensor) -> Tensor:
    prev = state.get(id(conv))
    return prev if prev is not None else x.new_zeros((*x.shape[:2], conv.pad))


def _residual(  # noqa: PLR0917 - TorchScript functions take no keyword-only arguments
    x: Tensor,
    context: list[Tensor],
    weights: list[Tensor],
    biases: list[Tensor],
    dilations: list[int],
    slope: float,
) -> tuple[Tensor, list[Tensor]]:
    """A residual block's causal convs (pairs: dilated, then plain) on ``x`` after each
    conv's ``context`` frames; returns the output and each conv's context for the next
    chunk. Scripted: the call runs without the GIL, which the acoustic model's numpy loop
    on the other thread holds most of the time (eager ops would wait for it op by op)."""
    carried: list[Tensor] = []
    for i in range(0, len(weights), 2):
        a = torch.cat([context[i], F.leaky_relu(x, slope)], -1)
        carried.append(a[:, :, a.shape[-1] - context[i].shape[-1] :].clone())
        h = F.leaky_relu(F.conv1d(a, weights[i], biases[i], 1, 0, dilations[i]), slope)
        h = torch.cat([context[i + 1], h], -1)
        carried.append(h[:, :, h.shape[-1] - context[i + 1].shape[-1] :].clone())
        x = F.conv1d(h, weights[i + 1], biases[i + 1], 1, 0, dilations[i + 1]) + x
    return x, carried


@functools.cache
def _residual_script() -> Callable[..., tuple[Tensor, list[Tensor]]]:
    """:func:`_residual`, compiled on first use (eager if TorchScript is unavailable).

    TorchScript is deprecated in favour of torch.compile, which needs a C++ toolchain at
    run time; the pinned torch still has it, and its interpreter releases the GIL.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            scripted = torch.jit.script(_residual)
    except Exception as exc:  # any failure: the same maths, eager
        logger.warning("TorchScript unavailable (%s): vocoder blocks run eager", exc)
        return _residual
    return cast(Callable[..., tuple[Tensor, list[Tensor]]], scripted)


class HifiGanGenerator(nn.Module):
    """Mel ``[1, num_mels, frames]`` -> waveform ``[1, 1, frames * hop]`` in [-1, 1]."""

    def __init__(self, p: VocoderParams) -> None:
        super().__init__()
        if not p.causal:
            # Non-causal KAN-TTS convs pad symmetrically; only the causal stock config is
            # verified against the reference.
            raise NotImplementedError("non-causal HiFi-GAN")
        self.p = p
        self._pool: ThreadPoolExecutor | None = None
        self._poly: list[_Polyphase] = []
        self.slope = p.negative_slope
        ch = p.channels
        k = p.kernel_size
        self.conv_pre = CausalConv1d(p.in_channels, ch, k)
        self.transpose_upsamples = nn.ModuleList()
        self.repeat_upsamples = nn.ModuleList()
        self.conv_blocks = nn.ModuleList()
        for i, (scale, up_k) in enumerate(
            zip(p.upsample_scales, p.upsample_kernel_sizes, strict=True)
        ):
            c_in, c_out = ch // 2**i, ch // 2 ** (i + 1)
            # Index 0 of each Sequential is the (weightless) activation, as in the reference.
            self.transpose_upsamples.append(
                nn.Sequential(nn.Identity(), CausalConvTranspose1d(c_in, c_out, up_k, scale))
            )
            if p.repeat_upsample:
                self.repeat_upsamples.append(
                    nn.Sequential(nn.Identity(), nn.Identity(), CausalConv1d(c_in, c_out, k))
                )
            for rk, dil in zip(p.resblock_kernel_sizes, p.resblock_dilations, strict=True):
                self.conv_blocks.append(ResidualBlock(c_out, rk, dil, self.slope, True))
        # Typed views of the convs inside the Sequentials (same modules, not re-registered).
        self._ups = [
            cast(CausalConvTranspose1d, cast(nn.Sequential, seq)[1])
            for seq in self.transpose_upsamples
        ]
        self._reps = [
            cast(CausalConv1d, cast(nn.Sequential, seq)[2]) for seq in self.repeat_upsamples
        ]
        self.conv_post = CausalConv1d(ch // 2 ** len(p.upsample_scales), p.out_channels, k)

    def forward(self, mel: Tensor, state: Stream | None = None, *, split: bool = True) -> Tensor:
        """The whole mel at once, or one chunk of a stream (``state`` carries context).

        ``split=False``: all on the calling thread, even with a worker (see
        :meth:`set_worker`); the worker itself calls it so.
        """
        p = self.p
        nk = len(p.resblock_kernel_sizes)
        x = self.conv_pre(mel, state)
        for i, scale in enumerate(p.upsample_scales):
            x = torch.sin(x).add_(x)
            a = F.leaky_relu(x, self.slope)
            up = self._ups[i](a, state)
            if p.repeat_upsample:
                # leaky_relu commutes with nearest upsampling: reuse ``a``.
                if self._poly:
                    rep = self._poly[i](a, state)
                else:
                    rep = self._reps[i](torch.repeat_interleave(a, scale, dim=-1), state)
                x = rep.add_(up[:, :, : rep.shape[-1]])
            else:
                x = up
            del a, up
            blocks = [self.conv_blocks[i * nk + j] for j in range(nk)]
            x = self._resblocks(blocks, x, state, split).div_(nk)
        # The reference's final activation is F.leaky_relu's default slope (0.01).
        x = self.conv_post(F.leaky_relu(x), state)
        return torch.tanh(x)

    def prepare(self) -> None:
        """Precompute the repeat branch's polyphase form (call after loading weights) and
        compile the residual blocks' script now, on one thread (warnings filters and the
        cache are not thread-safe)."""
        _residual_script()
        if self.p.repeat_upsample:
            self._poly = [
                _Polyphase(conv.conv1d, scale)
                for conv, scale in zip(self._reps, self.p.upsample_scales, strict=True)
            ]

    @property
    def dtype(self) -> torch.dtype:
        """The float type the generator computes in (float32 unless :meth:`set_dtype`)."""
        return self.conv_pre.conv1d.weight.dtype

    def set_dtype(self, dtype: torch.dtype) -> None:
        """Compute in ``dtype`` (float32, or bfloat16 on CPUs with native bf16 dot products).

        Call after :meth:`prepare`: the polyphase weights are derived in float32 first.
        """
        self.to(dtype)
        for poly in self._poly:
            poly.weight = poly.weight.to(dtype)
            poly.bias = poly.bias.to(dtype)

    def set_worker(self, pool: ThreadPoolExecutor | None) -> None:
        """Run the largest residual block of each stage on ``pool`` (one extra thread).

        The parallel blocks share their input and are summed, so they are independent:
        two Python threads, each running torch single-threaded, use two cores with one
        hand-off per stage instead of OpenMP's barrier after every op (which stalls
        badly when another process holds a core).
        """
        self._pool = pool

    def _resblocks(
        self, blocks: list[nn.Module], x: Tensor, state: Stream | None, split: bool
    ) -> Tensor:
        """Sum of the parallel residual blocks, in the reference's order."""
        pool = self._pool
        if pool is None or not split or len(blocks) < 2:
            xs: Tensor = blocks[0](x, state)
            for block in blocks[1:]:
                xs.add_(block(x, state))
            return xs
        # Kernel sizes grow with the index: the last block costs about as much as the rest.
        with torch.inference_mode():
            pending = pool.submit(_inference, blocks[-1], x, state)
            xs = blocks[0](x, state)
            for block in blocks[1:-1]:
                xs.add_(block(x, state))
        return xs.add_(pending.result())

    def stream(self, mel: Tensor, chunk_frames: int) -> Tensor:
        """Same output as :meth:`forward`, computed ``chunk_frames`` at a time.

        Every layer is causal, so carrying each conv's left context (and each transposed
        conv's overhang) from chunk to chunk reproduces the whole-utterance result with
        no recomputation, while activations only ever hold one chunk: memory stays
        bounded however long the sentence. Takes and returns float32 whatever
        :attr:`dtype` the generator computes in.
        """
        mel = mel.to(self.dtype)
        frames = mel.shape[-1]
        if frames <= chunk_frames:
            out: Tensor = self(mel)
            return out.float()
        state: Stream = {}
        parts = [
            self(mel[:, :, i : i + chunk_frames], state) for i in range(0, frames, chunk_frames)
        ]
        return torch.cat(parts, dim=-1).float()


class _Polyphase:
    """Nearest upsampling by ``s`` then a causal conv, computed at the low rate.

    Output sample ``q*s + p`` only sees a few distinct input samples (the kernel spans
    ``k`` upsampled samples), so the taps of each phase ``p`` that read the same input
    sample are summed once: one conv with ``s`` phase groups of ``K = ceil-ish(k/s)+1``
    taps instead of ``k`` taps at ``s`` times the rate (2/7 of the work for s=10, k=7).
    Exact up to float rounding (summed weights).
    """

    def __init__(self, conv: nn.Conv1d, scale: int) -> None:
        w = conv.weight.detach().double()
        c_out, c_in, k = w.shape
        o_min = -((k - 1 + scale - 1) // scale)  # floor(-(k-1)/s)
        taps = -o_min + 1
        poly = torch.zeros(scale, c_out, c_in, taps, dtype=torch.float64)
        for p in range(scale):
            for j in range(k):
                offset = (p - (k - 1) + j) // scale
                poly[p, :, :, offset - o_min] += w[:, :, j]
        self.weight = poly.reshape(scale * c_out, c_in, taps).float().contiguous()
        bias = conv.bias.detach() if conv.bias is not None else torch.zeros(c_out)
        self.bias = bias.repeat(scale).contiguous()
        self.scale = scale
        self.c_out = c_out
        self.pad = taps - 1

    def __call__(self, a: Tensor, state: Stream | None) -> Tensor:
        if state is None:
            x = F.pad(a, (self.pad, 0))
        else:
            prev = state.get(id(self))
            if prev is None:
                prev = a.new_zeros((a.shape[0], a.shape[1], self.pad))
            x = torch.cat([prev, a], dim=-1)
            state[id(self)] = x[:, :, -self.pad :].clone()
        y = F.conv1d(x, self.weight, self.bias)  # [B, s*C, T]: phase-major channels
        b, _, t = y.shape
        return (
            y.view(b, self.scale, self.c_out, t)
            .permute(0, 2, 3, 1)
            .reshape(b, self.c_out, t * self.scale)
        )


def _inference(block: nn.Module, x: Tensor, state: Stream | None) -> Tensor:
    # inference_mode is thread-local: enter it in the worker too.
    with torch.inference_mode():
        out: Tensor = block(x, state)
        return out


def fuse_weight_norm(state: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Replace ``weight_g``/``weight_v`` (or parametrization) pairs by the fused weight."""
    out: dict[str, Tensor] = {}
    pairs: dict[str, dict[str, Tensor]] = {}
    for key, value in state.items():
        for suffix, part in (
            (".weight_g", "g"),
            (".weight_v", "v"),
            (".parametrizations.weight.original0", "g"),
            (".parametrizations.weight.original1", "v"),
        ):
            if key.endswith(suffix):
                pairs.setdefault(key[: -len(suffix)], {})[part] = value
                break
        else:
            out[key] = value
    for prefix, gv in pairs.items():
        if set(gv) != {"g", "v"}:
            # Leave the half pair in place: the strict key check then names it.
            out.update({f"{prefix}.weight_{k}": t for k, t in gv.items()})
            continue
        g, v = gv["g"].float(), gv["v"].float()
        dims = tuple(range(1, v.dim()))
        out[prefix + ".weight"] = v * (g / v.norm(2, dim=dims, keepdim=True))
    return out
