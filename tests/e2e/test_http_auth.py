"""A LAN binding needs the token: without it every endpoint but /healthz (and the page that
asks for it) answers 401. The config and start-up refuse what would be unsafe."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.e2e.http_rig import HttpClient, http_daemon
from tests.rig import REPO, Broker, free_port

pytestmark = [pytest.mark.e2e]

TOKEN = "s3cret-token-for-tests"


def test_lan_binding_answers_401_without_the_token(tmp_path: Path, broker: Broker) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    config = {
        "engine": {"name": "tone"},
        "audio": {"output": "wav_dir", "wav_dir": str(tmp_path / "wav")},
    }
    http = {"host": "0.0.0.0", "token_file": str(token_file)}
    with http_daemon(tmp_path, broker, config=config, env={}, http=http, token=TOKEN) as (
        daemon,
        _,
        client,
    ):
        assert "token required" in daemon.log()
        spec = client.get("/api/openapi.json").json()
        assert spec["security"] == [{"bearer": []}]
        anonymous = HttpClient(client.port)
        wrong = HttpClient(client.port, token="not-" + TOKEN)
        operations = [
            (method.upper(), path.replace("{id}", "some-id"))
            for path, item in spec["paths"].items()
            for method in item
        ]
        assert len(operations) == 10
        for method, path in [*operations, ("GET", "/api/not-a-route")]:
            if path == "/healthz":
                continue
            for who in (anonymous, wrong):
                answer = who.request(method, path, json_body={"text": "你好"})
                assert (answer.status, answer.code) == (401, "unauthorized"), (method, path)
                assert answer.headers["WWW-Authenticate"].startswith("Bearer")
            plain = anonymous.request(method, path, headers={"Authorization": TOKEN})
            assert plain.status == 401, (method, path)  # the token without "Bearer"
        assert anonymous.get("/healthz").json()["status"] == "ok"
        assert anonymous.get("/").status == 200  # the page, which asks for the token
        assert anonymous.get("/static/app.js").status == 200
        said = client.post("/api/say?wait=30", json_body={"text": "你好", "id": "ok-1"})
        assert said.status == 202 and said.json()["events"][-1]["result"] == "completed"
        assert client.get("/api/requests/ok-1").status == 200


def _config(tmp_path: Path, http: dict[str, object]) -> Path:
    path = tmp_path / "voice-daemon.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "mqtt": {"host": "127.0.0.1", "port": free_port()},
                "engine": {"name": "tone"},
                "audio": {"output": "wav_dir", "wav_dir": str(tmp_path / "wav")},
                "queue": {"journal": str(tmp_path / "journal.sqlite3")},
                "http": {"enabled": True, **http},
            }
        )
    )
    return path


def _cli(config: Path, command: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "daemon.cli", "-c", str(config), command],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_a_lan_binding_without_a_token_is_a_config_error(tmp_path: Path) -> None:
    config = _config(tmp_path, {"host": "0.0.0.0", "port": free_port()})
    for command in ("check-config", "run"):
        done = _cli(config, command)
        assert done.returncode == 2, done
        assert "http.host: listening on '0.0.0.0' (not a loopback address) needs a token" in (
            done.stderr
        )


def test_an_unreadable_token_or_a_busy_port_stops_the_start(tmp_path: Path) -> None:
    missing = _config(tmp_path, {"token_file": str(tmp_path / "nope"), "port": free_port()})
    done = _cli(missing, "run")
    assert done.returncode == 2
    assert "http.token_file: cannot read" in done.stderr
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = _cli(_config(tmp_path, {"port": port}), "run")
    assert done.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
