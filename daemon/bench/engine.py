"""One engine's numbers, measured in this (fresh) process; JSON on stdout."""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time
from pathlib import Path

from daemon.engines import create_engine
from daemon.settings import PRECISIONS, EngineSettings
from daemon.text import normalize, split_sentences

#: Everyday announcements of about 10, 50 and 200 characters.
TEXTS = {
    10: "洗衣机已经洗完了。",
    50: "明天是十二月一日，星期二，北京晴转多云，最高气温八度，最低气温零下二度，出门请注意保暖。",
    200: (
        "各位家庭成员请注意：由于小区管网维修，明天上午八点至下午六点将暂停供水，"
        "请提前储存好生活用水。给您带来的不便，敬请谅解。今天是星期三，日程安排如下："
        "上午九点开会，中午十二点和客户吃饭，下午两点到五点写报告，晚上七点去健身房。"
        "请合理安排时间，注意休息。空气净化器已切换到睡眠模式，室内空气质量良好，"
        "客厅温度二十六度，湿度百分之五十五，适合休息。"
    ),
}


def _peak_rss_mb() -> float:
    """This process's own peak RSS. VmHWM, not ru_maxrss: after fork+exec, ru_maxrss can
    still hold the parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", required=True)
    parser.add_argument("--model")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cache-dir", required=True)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--precision", choices=PRECISIONS, default="auto")
    args = parser.parse_args()
    engine = create_engine(
        EngineSettings(
            name=args.engine, model=args.model, threads=args.threads, precision=args.precision
        ),
        Path(args.cache_dir),
    )
    began = time.perf_counter()
    engine.load()
    load_s = time.perf_counter() - began
    voice = engine.default_voice()

    def run(text: str) -> tuple[float, float]:
        sentences = split_sentences(normalize(text).text, max_chars=60)
        began = time.perf_counter()
        samples = sum(
            engine.synthesize(s, voice=voice, emotion="neutral", speed=1.0).size for s in sentences
        )
        return time.perf_counter() - began, samples / engine.sample_rate

    began = time.perf_counter()
    run(TEXTS[10])
    warmup_s = time.perf_counter() - began
    repeats = 1 if args.quick else 5
    rtf = {}
    for length, text in TEXTS.items():
        ratios = [elapsed / audio for elapsed, audio in (run(text) for _ in range(repeats))]
        rtf[str(length)] = round(statistics.median(ratios), 4)
    print(
        json.dumps(
            {
                "engine": engine.name,
                "revision": engine.revision,
                "threads": args.threads,
                # Engines with a precision choice report what "auto" resolved to.
                "precision": getattr(engine, "precision", "float32"),
                "load_s": round(load_s, 3),
                "warmup_s": round(warmup_s, 3),
                "rtf": rtf,
                "repeats": repeats,
                "peak_rss_mb": round(_peak_rss_mb(), 1),
            }
        )
    )


if __name__ == "__main__":
    main()
