"""The subcommands behind `voice-daemon`; each gets parsed arguments and settings."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from typing import Any

from pydantic import TypeAdapter

from daemon.settings import Settings


def dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "run":
        from daemon.app import run_daemon  # noqa: PLC0415

        code = asyncio.run(run_daemon(settings))
        # A worker thread hung inside an engine can't be joined; don't wait for it at exit.
        logging.shutdown()
        sys.stdout.flush()
        os._exit(code)
    if args.command == "say":
        from daemon.commands.say import say  # noqa: PLC0415

        return say(args, settings)
    if args.command == "synth":
        from daemon.commands.synth import synth  # noqa: PLC0415

        return synth(args, settings)
    if args.command == "bench":
        from daemon.bench import bench  # noqa: PLC0415

        return bench(args, settings)
    if args.command == "voices":
        return voices(settings)
    if args.command == "devices":
        return devices()
    if args.command == "check-config":
        return check_config(settings)
    raise AssertionError(args.command)


def _print_json(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2))


def text(value: str, *, as_json: bool) -> int:
    from daemon.text import describe, normalize  # noqa: PLC0415

    described = describe(value)
    if as_json:
        print(json.dumps(described, ensure_ascii=False))
        return 0
    print(f"normalized: {described['normalized']}")
    dropped = normalize(value).dropped
    if dropped:
        print(f"not readable (skipped): {' '.join(repr(char) for char in dropped)}")
    for number, (sentence, syllables) in enumerate(
        zip(described["sentences"], described["pinyin"], strict=True), start=1
    ):
        print(f"{number}. {sentence}")
        print(f"   {' '.join(syllables)}")
    return 0


def voices(settings: Settings) -> int:
    from daemon.engines import create_engine  # noqa: PLC0415

    engine = create_engine(settings.engine, settings.cache_dir)
    _print_json(
        {
            "engine": engine.name,
            "sample_rate": engine.sample_rate,
            "voices": {voice: engine.emotions(voice) for voice in engine.voices()},
            "default_voice": engine.default_voice(),
        }
    )
    return 0


def devices() -> int:
    from daemon.audio.device import list_output_devices  # noqa: PLC0415
    from daemon.audio.errors import AudioDeviceError  # noqa: PLC0415

    try:
        found = list_output_devices()
    except AudioDeviceError as error:
        print(f"voice-daemon: {error}", file=sys.stderr)
        return 1
    if not found:
        print("no output devices", file=sys.stderr)
        return 1
    for device in found:
        print(f"{device['index']:3d}  {device['name']}  ({device['default_samplerate']:.0f} Hz)")
    return 0


def check_config(settings: Settings) -> int:
    resolved = TypeAdapter(Settings).dump_python(settings, mode="json")
    resolved["mqtt"]["node_id"] = settings.node_id
    resolved["engine"]["cache_dir"] = str(settings.cache_dir)
    _print_json(resolved)
    print("config OK", file=sys.stderr)
    return 0
