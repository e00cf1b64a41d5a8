"""Tooling topics through the real daemon and broker (Zigbee2MQTT style request/response)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.rig import NODE, AlsaCapture, Broker, Watcher, running_daemon, wait_until

pytestmark = [pytest.mark.e2e]


def ask(watcher: Watcher, command: str, payload: Any = "") -> dict[str, Any]:
    topic = f"voice/{NODE}/response/{command}"
    before = len(watcher.on(topic))
    watcher.publish(f"voice/{NODE}/request/{command}", payload)
    message = wait_until(lambda: watcher.on(topic)[before:], 10, f"the answer to {command}")[0]
    assert not message.retain
    response: dict[str, Any] = json.loads(message.payload)
    return response


def test_voices_health_config_cache_and_errors(
    tmp_path: Path, broker: Broker, alsa: AlsaCapture
) -> None:
    secret = tmp_path / "password"
    secret.write_text("hunter2\n")
    config = {
        "engine": {"name": "tone", "emotion": "happy"},
        "audio": {"device": alsa.device},
        # Set but unused (no username, TLS and HTTP off): they only have to be hidden.
        "mqtt": {"password_file": str(secret), "tls": {"key_file": "/etc/ssl/private/x.key"}},
        "http": {"token_env": "VOICE_TOKEN"},
    }
    with running_daemon(tmp_path, broker, config=config, env=alsa.env()) as (_, watcher):
        voices = ask(watcher, "voices", {"transaction": "abc"})
        assert voices["status"] == "ok" and voices["transaction"] == "abc"
        assert voices["data"]["engine"] == "tone"
        assert "fastspeech2" in voices["data"]["engines"]
        assert voices["data"]["voices"] == [
            {"name": "beep", "emotions": ["neutral", "happy", "sad"]}
        ]
        assert voices["data"]["default_emotion"] == "happy"

        health = ask(watcher, "health", {"transaction": 42})
        assert health["transaction"] == 42 and health["status"] == "ok"
        assert health["data"]["healthy"] is True and health["data"]["ready"] is True
        assert health["data"]["state"] == "idle" and health["data"]["queue"] == 0

        settings = ask(watcher, "config")
        assert settings["status"] == "ok" and "transaction" not in settings
        text = json.dumps(settings)
        assert "hunter2" not in text and str(secret) not in text
        assert "x.key" not in text and "VOICE_TOKEN" not in text
        assert settings["data"]["mqtt"]["password_file"] == "<redacted>"
        assert settings["data"]["mqtt"]["node_id"] == NODE
        assert settings["data"]["engine"]["emotion"] == "happy"

        # The phrase cache keeps the sentence just spoken; clearing drops it (and only once).
        watcher.say({"text": "你好。", "id": "cached"})
        assert watcher.wait_terminal("cached")["result"] == "completed"
        cleared = ask(watcher, "cache/clear", {"transaction": 1})
        assert cleared["status"] == "ok" and cleared["transaction"] == 1
        assert cleared["data"]["cleared"] >= 1
        assert ask(watcher, "cache/clear")["data"] == {"cleared": 0}

        unknown = ask(watcher, "reboot", {"transaction": "x"})
        assert unknown["status"] == "error" and unknown["transaction"] == "x"
        assert "cache/clear" in unknown["error"]
        broken = ask(watcher, "health", "{not json")
        assert broken["status"] == "error" and "JSON" in broken["error"]
