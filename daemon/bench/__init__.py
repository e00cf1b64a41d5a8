"""`voice-daemon bench`: load time, real-time factor and memory of every engine, as JSON.

Each engine is measured in its own subprocess (``python -m daemon.bench.engine``) so that
peak RSS belongs to that engine alone. A readable summary goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from daemon.settings import Settings


def _installed_engines() -> list[str]:
    engines = ["fastspeech2"]
    try:
        import torch  # noqa: F401, PLC0415

        engines.append("sambert")
    except ImportError:
        pass
    return engines


def _measure(engine: str, model: str | None, settings: Settings, quick: bool) -> dict[str, Any]:
    command = [
        sys.executable,
        "-m",
        "daemon.bench.engine",
        "--engine",
        engine,
        "--threads",
        str(settings.engine.threads),
        "--cache-dir",
        str(settings.cache_dir),
    ]
    if model:
        command += ["--model", model]
    if quick:
        command.append("--quick")
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"engine": engine, "error": done.stderr.strip().splitlines()[-1:] or ["failed"]}
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _sambert_model(settings: Settings, scratch: Path) -> tuple[str, str]:
    """The configured Sambert model, or a random one at the real architecture's size."""
    if settings.engine.name == "sambert" and settings.engine.model:
        return settings.engine.model, "configured"
    from daemon.engines.sambert.testmodel import build_model_dir  # noqa: PLC0415

    path = build_model_dir(scratch / "sambert-real", size="real", voices=["zhitian_emo"], seed=0)
    return str(path), "random weights, real architecture size"


def bench(args: argparse.Namespace, settings: Settings) -> int:
    engines = args.engines.split(",") if args.engines else _installed_engines()
    report: dict[str, Any] = {"quick": bool(args.quick), "engines": []}
    with tempfile.TemporaryDirectory(prefix="voice-daemon-bench-") as scratch:
        for engine in engines:
            model = None
            note = None
            if engine == "sambert":
                model, note = _sambert_model(settings, Path(scratch))
            elif engine == settings.engine.name:
                model = settings.engine.model
            result = _measure(engine, model, settings, args.quick)
            if note:
                result["model_note"] = note
            report["engines"].append(result)
            _summary(result)
    text = json.dumps(report, indent=2, ensure_ascii=False)
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
    else:
        print(text)
    return 0 if all("error" not in r for r in report["engines"]) else 1


def _summary(result: dict[str, Any]) -> None:
    if "error" in result:
        print(f"{result['engine']}: FAILED {result['error']}", file=sys.stderr)
        return
    rtfs = ", ".join(f"{k} chars {v:.3f}" for k, v in result["rtf"].items())
    print(
        f"{result['engine']}: load {result['load_s']:.2f} s, warm-up {result['warmup_s']:.2f} s, "
        f"RTF {rtfs}, peak RSS {result['peak_rss_mb']:.0f} MB",
        file=sys.stderr,
    )
