"""Which float type the vocoder computes in: ``engine.precision`` resolved for this CPU.

bfloat16 convolutions (oneDNN) are ~1.6x faster than float32 on CPUs with native bf16
dot products (x86 ``avx512_bf16`` or AMX, Arm ``bf16``); elsewhere oneDNN emulates them
(no gain expected, not measured here), so ``auto`` only picks bfloat16 where native.
"""

from __future__ import annotations

import logging
import platform
from pathlib import Path

import torch

from daemon.settings import PRECISIONS

logger = logging.getLogger(__name__)


#: /proc/cpuinfo flags (x86 ``flags``, Arm ``Features``) of native bf16 dot products.
_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16", "bf16"})

_DTYPES: dict[str, torch.dtype] = {"float32": torch.float32, "bfloat16": torch.bfloat16}


def cpu_flags(cpuinfo: str | None = None) -> frozenset[str]:
    """The first CPU's feature flags from ``/proc/cpuinfo`` text (empty if unreadable)."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return frozenset()
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return frozenset()


def native_bf16(flags: frozenset[str] | None = None) -> bool:
    """Whether this CPU computes bf16 dot products natively and oneDNN is available."""
    if flags is None:
        flags = cpu_flags()
    # bf16 convolutions go through oneDNN (mkldnn); torch leaves is_available untyped.
    return bool(flags & _BF16_FLAGS) and bool(torch.backends.mkldnn.is_available())  # type: ignore[no-untyped-call]


def resolve(precision: str, flags: frozenset[str] | None = None) -> torch.dtype:
    """``float32``/``bfloat16`` as asked; ``auto``: bfloat16 where native, else float32."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    if precision != "auto":
        return _DTYPES[precision]
    chosen = torch.bfloat16 if native_bf16(flags) else torch.float32
    logger.debug("precision auto on %s: %s", platform.machine(), chosen)
    return chosen


def dtype_name(dtype: torch.dtype) -> str:
    """``torch.bfloat16`` -> ``"bfloat16"``."""
    return str(dtype).removeprefix("torch.")
