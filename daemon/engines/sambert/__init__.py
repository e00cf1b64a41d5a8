"""Sambert-HifiGan voices (ModelScope, KAN-TTS) on our own torch runtime.

Public API:

- :class:`SambertEngine` (``model``: a ModelScope id or a local model directory): the
  daemon's engine; :meth:`SambertEngine.synthesize_symbols` speaks KAN-TTS symbol lines
  directly (one line per sentence), :meth:`SambertEngine.synthesize_symbol_line` also
  returns the mel, durations and pitch.
- :func:`parse_ssml`: ``<speak><emotion category="happy">..</emotion></speak>`` ->
  ``[(emotion or None, text), ...]``, to call before normalization.
- :func:`~daemon.engines.sambert.testmodel.build_model_dir`: a random model directory in
  the official layout, for tests and benchmarks.

Modules: ``config`` (model directory layout), ``source`` (id or directory), ``params``
(typed hyper-parameters), ``checkpoint`` (safe, strict loading), ``ling_units``
(vocabularies, symbol-line encoding), ``phones`` (pinyin -> phones), ``symbols`` (our
frontend stage: analyzed words -> symbol lines), ``ssml``, ``am_layers`` / ``acoustic``
(SAMBERT), ``decoder`` (its autoregressive step loop), ``vocoder`` (HiFi-GAN), ``voice``
(one loaded voice), ``engine``.

Runtime choices (all exact: they change float rounding only, ~1e-6)
-------------------------------------------------------------------
- The mel decoder's step loop is numpy (framework overhead per tiny op dominated in
  torch), with the memory projected once, a key/value cache for past steps and attention
  restricted to the band the reference's masks leave open.
- Torch runs single-threaded and numpy's BLAS too (``threadpoolctl``): on 2 cores the
  per-op OpenMP/OpenBLAS hand-offs made the reference 5-10x slower whenever another
  process was busy. With ``threads >= 2`` one worker thread vocodes mel blocks while
  the acoustic model is still decoding (``pipeline``; the postnet is fed block by block,
  ``postnet_stream``); the frames left when it ends are cut in two, the worker's part
  starting from a fresh stream ``context_frames`` early (the vocoder's finite causal
  reach: its samples are exactly those of one stream). Lines under 4 s instead have
  the worker vocode their first chunk while decoding goes on, then share each chunk of
  the rest per stage (the polyphase upsampling conv and the last residual block on the
  worker). Each vocoder chunk, or
  part of one, is one TorchScript call, which runs without the GIL: eager ops on the
  worker waited for the numpy loop on the other thread op by op and slowed it down.
- The acoustic model's feed-forward convs run as matrix products (torch's generic conv
  path was ~10x slower on these shapes) and the duration predictor's LSTM one cell call
  per layer and step.
- The vocoder is causal, so it runs in 64-frame chunks carrying each conv's left
  context: activation memory stays bounded whatever the sentence length. Chunks come
  in two lengths only (a stream's last one is padded) and oneDNN's kernel cache is
  bounded (``engine.ONEDNN_CACHE_CAPACITY``): it compiles and keeps kernels per length.
  Its signals are channels-last rows (oneDNN skips its per-call reorders).
- Checkpoints are read with ``weights_only=True`` and memory-mapped, then copied into
  the model; the decoder's and the vocoder's module tensors are released once unpacked
  into their own loops; freed heap goes back to the OS after each line.

Measured (stock real-size architecture, random weights, this 2-core machine; ours by
``voice-daemon bench`` at 10/50/200 characters with the text frontend; the reference is
KAN-TTS run as modelscope does, torch and kantts only, no frontend)
---------------------------------------------------------------------------------------
==========================  ========================  ================================
                            ours                      reference
==========================  ========================  ================================
load (engine, 1 voice)      0.46-0.47 s + 0.52 s      1.7-2.3 s, not warmed up
                            warm-up
wall RTF, 2 threads         bf16 0.092-0.102 /        0.270-0.342 / 0.327-0.352 /
                            0.078-0.079 /             0.344-0.361 (three rounds in
                            0.078-0.083; float32      one hour alternating with ours,
                            0.149 / 0.113 / 0.115     which ran 0.091-0.092 /
                                                      0.077-0.083 / 0.079-0.083 there:
                                                      2.9-4.6x faster; doc 0.18 for
                                                      a 5 s line)
wall RTF, 1 thread          bf16 0.163 / 0.136 /      0.38-0.52
                            0.134
peak RSS, load + synth      441-458 MB bf16,          1075-1169 MB over the bench
                            494-519 MB float32        texts (ours 440-448 there),
                                                      600-645 MB on one 5 s line
==========================  ========================  ================================

About 1/3 of the CPU time is the acoustic model (its decoder's step loop: ~1.3 ms per
step of 3 frames), 2/3 the vocoder, which runs near this CPU's bf16 peak for its widest
convolutions.

Reduced precision (``engine.precision``, module ``precision``; not exact)
-------------------------------------------------------------------------
``bfloat16`` runs the vocoder's convolutions in bf16 through oneDNN: ~1.6x faster on
CPUs with native bf16 dot products (x86 ``avx512_bf16``/AMX, Arm ``bf16``); elsewhere
oneDNN emulates bf16 (no gain expected; not measured here), so ``auto`` (the default)
picks it only where it is native. The
acoustic model stays float32 (durations are rounded to whole frames: the audio keeps its
length). Measured against float32: 35.5 dB SNR on the real-size random model, 42.5-44.5
dB on the tiny model's golden lines (tests require 30 dB). The conformance tests run
``float32``, which still reproduces the reference to ~1e-6.

What was verified, and how
--------------------------
The KAN-TTS reference source (github alibaba-damo-academy/KAN-TTS, run outside this
repository with stubs for its training-only imports, loading exactly as modelscope's
``Voice`` does: ``ignore_mask=False``, AM ``strict=False``, vocoder weight norm removed)
was run on a model directory written by ``build_model_dir(size="tiny", seed=...)``, for
six symbol lines over two voices and five emotions. Its durations, postnet mel and
waveform are committed as ``tests/sambert/golden/reference_tiny.npz``, and our runtime
must reproduce them (durations exactly, mel and waveform within 1e-4; they agree to
~1e-6). This verifies, for the stock architecture at a small width:

- the state-dict names and shapes (the reference checked the builder's checkpoint keys
  against its own model before loading) and the weight-norm fusion;
- the vocabularies and id order, the symbol-line encoding (EOS handling);
- every inference step: text encoder, pitch/energy predictors, the autoregressive
  duration predictor and rounding, length regulation with in-token position encodings,
  low-frame-rate memory (group conditioning from its first frame), the banded PNCA
  decoder with our key/value cache, the postnet and the causal HiFi-GAN (also streamed in
  chunks of 1, 7 and 32 frames, and with the two-thread residual-block split).

A real-size random model (``size="real"``, the stock ``sambert_16k``/``hifigan_v1_16k``
shapes) and a tiny-model line longer than its position table (126 tokens, the table is
regenerated by formula) were also compared with the reference at the time of writing:
same durations, mel and waveform within 3e-6.

Only the real weights can verify: that the official checkpoints carry no keys beyond the
stock architecture (our strict load will name them if they do); that each voice's config
matches the stock options we support (no SE/NSF/FP/byte input); the audio quality of our
frontend's symbols (phones by rule, which reproduce KAN-TTS's py2phoneMap.txt entry for
entry, but prosody breaks by simple rules instead of the closed-source frontend's
predictor, erhua not merged); which emotions each real voice was trained on.
"""

from __future__ import annotations

from daemon.text.ssml import parse_ssml

from .engine import DEFAULT_EMO_EMOTIONS, SambertEngine
from .errors import ModelError, SymbolError

__all__ = ["DEFAULT_EMO_EMOTIONS", "ModelError", "SambertEngine", "SymbolError", "parse_ssml"]
