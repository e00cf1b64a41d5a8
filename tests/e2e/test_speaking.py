"""The real daemon speaks through a real PortAudio device (ALSA file pcm, bit-exact)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile

from tests.rig import NODE, REPO, AlsaCapture, Broker, find_signal, running_daemon

pytestmark = [__import__("pytest").mark.e2e]


def config(alsa: AlsaCapture, model_cache: Path, **audio: object) -> dict[str, object]:
    return {
        "engine": {"name": "fastspeech2", "cache_dir": str(model_cache)},
        "audio": {"device": alsa.device, **audio},
    }


def test_plain_and_json_requests_play_the_synthesized_audio(
    tmp_path: Path, broker: Broker, alsa: AlsaCapture, model_cache: Path, reference
) -> None:
    with running_daemon(tmp_path, broker, config=config(alsa, model_cache), env=alsa.env()) as (
        _,
        watcher,
    ):
        assert watcher.availability() == "online"
        watcher.say("门口有人按门铃。")  # plain text
        watcher.say({"text": "欢迎回家！今天过得怎么样？", "emotion": "happy", "id": "json-1"})
        finished = watcher.wait_terminal("json-1")
        assert finished["result"] == "completed", finished
        plain = [e for e in watcher.events() if e["id"] != "json-1"]
        plain_id = plain[0]["id"]
        assert [e["event"] for e in watcher.events(plain_id)] == ["queued", "started", "finished"]
        assert [e["event"] for e in watcher.events("json-1")] == ["queued", "started", "finished"]
        started = watcher.wait_event("json-1", "started")
        assert 0 < started["latency_ms"] < 60000
        assert finished["audio_ms"] > 500 and finished["rtf"] > 0
    captured = alsa.samples()
    first = find_signal(captured, reference("门口有人按门铃。"))
    second = find_signal(captured, reference("欢迎回家！今天过得怎么样？", emotion="happy"))
    assert second > first


def test_volume_set_and_request_volume_scale_the_samples(
    tmp_path: Path, broker: Broker, alsa: AlsaCapture, model_cache: Path, reference
) -> None:
    with running_daemon(tmp_path, broker, config=config(alsa, model_cache), env=alsa.env()) as (
        _,
        watcher,
    ):
        watcher.publish(f"voice/{NODE}/set", {"volume": 0.5})
        watcher.wait_state(lambda s: s["volume"] == 0.5, what="volume 0.5 in state")
        watcher.say({"text": "车库门已关闭。", "id": "vol", "volume": 0.5})
        assert watcher.wait_terminal("vol")["result"] == "completed"
    expected = np.clip(reference("车库门已关闭。") * np.float32(0.25), -1, 1)
    find_signal(alsa.samples(), expected)


def test_say_command_as_a_user_runs_it(
    tmp_path: Path, broker: Broker, alsa: AlsaCapture, model_cache: Path
) -> None:
    with running_daemon(tmp_path, broker, config=config(alsa, model_cache), env=alsa.env()) as (
        daemon,
        _,
    ):
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "daemon.cli",
                "-c",
                str(daemon.config_path),
                "say",
                "洗衣机已经洗完了。",
                "--emotion",
                "calm",
                "--id",
                "cli-1",
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        assert '"event": "queued"' in lines[0] and '"result": "completed"' in lines[-1]
        bad = subprocess.run(
            [
                sys.executable,
                "-m",
                "daemon.cli",
                "-c",
                str(daemon.config_path),
                "say",
                "你好",
                "--emotion",
                "furious",
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert bad.returncode == 2
        assert "unknown_emotion" in bad.stdout and "happy" in bad.stdout


def test_wav_dir_output(tmp_path: Path, broker: Broker, model_cache: Path, reference) -> None:
    wav_dir = tmp_path / "wavs"
    settings = {
        "engine": {"name": "fastspeech2", "cache_dir": str(model_cache)},
        "audio": {"output": "wav_dir", "wav_dir": str(wav_dir)},
    }
    with running_daemon(tmp_path, broker, config=settings, env={}) as (_, watcher):
        watcher.say({"text": "热水器水温已达到45度。", "id": "../../etc/x"})
        assert watcher.wait_terminal("../../etc/x")["result"] == "completed"
    files = list(wav_dir.glob("*.wav"))
    assert len(files) == 1 and files[0].name.endswith("-etc_x.wav")
    samples, rate = soundfile.read(files[0], dtype="float32")
    assert rate == 24000
    expected = reference("热水器水温已达到45度。")
    assert abs(samples.size - expected.size - 2400) <= 1  # + 100 ms trailing silence
    assert np.max(np.abs(samples[: expected.size] - expected)) < 1e-3  # 16-bit WAV


def test_no_sound_device_fails_requests_and_keeps_serving(
    tmp_path: Path, broker: Broker, alsa: AlsaCapture, model_cache: Path
) -> None:
    settings = config(alsa, model_cache)
    settings["audio"] = {"device": "no-such-device"}
    with running_daemon(tmp_path, broker, config=settings, env=alsa.env()) as (daemon, watcher):
        watcher.say({"text": "没有声卡。", "id": "nodev"})
        finished = watcher.wait_terminal("nodev")
        assert (finished["result"], finished["error"]["code"]) == ("failed", "audio_device")
        state = watcher.wait_state(lambda s: s["last_error"] is not None, what="last_error")
        assert "no-such-device" in state["last_error"]
        watcher.say({"text": "还在。", "id": "again"})
        assert watcher.wait_terminal("again")["error"]["code"] == "audio_device"
        assert daemon.alive()
