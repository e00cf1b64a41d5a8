"""Chimes: the generated default, files from the config, which chime a request gets."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile

from daemon.audio.chimes import ChimeError, Chimes, generate_default, read_chime
from daemon.request import Rejected, SayRequest, parse_say
from daemon.settings import ChimeSettings, ConfigError, settings_from_dict


def test_the_default_chime_is_generated_audible_and_clean() -> None:
    chime = generate_default(16000)
    assert chime.dtype == np.float32 and 0.5 < chime.size / 16000 < 1.0
    assert np.max(np.abs(chime)) == pytest.approx(0.5, abs=1e-3)
    assert abs(chime[0]) < 0.01 and abs(chime[-1]) < 1e-3  # no click at either end
    assert np.array_equal(chime, generate_default(16000))  # deterministic
    assert generate_default(48000).size == pytest.approx(3 * chime.size, abs=3)


def test_files_are_read_as_mono_at_the_engine_rate(tmp_path: Path) -> None:
    stereo = np.stack([np.full(800, 0.2), np.full(800, 0.4)], axis=1)
    path = tmp_path / "bell.wav"
    soundfile.write(path, stereo, 8000, subtype="FLOAT")
    chime = read_chime(path, 16000)
    assert chime.size == 1600
    assert np.allclose(chime[200:1400], 0.3, atol=0.02)
    with pytest.raises(ChimeError, match="cannot read"):
        read_chime(tmp_path / "missing.wav", 16000)


def test_which_chime_a_request_gets(tmp_path: Path) -> None:
    path = tmp_path / "door.wav"
    soundfile.write(path, np.full(400, 0.1, np.float32), 16000)
    settings = ChimeSettings(
        critical="default",
        high="door",
        files={"door": str(path), "broken": str(tmp_path / "nope.wav")},
    )
    chimes = Chimes.load(settings, 16000)
    assert chimes.names == ["default", "door"]  # the unreadable one is left out
    assert not chimes.known("broken")
    pick = chimes.for_request
    assert pick(SayRequest("a", "x", priority="normal")) is None
    assert pick(SayRequest("a", "x", priority="critical"))[0] == "default"  # type: ignore[index]
    assert pick(SayRequest("a", "x", priority="high"))[0] == "door"  # type: ignore[index]
    assert pick(SayRequest("a", "x", priority="high", chime=False)) is None
    assert pick(SayRequest("a", "x", chime="door"))[0] == "door"  # type: ignore[index]
    clip = np.zeros(10, np.float32)
    assert pick(SayRequest("a", "", priority="critical", audio=clip)) is None
    assert pick(SayRequest("a", "", audio=clip, chime="default"))[0] == "default"  # type: ignore[index]


def test_the_chime_field_of_say() -> None:
    def chime(value: object) -> object:
        payload = json.dumps({"text": "你好", "chime": value}).encode()
        return parse_say(payload, max_text_chars=100).chime

    assert chime("door") == "door"
    assert chime(False) is False
    assert chime(None) is None
    for bad in (True, 3, "", "x" * 65, "a\nb"):
        with pytest.raises(Rejected) as caught:
            chime(bad)
        assert caught.value.code == "invalid_field" and "chime" in caught.value.message


def test_configured_chime_names_are_checked() -> None:
    with pytest.raises(ConfigError, match=r"chimes\.critical: unknown chime 'bell'"):
        settings_from_dict({"chimes": {"critical": "bell"}})
    settings_from_dict({"chimes": {"critical": "bell", "files": {"bell": "/x.wav"}}})


def test_the_say_command_passes_a_chime() -> None:
    from daemon.cli import build_parser
    from daemon.commands.say import _request

    def sent(*flags: str) -> dict[str, object]:
        return _request(build_parser().parse_args(["say", "你好", *flags]), "r1")

    assert "chime" not in sent()
    assert sent("--chime", "door")["chime"] == "door"
    assert sent("--chime", "none")["chime"] is False
