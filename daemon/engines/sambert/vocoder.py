"""Our torch implementation of KAN-TTS's HiFi-GAN generator (inference only).

Parameter names match the official checkpoints after weight norm is fused: the
checkpoint's ``<conv>.weight_g`` / ``<conv>.weight_v`` pairs become ``<conv>.weight``
(``g * v / ||v||``, what ``remove_weight_norm`` computes) before the strict load.
"""

from __future__ import annotations

import functools
import logging
import math
import warnings
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from fractions import Fraction
from typing import NamedTuple, TypeVar, cast

import torch
import torch.nn.functional as F  # noqa: N812 - the torch idiom
from torch import Tensor, nn

from .params import VocoderParams

logger = logging.getLogger(__name__)

_T = TypeVar("_T")
_U = TypeVar("_U")

#: Carried context of a chunked run (see :func:`_generator`); an empty list starts one.
Stream = list[Tensor]

#: Chunk lengths are multiples of this where they can be: oneDNN compiles and caches conv
#: kernels for every new input length, 3-8 MB per length for the stock vocoder, and a
#: stream's last chunk is padded up to one (see :meth:`HifiGanGenerator.stream`). With
#: 64-frame chunks the vocoder runs at two lengths only.
CHUNK_STEP = 32


class CausalConv1d(nn.Module):
    """A conv padded on the left only, as KAN-TTS's causal vocoder does (weights only:
    :func:`_generator` computes it)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, dilation: int = 1) -> None:
        super().__init__()
        self.pad = (kernel - 1) * dilation
        self.conv1d = nn.Conv1d(c_in, c_out, kernel, dilation=dilation)


class CausalConvTranspose1d(nn.Module):
    """A transposed conv whose overhang past its input goes to the next chunk."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int) -> None:
        super().__init__()
        self.deconv = nn.ConvTranspose1d(c_in, c_out, kernel, stride)


class ResidualBlock(nn.Module):
    """Pairs of convs: dilated, then plain."""

    def __init__(self, channels: int, kernel: int, dilations: tuple[int, ...]) -> None:
        super().__init__()
        self.convs1 = nn.ModuleList(
            [CausalConv1d(channels, channels, kernel, d) for d in dilations]
        )
        self.convs2 = nn.ModuleList([CausalConv1d(channels, channels, kernel) for _ in dilations])


class HifiGanGenerator(nn.Module):
    """Mel ``[1, num_mels, frames]`` -> waveform ``[1, 1, frames * hop]`` in [-1, 1]."""

    def __init__(self, p: VocoderParams) -> None:
        super().__init__()
        if not p.causal:
            # Non-causal KAN-TTS convs pad symmetrically; only the causal stock config is
            # verified against the reference.
            raise NotImplementedError("non-causal HiFi-GAN")
        self.p = p
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
                self.conv_blocks.append(ResidualBlock(c_out, rk, dil))
        self.conv_post = CausalConv1d(ch // 2 ** len(p.upsample_scales), p.out_channels, k)
        self.context = context_frames(p)
        """Frames of mel back that a frame's waveform depends on (:func:`context_frames`)."""
        self._program: _Program | None = None

    def forward(
        self, mel: Tensor, state: Stream | None = None, pool: ThreadPoolExecutor | None = None
    ) -> Tensor:
        """The whole mel at once, or one chunk of a stream (``state``, empty at its
        start, carries each layer's context to the next chunk). With a ``pool`` (one
        worker), each stage's residual blocks run on two threads (:meth:`_split`)."""
        if self._program is None:
            raise RuntimeError("HifiGanGenerator.prepare() was not called")
        prog = self._program
        mel = mel.to(prog.weights[0].dtype)
        if pool is not None and len(prog.block_sizes) > 1:
            out, carried = self._split(mel, state or prog.zeros, pool)
        else:
            out, carried = _script().generator(
                mel, state or prog.zeros, prog.weights, prog.biases, prog.dilations,
                prog.strides, prog.block_sizes, self.p.negative_slope,
            )  # fmt: skip
        if state is not None:
            state[:] = carried
        return out

    def _split(
        self, mel: Tensor, context: list[Tensor], pool: ThreadPoolExecutor
    ) -> tuple[Tensor, list[Tensor]]:
        """:func:`_generator` on two threads, stage by stage: the upsampling's polyphase
        conv (about as much work as its transposed conv) and the last residual block
        (the longest kernel: ~half the blocks' work in the stock config) run on the
        worker, the rest here. Same operations in the same order: the same result."""
        prog = cast(_Program, self._program)
        script, slope = _script(), self.p.negative_slope
        layers = (context, prog.weights, prog.biases, prog.dilations)
        *mine, theirs = prog.block_sizes
        x, carried = script.head(mel, context, prog.weights, prog.biases)
        i = 1
        for scale in prog.strides:
            a = script.activate(x, slope)
            if prog.dilations[i + 1] < 0:  # a polyphase conv beside the transposed one
                (up, tails), (rep, rep_tails) = beside(
                    pool,
                    functools.partial(script.transposed, a, *layers[:3], i, scale),
                    functools.partial(script.repeated, a, *layers[:3], i + 1, scale),
                )
                x = rep + up[:, :, :, : rep.shape[-1]]
                tails = tails + rep_tails
            else:
                x, tails = script.transposed(a, *layers[:3], i, scale)
            carried.extend(tails)
            i += len(tails)
            (total, tails), (h, their_tails) = beside(
                pool,
                functools.partial(script.residual_blocks, x, *layers, i, mine, slope),
                functools.partial(script.residual_block, x, *layers, i + sum(mine), theirs, slope),
            )
            carried.extend(tails + their_tails)
            i += sum(prog.block_sizes)
            x = (total + h) / len(prog.block_sizes)
        out, tails = script.tail_conv(x, *layers, i)
        carried.extend(tails)
        return out, carried

    def prepare(self, dtype: torch.dtype = torch.float32) -> None:
        """Gather the weights in the order :func:`_generator` uses them, computing in
        ``dtype`` (float32, or bfloat16 on CPUs with native bf16 dot products). Call once,
        after loading the weights: the program keeps its own (channels-last) copies and
        the module's tensors are released (the module tree still names them, empty).
        Compiles the script now, on one thread (warnings filters and the cache are not
        thread-safe)."""
        if self._program is not None:
            raise RuntimeError("HifiGanGenerator.prepare() called twice")
        _script()
        self._program = _Program.of(self, dtype)
        with torch.no_grad():
            for param in self.parameters():
                param.data = param.data.new_empty(0)

    @property
    def dtype(self) -> torch.dtype:
        """The float type the generator computes in."""
        return self._program.weights[0].dtype if self._program else torch.float32

    def stream(
        self,
        mel: Tensor,
        chunk_frames: int,
        state: Stream | None = None,
        *,
        ends: bool = False,
        pool: ThreadPoolExecutor | None = None,
    ) -> Tensor:
        """Same output as :meth:`forward`, computed at most ``chunk_frames`` at a time.

        Every layer is causal, so carrying each conv's left context (and each transposed
        conv's overhang) from chunk to chunk reproduces the whole-utterance result with
        no recomputation, while activations only ever hold one chunk: memory stays
        bounded however long the sentence. ``state`` continues an earlier part of the
        same stream (and is updated); without it the stream starts here. ``ends``: no
        chunk follows, so the last one is padded with zeros (which only later samples
        could hear) to a multiple of :data:`CHUNK_STEP`, a length whose compiled kernels
        are already cached. Takes and returns float32 whatever :attr:`dtype` the
        generator computes in. ``pool``: each chunk on two threads (see :meth:`forward`).
        """
        if state is None:
            state = []
        frames = mel.shape[-1]
        if ends and chunk_frames >= CHUNK_STEP and frames % CHUNK_STEP:
            mel = F.pad(mel, (0, CHUNK_STEP - frames % CHUNK_STEP))
        size = chunk_frames
        parts = [self(mel[:, :, i : i + size], state, pool) for i in range(0, mel.shape[-1], size)]
        return torch.cat(parts, dim=-1)[:, :, : frames * self.p.hop_size].float()


def context_frames(p: VocoderParams) -> int:
    """Mel frames before a frame that its waveform still depends on (every layer causal).

    A stream started this many frames early, from zero context, therefore gives exactly
    the samples of the whole-utterance run from that frame on. Each layer's reach back
    in time adds up along the chain (the parallel residual blocks: the longest).
    """
    k = p.kernel_size
    reach = Fraction(k - 1)  # conv_pre, at the frame rate
    rate = 1
    for scale, up_k in zip(p.upsample_scales, p.upsample_kernel_sizes, strict=True):
        # Output n of the transposed conv reads inputs down to ceil((n - up_k + 1) / s);
        # nearest upsampling then a k-tap conv reads down to floor((n - k + 1) / s).
        back = max(up_k - 1, k - 1 + scale - 1 if p.repeat_upsample else 0)
        reach += Fraction(back, scale * rate)
        rate *= scale
        blocks = zip(p.resblock_kernel_sizes, p.resblock_dilations, strict=True)
        reach += Fraction(max(sum((rk - 1) * (d + 1) for d in dil) for rk, dil in blocks), rate)
    reach += Fraction(k - 1, rate)  # conv_post
    return math.ceil(reach)


@dataclass(frozen=True)
class _Program:
    """The generator's layers as flat lists, in :func:`_generator`'s order."""

    weights: list[Tensor]
    biases: list[Tensor]
    dilations: list[int]
    """Per conv; 0 marks a transposed conv (stride: :attr:`strides`), -s a polyphase
    conv of scale ``s``."""
    strides: list[int]
    block_sizes: list[int]
    """Per stage: the convs of each parallel residual block."""
    zeros: list[Tensor]
    """The context at the start of a stream."""

    @classmethod
    def of(cls, gen: HifiGanGenerator, dtype: torch.dtype) -> _Program:
        p = gen.p
        convs: list[tuple[Tensor, Tensor, int, int]] = []  # weight, bias, dilation, context

        def add(conv: CausalConv1d) -> None:
            c = conv.conv1d
            convs.append((c.weight, _bias(c.bias, c.out_channels), int(c.dilation[0]), conv.pad))

        reps = [cast(nn.Sequential, seq)[2] for seq in gen.repeat_upsamples]
        polys = [
            _polyphase(cast(CausalConv1d, rep).conv1d, scale)
            for rep, scale in zip(reps, p.upsample_scales, strict=False)
        ]
        add(gen.conv_pre)
        nk = len(p.resblock_kernel_sizes)
        ups = [cast(nn.Sequential, seq)[1] for seq in gen.transpose_upsamples]
        for i, scale in enumerate(p.upsample_scales):
            up = cast(CausalConvTranspose1d, ups[i]).deconv
            overhang = max(0, up.kernel_size[0] - scale)
            convs.append((up.weight, _bias(up.bias, up.out_channels), 0, overhang))
            if polys:
                w, b = polys[i]
                convs.append((w, b, -scale, w.shape[-1] - 1))
            for block in gen.conv_blocks[i * nk : (i + 1) * nk]:
                rb = cast(ResidualBlock, block)
                for c1, c2 in zip(rb.convs1, rb.convs2, strict=True):
                    add(cast(CausalConv1d, c1))
                    add(cast(CausalConv1d, c2))
        add(gen.conv_post)
        weights = [_rows(w.detach().to(dtype)) for w, _, _, _ in convs]
        # [1, c_in, 1, frames] for a conv; a transposed conv's overhang: [1, c_out, 1, frames].
        zeros = [
            _rows(w.new_zeros((1, w.shape[1], n)))
            for w, (_, _, _, n) in zip(weights, convs, strict=True)
        ]
        return cls(
            weights=weights,
            biases=[b.detach().to(dtype) for _, b, _, _ in convs],
            dilations=[d for _, _, d, _ in convs],
            strides=list(p.upsample_scales),
            block_sizes=[2 * len(d) for d in p.resblock_dilations],
            zeros=zeros,
        )


def _rows(t: Tensor) -> Tensor:
    """``[a, b, n]`` -> ``[a, b, 1, n]`` channels-last: oneDNN's bf16 convolutions run
    5-45% faster on this layout (measured; the narrower the channels, the more) than on
    plain 1-D signals, which it reorders on every call. Its kernels for it take more
    memory (~5x at 16 channels), which the vocoder's two chunk lengths keep small.
    """
    return t.unsqueeze(2).contiguous(memory_format=torch.channels_last)


def _bias(bias: Tensor | None, channels: int) -> Tensor:
    return bias if bias is not None else torch.zeros(channels)


def _polyphase(conv: nn.Conv1d, scale: int) -> tuple[Tensor, Tensor]:
    """Nearest upsampling by ``s`` then a causal conv, as one conv at the low rate.

    Output sample ``q*s + p`` only sees a few distinct input samples (the kernel spans
    ``k`` upsampled samples), so the taps of each phase ``p`` that read the same input
    sample are summed once: one conv with ``s`` phase groups of ``K = ceil-ish(k/s)+1``
    taps instead of ``k`` taps at ``s`` times the rate (2/7 of the work for s=10, k=7).
    Exact up to float rounding (summed weights). Output channels are phase-major.
    """
    w = conv.weight.detach().double()
    c_out, c_in, k = w.shape
    o_min = -((k - 1 + scale - 1) // scale)  # floor(-(k-1)/s)
    taps = -o_min + 1
    poly = torch.zeros(scale, c_out, c_in, taps, dtype=torch.float64)
    for p in range(scale):
        for j in range(k):
            offset = (p - (k - 1) + j) // scale
            poly[p, :, :, offset - o_min] += w[:, :, j]
    bias = _bias(conv.bias, c_out).detach()
    return poly.reshape(scale * c_out, c_in, taps).float(), bias.repeat(scale)


def _conv(x: Tensor, context: Tensor, weight: Tensor, bias: Tensor, dilation: int) -> Tensor:
    """Causal conv of ``x`` after its ``context`` frames (``[1, c, 1, frames]`` rows)."""
    return F.conv2d(torch.cat([context, x], -1), weight, bias, 1, 0, [1, dilation])


def _tail(x: Tensor, context: Tensor) -> Tensor:
    """The next chunk's context of a conv whose input is ``x`` after ``context``."""
    n = context.shape[-1]
    if n <= x.shape[-1]:
        return x[:, :, :, x.shape[-1] - n :].clone()  # not a view: frees the chunk
    return torch.cat([context, x], -1)[:, :, :, x.shape[-1] :].clone()


def _generator(  # noqa: PLR0917 - TorchScript functions take no keyword-only arguments
    mel: Tensor,
    context: list[Tensor],
    weights: list[Tensor],
    biases: list[Tensor],
    dilations: list[int],
    strides: list[int],
    block_sizes: list[int],
    slope: float,
) -> tuple[Tensor, list[Tensor]]:
    """The whole generator on one chunk ``[1, num_mels, frames]``: the layers of
    :class:`_Program` in order, each after its ``context`` (its last input frames in the
    previous chunk, zeros at the start: the causal padding; for a transposed conv, its
    overhang without bias). Signals are channels-last rows ``[1, c, 1, t]`` (see
    :func:`_rows`). Returns the waveform ``[1, 1, samples]`` and the next context.

    One TorchScript call: it runs without the GIL, which the acoustic model's numpy
    loop on the other thread holds most of the time (eager ops would wait for it, and
    interrupt it, op by op).
    """
    x, carried = _head(mel, context, weights, biases)
    i = 1
    for scale in strides:
        x, tails = _upsample(x, context, weights, biases, dilations, i, scale, slope)
        carried.extend(tails)
        i += len(tails)
        # The parallel residual blocks share their input; their mean, in order.
        total, tails = _residual_blocks(
            x, context, weights, biases, dilations, i, block_sizes, slope
        )
        carried.extend(tails)
        i += sum(block_sizes)
        x = total / len(block_sizes)
    out, tails = _tail_conv(x, context, weights, biases, dilations, i)
    carried.extend(tails)
    return out, carried


def _head(
    mel: Tensor, context: list[Tensor], weights: list[Tensor], biases: list[Tensor]
) -> tuple[Tensor, list[Tensor]]:
    """conv_pre on the mel chunk: its output and carried context."""
    x = mel.unsqueeze(2).contiguous(memory_format=torch.channels_last)
    tail = _tail(x, context[0])
    return _conv(x, context[0], weights[0], biases[0], 1), [tail]


def _upsample(  # noqa: PLR0917
    x: Tensor,
    context: list[Tensor],
    weights: list[Tensor],
    biases: list[Tensor],
    dilations: list[int],
    i: int,
    scale: int,
    slope: float,
) -> tuple[Tensor, list[Tensor]]:
    """A stage's upsampling, its layers from ``i`` on: output and carried contexts."""
    a = _activate(x, slope)
    up, carried = _transposed(a, context, weights, biases, i, scale)
    if i + 1 < len(dilations) and dilations[i + 1] < 0:
        rep, tails = _repeated(a, context, weights, biases, i + 1, scale)
        carried.extend(tails)
        return rep + up[:, :, :, : rep.shape[-1]], carried
    return up, carried


def _activate(x: Tensor, slope: float) -> Tensor:
    """The upsampling's input activation, as the reference: x + sin(x), then leaky ReLU."""
    return F.leaky_relu(torch.sin(x) + x, slope)


def _transposed(  # noqa: PLR0917
    a: Tensor,
    context: list[Tensor],
    weights: list[Tensor],
    biases: list[Tensor],
    i: int,
    scale: int,
) -> tuple[Tensor, list[Tensor]]:
    """The transposed conv ``i``: the previous chunk's overhang joins the start of its
    output, and its own overhang is carried."""
    up = F.conv_transpose2d(a, weights[i], biases[i], [1, scale])
    n = context[i].shape[-1]
    if n == 0:
        return up, [context[i]]
    up[:, :, :, :n].add_(context[i])
    tail = up[:, :, :, up.shape[-1] - n :] - biases[i][None, :, None, None]
    return up[:, :, :, : up.shape[-1] - n], [tail.clone()]


def _repeated(  # noqa: PLR0917
    a: Tensor,
    context: list[Tensor],
    weights: list[Tensor],
    biases: list[Tensor],
    i: int,
    scale: int,
) -> tuple[Tensor, list[Tensor]]:
    """Nearest upsampling then conv ``i``, as its polyphase conv at the low rate
    (leaky_relu commutes with nearest upsampling)."""
    tail = _tail(a, context[i])
    y = _conv(a, context[i], weights[i], biases[i], 1)
    # Channels-last, [1, s*c, 1, t] phase-major is already [1, c, 1, t*s] in memory.
    c_out, t = y.shape[1] // scale, y.shape[-1]
    rep = y.permute(0, 2, 3, 1).reshape(1, 1, t * scale, c_out).permute(0, 3, 1, 2)
    return rep, [tail]


def _residual_block(  # noqa: PLR0917
    x: Tensor,
    context: list[Tensor],
    weights: list[Tensor],
    biases: list[Tensor],
    dilations: list[int],
    i: int,
    size: int,
    slope: float,
) -> tuple[Tensor, list[Tensor]]:
    """One residual block, its ``size`` convs from ``i`` on: output and carried contexts."""
    carried: list[Tensor] = []
    h = x
    for _ in range(size // 2):
        a = F.leaky_relu(h, slope)
        carried.append(_tail(a, context[i]))
        b = F.leaky_relu(_conv(a, context[i], weights[i], biases[i], dilations[i]), slope)
        carried.append(_tail(b, context[i + 1]))
        h = _conv(b, context[i + 1], weights[i + 1], biases[i + 1], dilations[i + 1]) + h
        i += 2
    return h, carried


def _residual_blocks(  # noqa: PLR0917
    x: Tensor,
    context: list[Tensor],
    weights: list[Tensor],
    biases: list[Tensor],
    dilations: list[int],
    i: int,
    sizes: list[int],
    slope: float,
) -> tuple[Tensor, list[Tensor]]:
    """Parallel residual blocks of ``sizes`` convs from ``i`` on: the sum of their
    outputs, in order, and their carried contexts."""
    total = torch.zeros_like(x)
    carried: list[Tensor] = []
    for size in sizes:
        h, tails = _residual_block(x, context, weights, biases, dilations, i, size, slope)
        carried.extend(tails)
        i += size
        total = total + h
    return total, carried


def _tail_conv(  # noqa: PLR0917
    x: Tensor,
    context: list[Tensor],
    weights: list[Tensor],
    biases: list[Tensor],
    dilations: list[int],
    i: int,
) -> tuple[Tensor, list[Tensor]]:
    """conv_post: the waveform ``[1, 1, samples]`` and its carried context."""
    # The reference's final activation is F.leaky_relu's default slope (0.01).
    a = F.leaky_relu(x, 0.01)
    tail = _tail(a, context[i])
    out = torch.tanh(_conv(a, context[i], weights[i], biases[i], dilations[i]))
    return out.reshape(1, out.shape[1], -1), [tail]


class _Script(NamedTuple):
    """:func:`_generator` and its parts, compiled (or eager where TorchScript fails)."""

    generator: Callable[..., tuple[Tensor, list[Tensor]]]
    head: Callable[..., tuple[Tensor, list[Tensor]]]
    activate: Callable[..., Tensor]
    transposed: Callable[..., tuple[Tensor, list[Tensor]]]
    repeated: Callable[..., tuple[Tensor, list[Tensor]]]
    residual_block: Callable[..., tuple[Tensor, list[Tensor]]]
    residual_blocks: Callable[..., tuple[Tensor, list[Tensor]]]
    tail_conv: Callable[..., tuple[Tensor, list[Tensor]]]


@functools.cache
def _script() -> _Script:
    """:func:`_generator` and its parts, compiled on first use (eager if TorchScript is
    unavailable); the parts serve :meth:`HifiGanGenerator.forward` on two threads.

    TorchScript is deprecated in favour of torch.compile, which needs a C++ toolchain at
    run time; the pinned torch still has it, and its interpreter releases the GIL.
    """
    eager = _Script(
        _generator,
        _head,
        _activate,
        _transposed,
        _repeated,
        _residual_block,
        _residual_blocks,
        _tail_conv,
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return _Script(*(torch.jit.script(f) for f in eager))
    except Exception as exc:  # any failure: the same maths, eager
        logger.warning("TorchScript unavailable (%s): the vocoder runs eager", exc)
        return eager


def beside(
    pool: ThreadPoolExecutor, mine: Callable[[], _T], theirs: Callable[[], _U]
) -> tuple[_T, _U]:
    """``mine()`` on this thread while the worker runs ``theirs()``; both results."""
    worker = pool.submit(in_inference_mode, theirs)
    try:
        result = mine()
    except BaseException:
        wait([worker])  # it reads the same tensors
        raise
    return result, worker.result()


def in_inference_mode(function: Callable[[], _U]) -> _U:
    """``function()`` in inference mode: a worker task's wrapper (the mode is
    thread-local, so the caller's doesn't reach the worker)."""
    with torch.inference_mode():
        return function()


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
