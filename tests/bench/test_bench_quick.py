"""`voice-daemon bench --quick` as CI runs it: it completes, and its JSON holds every figure.

The figures are printed (the summary goes to the test's output), never asserted: they
depend on the machine and on what else it is doing.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.e2e]


def positive(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and value > 0


def number(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def check_percentiles(figures: dict[str, Any]) -> None:
    assert figures["n"] >= 1
    for name in ("p50", "p95", "min", "max"):
        assert positive(figures[name]), (name, figures)
    assert figures["min"] <= figures["p50"] <= figures["p95"] <= figures["max"]


def test_quick_bench_reports_every_figure(tmp_path: Path) -> None:
    config = tmp_path / "voice-daemon.yaml"
    config.write_text(yaml.safe_dump({"engine": {"cache_dir": str(tmp_path / "models")}}))
    output = tmp_path / "bench.json"
    began = time.monotonic()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "daemon.cli",
            "-c",
            str(config),
            "bench",
            "--quick",
            "-o",
            str(output),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    took = time.monotonic() - began
    print(done.stderr[-4000:])
    print(f"bench --quick took {took:.0f} s")
    assert done.returncode == 0, done.stderr[-4000:]
    report = json.loads(output.read_text())

    assert report["quick"] is True
    assert report["machine"]["cores"] >= 1 and report["machine"]["cpu"]
    (engine,) = report["engines"]
    assert engine["engine"] == "fastspeech2"
    for name in ("load_s", "warmup_s", "peak_rss_mb"):
        assert positive(engine[name]), (name, engine)
    assert sorted(engine["rtf"]) == ["10", "200", "50"]
    assert all(positive(value) for value in engine["rtf"].values())

    daemon = report["daemon"]
    assert positive(daemon["startup"]["online_s"]) and positive(daemon["startup"]["ready_s"])
    first = daemon["first_audio_ms"]
    for case in ("cached_phrase", "uncached_sentence", "uncached_200_chars"):
        check_percentiles(first[case])
    for case in ("uncached_sentence", "uncached_200_chars"):
        check_percentiles(first["streaming_disabled"][case])
        assert positive(first["gain"][case])
    assert first["uncached_200_chars"]["chars"] >= 190

    throughput = daemon["throughput"]
    assert throughput["requests"] == throughput["completed"] >= 1
    for name in ("wall_s", "requests_per_s", "audio_s", "audio_s_per_s"):
        assert positive(throughput[name]), (name, throughput)
    memory = daemon["memory"]
    assert memory["requests"] == memory["completed"] >= 1
    for name in ("rss_before_mb", "rss_after_mb", "peak_rss_mb", "wall_s"):
        assert positive(memory[name]), (name, memory)
    assert number(memory["rss_growth_mb"])
    assert positive(daemon["idle"]["seconds"])
    assert number(daemon["idle"]["cpu_percent_of_a_core"])
    assert daemon["idle"]["cpu_percent_of_a_core"] >= 0
    assert all(positive(rss) for rss in daemon["rss_mb"].values())

    assert set(report["targets"]) == {
        "cached_phrase_p50_ms",
        "uncached_sentence_p50_ms",
        "streaming_gain_200_chars",
        "idle_cpu_percent",
        "rss_growth_mb",
    }
    assert all(isinstance(check["met"], bool) for check in report["targets"].values())
