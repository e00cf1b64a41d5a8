"""The shipped systemd unit passes `systemd-analyze verify` and is hardened to an exposure
score of 2.5 or lower (`systemd-analyze security --offline=true`)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parents[2] / "systemd" / "voice-daemon.service"


@pytest.fixture
def unit(tmp_path: Path) -> Path:
    """The unit with ExecStart pointed at this checkout's interpreter (verify checks that
    the program exists)."""
    if shutil.which("systemd-analyze") is None:
        raise RuntimeError("systemd-analyze is missing: run the README's test command")
    text = UNIT.read_text()
    assert "ExecStart=/opt/voice-daemon/.venv/bin/voice-daemon " in text
    text = text.replace(
        "/opt/voice-daemon/.venv/bin/voice-daemon", f"{sys.executable} -m daemon.cli"
    )
    path = tmp_path / "voice-daemon.service"
    path.write_text(text)
    return path


def test_verify(unit: Path) -> None:
    done = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "voice-daemon.service" not in done.stderr, done.stderr


def test_security_exposure(unit: Path) -> None:
    done = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", "--no-pager", str(unit)],
        capture_output=True,
        text=True,
        check=False,
    )
    match = re.search(r"Overall exposure level for voice-daemon\.service: ([0-9.]+)", done.stdout)
    assert match, done.stdout + done.stderr
    score = float(match.group(1))
    print(f"systemd-analyze security exposure: {score}")
    assert score <= 2.5


def test_service_essentials() -> None:
    text = UNIT.read_text()
    for line in (
        "Type=notify",
        "WatchdogSec=",
        "Restart=on-failure",
        "User=voice-daemon",
        "SupplementaryGroups=audio",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "PrivateTmp=yes",
    ):
        assert line in text, line
