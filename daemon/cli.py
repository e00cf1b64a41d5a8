"""The `voice-daemon` command line: parses arguments and hands settings to the commands."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from daemon import __version__
from daemon.settings import ConfigError, Settings, load_settings, override

DEFAULT_CONFIG = Path("/etc/voice-daemon/voice-daemon.yaml")


def _config_path(value: str | None) -> Path | None:
    if value:
        return Path(value)
    env = os.environ.get("VOICE_DAEMON_CONFIG")
    if env:
        return Path(env)
    return DEFAULT_CONFIG if DEFAULT_CONFIG.exists() else None


def _add_engine_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("engine (override the config)")
    group.add_argument("--engine", choices=["fastspeech2", "sambert", "tone"])
    group.add_argument("--model", help="sambert: ModelScope model id or local model directory")
    group.add_argument("--voice", help="voice name (see `voice-daemon voices`)")
    group.add_argument("--threads", type=int, help="threads per synthesis")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="voice-daemon",
        description="Speak Chinese announcements received over MQTT through the sound card.",
    )
    parser.add_argument("--version", action="version", version=f"voice-daemon {__version__}")
    parser.add_argument(
        "-c",
        "--config",
        help=f"YAML config (default: $VOICE_DAEMON_CONFIG, else {DEFAULT_CONFIG} if present)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run the daemon")
    _add_engine_flags(run)

    say = commands.add_parser(
        "say", help="publish a request to a running daemon and print its events until it ends"
    )
    say.add_argument("text", help="what to say")
    say.add_argument(
        "--node", help="target node (default: this config's node; 'all' for every node)"
    )
    say.add_argument("--id", help="request id (default: generated)")
    say.add_argument("--emotion")
    say.add_argument("--voice")
    say.add_argument("--speed", type=float)
    say.add_argument("--volume", type=float)
    say.add_argument("--priority", choices=["low", "normal", "high", "critical"])
    say.add_argument("--interrupt", action="store_true")
    say.add_argument("--ttl", type=float)
    say.add_argument("--chime", help="a configured chime to play first, or 'none' for no chime")
    say.add_argument(
        "--no-cache", action="store_true", help="synthesize afresh (not from the phrase cache)"
    )
    say.add_argument(
        "--timeout",
        type=float,
        default=120.0,
        help="seconds to wait for the request to finish (default 120)",
    )

    synth = commands.add_parser("synth", help="synthesize text to a WAV file (no MQTT)")
    synth.add_argument("text", nargs="?", help="text to speak (or use --symbols)")
    synth.add_argument("-o", "--output", required=True, help="WAV file to write")
    synth.add_argument("--emotion")
    synth.add_argument("--speed", type=float, default=1.0)
    synth.add_argument("--volume", type=float, default=1.0)
    synth.add_argument(
        "--symbols", help="sambert: a file of KAN-TTS symbol lines, one sentence per line"
    )
    _add_engine_flags(synth)

    text = commands.add_parser("text", help="show how text is normalized, split and read (pinyin)")
    text.add_argument("text")
    text.add_argument("--json", action="store_true", help="machine-readable output")

    voices = commands.add_parser("voices", help="list the engine's voices and emotions (JSON)")
    _add_engine_flags(voices)
    commands.add_parser("devices", help="list sound output devices")
    commands.add_parser("check-config", help="validate the config and print it resolved")

    bench = commands.add_parser("bench", help="measure load time, speed and memory (JSON)")
    bench.add_argument("--quick", action="store_true", help="a short run (under a minute)")
    bench.add_argument("-o", "--output", help="write the JSON here instead of stdout")
    bench.add_argument(
        "--engines",
        help="comma-separated engines (default: every installed; --quick: the configured one)",
    )
    bench.add_argument(
        "--no-daemon", action="store_true", help="engines only (no broker, daemon or sound rig)"
    )
    _add_engine_flags(bench)
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    settings = load_settings(_config_path(args.config))
    if (
        getattr(args, "engine", None)
        or getattr(args, "model", None)
        or getattr(args, "voice", None)
        or getattr(args, "threads", None)
    ):
        settings = override(
            settings,
            "engine",
            name=args.engine,
            model=args.model,
            voice=args.voice,
            threads=args.threads,
        )
    return settings


def _log_stream() -> TextIO:
    """stderr through a file descriptor of its own: sounddevice points fd 2 at /dev/null
    while PortAudio initialises (to hide ALSA's chatter), which would swallow log lines
    written from other threads meanwhile."""
    try:
        return os.fdopen(
            os.dup(sys.stderr.fileno()),
            "w",
            buffering=1,
            encoding="utf-8",
            errors="backslashreplace",
        )
    except (OSError, ValueError):
        return sys.stderr


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
        stream=_log_stream(),
    )
    from daemon import commands  # noqa: PLC0415 (keeps --help fast)

    try:
        if args.command == "text":
            return commands.text(args.text, as_json=args.json)
        settings = _settings(args)
        if not args.verbose:
            logging.getLogger().setLevel(settings.log_level)
        return commands.dispatch(args, settings)
    except ConfigError as error:
        print(f"voice-daemon: config error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
