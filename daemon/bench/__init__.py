"""`voice-daemon bench`: how fast, how heavy, as JSON (stdout or -o), a summary on stderr.

Two parts, run one after the other so they don't disturb each other:

- engines (:mod:`daemon.bench.engine`): for every installed engine (``--quick``: the
  configured one), load time, warm-up, real-time factor at 10/50/200 characters and peak
  RSS, each engine in a fresh subprocess so the memory is its own;
- the daemon (:mod:`daemon.bench.daemon`): the real daemon through a private mosquitto and
  real PortAudio devices: time to first audio (cached phrase, uncached sentence, uncached
  200-character announcement) against the same announcements with streaming disabled,
  start-up, throughput, idle CPU and memory over many requests.

``targets`` compares the figures with the latency budget (issue 5); they are reported,
not enforced.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from daemon.settings import Settings

#: The latency budget for an embedded voice on a 2-core machine.
TARGETS = {
    "cached_phrase_p50_ms": 30.0,
    "uncached_sentence_p50_ms": 250.0,
    "streaming_gain_200_chars": 5.0,
    "idle_cpu_percent": 1.0,
    "rss_growth_mb": 10.0,
}


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
        "--precision",
        settings.engine.precision,
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


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    cpu = platform.processor() or "unknown"
    with_name = Path("/proc/cpuinfo")
    if with_name.exists():
        for line in with_name.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(memory_gb, 1),
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def targets(daemon: dict[str, Any]) -> dict[str, dict[str, Any]]:
    first = daemon["first_audio_ms"]
    figures = {
        "cached_phrase_p50_ms": first["cached_phrase"]["p50"],
        "uncached_sentence_p50_ms": first["uncached_sentence"]["p50"],
        "streaming_gain_200_chars": first["gain"]["uncached_200_chars"],
        "idle_cpu_percent": daemon["idle"]["cpu_percent_of_a_core"],
        "rss_growth_mb": daemon["memory"]["rss_growth_mb"],
    }
    return {
        name: {
            "value": value,
            "target": TARGETS[name],
            "met": value >= TARGETS[name]
            if name.startswith("streaming_gain")
            else value <= TARGETS[name],
        }
        for name, value in figures.items()
    }


def bench(args: argparse.Namespace, settings: Settings) -> int:
    began = time.monotonic()
    if args.engines:
        engines = args.engines.split(",")
    elif args.quick:
        engines = [settings.engine.name]
    else:
        engines = _installed_engines()
    report: dict[str, Any] = {"quick": bool(args.quick), "machine": machine(), "engines": []}
    ok = True
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
            ok = ok and "error" not in result
            _summary(result)
        if not args.no_daemon:
            from daemon.bench.daemon import bench_daemon  # noqa: PLC0415

            try:
                report["daemon"] = bench_daemon(settings, Path(scratch) / "daemon", args.quick)
                report["targets"] = targets(report["daemon"])
                _daemon_summary(report["daemon"], report["targets"])
            except Exception as error:
                ok = False
                report["daemon"] = {"error": f"{type(error).__name__}: {error}"}
                print(f"daemon: FAILED {report['daemon']['error']}", file=sys.stderr)
    report["machine"]["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    report["seconds"] = round(time.monotonic() - began, 1)
    print(f"bench took {report['seconds']:.0f} s", file=sys.stderr)
    text = json.dumps(report, indent=2, ensure_ascii=False)
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
    else:
        print(text)
    return 0 if ok else 1


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


def _daemon_summary(daemon: dict[str, Any], checks: dict[str, dict[str, Any]]) -> None:
    first = daemon["first_audio_ms"]
    off = first["streaming_disabled"]

    def line(figures: dict[str, Any]) -> str:
        return f"p50 {figures['p50']:.0f} ms, p95 {figures['p95']:.0f} ms (n={figures['n']})"

    lines = [
        f"daemon: online {daemon['startup']['online_s']:.2f} s and ready "
        f"{daemon['startup']['ready_s']:.2f} s after start",
        f"  first audio, cached phrase:         {line(first['cached_phrase'])}",
        f"  first audio, uncached sentence:     {line(first['uncached_sentence'])}",
        f"    streaming disabled:               {line(off['uncached_sentence'])}",
        f"  first audio, uncached 200 chars:    {line(first['uncached_200_chars'])}",
        f"    streaming disabled:               {line(off['uncached_200_chars'])}",
        f"    gain: {first['gain']['uncached_200_chars']:.1f}x sooner "
        f"(one sentence: {first['gain']['uncached_sentence']:.2f}x)",
        f"  throughput: {daemon['throughput']['requests']} short requests in "
        f"{daemon['throughput']['wall_s']:.1f} s ({daemon['throughput']['requests_per_s']:.1f}/s)",
        f"  idle CPU over {daemon['idle']['seconds']:.0f} s: "
        f"{daemon['idle']['cpu_percent_of_a_core']:.2f}% of a core",
        f"  RSS over {daemon['memory']['requests']} requests: "
        f"{daemon['memory']['rss_before_mb']:.0f} -> {daemon['memory']['rss_after_mb']:.0f} MB "
        f"({daemon['memory']['rss_growth_mb']:+.1f} MB)",
        "  targets: "
        + ", ".join(
            f"{name} {check['value']} ({'met' if check['met'] else 'MISSED'} {check['target']})"
            for name, check in checks.items()
        ),
    ]
    print("\n".join(lines), file=sys.stderr)
