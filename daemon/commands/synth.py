"""`voice-daemon synth`: text (or sambert symbol lines) to a WAV file, without MQTT."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import soundfile

from daemon.engines import EngineError, create_engine
from daemon.settings import Settings
from daemon.text import normalize, split_sentences


def synth(args: argparse.Namespace, settings: Settings) -> int:
    if (args.text is None) == (args.symbols is None):
        print("voice-daemon synth: give either TEXT or --symbols FILE", file=sys.stderr)
        return 2
    if not 0.5 <= args.speed <= 2.0:
        print(f"voice-daemon synth: --speed must be 0.5-2.0, got {args.speed}", file=sys.stderr)
        return 2
    if not 0.0 <= args.volume <= 1.0:
        print(f"voice-daemon synth: --volume must be 0-1, got {args.volume}", file=sys.stderr)
        return 2
    try:
        engine = create_engine(settings.engine, settings.cache_dir)
        engine.load()
        voice = settings.engine.voice or engine.default_voice()
        if args.symbols is not None:
            synthesize_symbols = getattr(engine, "synthesize_symbols", None)
            if synthesize_symbols is None:
                print(
                    f"voice-daemon synth: --symbols needs the sambert engine, not {engine.name}",
                    file=sys.stderr,
                )
                return 2
            lines = [
                line.strip()
                for line in Path(args.symbols).read_text(encoding="utf-8").splitlines()
                if line.strip()
            ]
            audio = synthesize_symbols(lines, voice=voice)
        else:
            emotion = args.emotion or settings.engine.emotion
            normalized = normalize(args.text)
            if normalized.dropped:
                print(f"not readable (skipped): {' '.join(normalized.dropped)}", file=sys.stderr)
            pieces = [
                engine.synthesize(sentence, voice=voice, emotion=emotion, speed=args.speed)
                for sentence in split_sentences(
                    normalized.text, max_chars=settings.synthesis.max_sentence_chars
                )
            ]
            if not pieces:
                print("voice-daemon synth: nothing in the text can be read aloud", file=sys.stderr)
                return 1
            audio = np.concatenate(pieces)
    except EngineError as error:
        print(f"voice-daemon synth: {error.code}: {error.message}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"voice-daemon synth: {error}", file=sys.stderr)
        return 1
    samples = np.clip(np.asarray(audio, dtype=np.float32) * args.volume, -1.0, 1.0)
    soundfile.write(args.output, samples, engine.sample_rate, subtype="PCM_16")
    print(
        f"wrote {args.output}: {samples.size / engine.sample_rate:.2f} s at "
        f"{engine.sample_rate} Hz",
        file=sys.stderr,
    )
    return 0
