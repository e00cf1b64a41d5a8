"""Python code run in a fresh interpreter at the repository root (a clean module cache)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_python(
    code: str,
    *,
    stdin: str = "",
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[str]:
    """``python -c code``; raises if it exits non-zero. ``env`` replaces the environment."""
    return subprocess.run(
        [sys.executable, "-c", code],
        input=stdin,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=dict(os.environ if env is None else env),
        timeout=timeout,
    )
