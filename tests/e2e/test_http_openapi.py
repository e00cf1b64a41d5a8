"""The OpenAPI description checked against the running daemon's real answers (schemathesis:
generated valid and invalid requests; every answer must match the documented status codes,
content types and schemas, invalid input must be refused, the token must be required)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.http_rig import http_daemon
from tests.rig import AlsaCapture, Broker

pytestmark = [pytest.mark.e2e]

TOKEN_ENV = "VOICE_DAEMON_TEST_TOKEN"
TOKEN = "schemathesis-token"


def test_the_openapi_description_matches_the_real_answers(
    tmp_path: Path, broker: Broker, alsa: AlsaCapture
) -> None:
    config = {
        "engine": {"name": "tone"},  # fast: the point is the API, not the voice
        "audio": {"device": alsa.device},
        "queue": {"max_text_chars": 40, "max_length": 20},
    }
    env = {**alsa.env(), TOKEN_ENV: TOKEN}
    http = {"token_env": TOKEN_ENV}
    with http_daemon(tmp_path, broker, config=config, env=env, http=http, token=TOKEN) as (
        daemon,
        _,
        client,
    ):
        report = tmp_path / "schemathesis"
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "schemathesis.cli",
                "run",
                f"http://127.0.0.1:{client.port}/api/openapi.json",
                "--header",
                f"Authorization: Bearer {TOKEN}",
                "--checks",
                "all",
                # Text the schema allows can still be refused on meaning (nothing readable,
                # an id already used, a full queue): documented 4xx answers, not bugs.
                "--exclude-checks",
                "positive_data_acceptance",
                # An endless live stream; tested in test_http_api.
                "--exclude-path",
                "/api/events",
                "--max-examples",
                "60",
                "--seed",
                "20261124",
                "--generation-database",
                "none",
                "--request-timeout",
                "30",
                "--no-color",
                "--report",
                "junit",
                "--report-dir",
                str(report),
            ],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
        assert "No issues found" in done.stdout
        (junit,) = report.glob("*.xml")
        tested = set(re.findall(r'testcase name="([^"]+)"', junit.read_text()))
        assert tested == {
            "POST /api/say",
            "GET /api/requests/{id}",
            "POST /api/stop",
            "GET /api/state",
            "GET /api/voices",
            "POST /api/synth",
            "POST /api/text",
            "GET /healthz",
            "Stateful tests",
        }  # every operation but the live stream and the description itself
        assert daemon.alive()
        assert "Traceback" not in daemon.log()
