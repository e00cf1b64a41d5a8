"""TLS with verification, client certificates and password auth against a real mosquitto,
including the failure cases: a clear log line, retries with back-off, no crash."""

from __future__ import annotations

import ssl
import subprocess
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.rig import NODE, AlsaCapture, Broker, Daemon, Watcher, require, wait_ready, wait_until

pytestmark = [pytest.mark.e2e]

SECRET = "s3cret-Pa55word"


def subdir(parent: Path, name: str) -> Path:
    path = parent / name
    path.mkdir()
    return path


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run([require("openssl"), *args], cwd=cwd, check=True, capture_output=True)


def make_pki(directory: Path, name: str = "ca") -> dict[str, Path]:
    """A CA, a server certificate for localhost/127.0.0.1 and a client certificate."""
    directory.mkdir(parents=True, exist_ok=True)
    openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-keyout",
        f"{name}.key",
        "-out",
        f"{name}.crt",
        "-subj",
        f"/CN=test {name}",
        cwd=directory,
    )
    for role, subject in (("server", "/CN=localhost"), ("client", "/CN=voice-daemon")):
        openssl(
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            f"{role}.key",
            "-out",
            f"{role}.csr",
            "-subj",
            subject,
            cwd=directory,
        )
        ext = directory / f"{role}.ext"
        ext.write_text(
            "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
            if role == "server"
            else "extendedKeyUsage=clientAuth\n"
        )
        openssl(
            "x509",
            "-req",
            "-in",
            f"{role}.csr",
            "-CA",
            f"{name}.crt",
            "-CAkey",
            f"{name}.key",
            "-CAcreateserial",
            "-out",
            f"{role}.crt",
            "-days",
            "1",
            "-extfile",
            str(ext),
            cwd=directory,
        )
    return {key: directory / f"{key}.crt" for key in (name, "server", "client")} | {
        "client_key": directory / "client.key",
        "server_key": directory / "server.key",
    }


def tls_broker(
    directory: Path,
    pki: dict[str, Path],
    *,
    client_certs: bool = False,
    passwords: Path | None = None,
) -> Broker:
    extra = [f"cafile {pki['ca']}", f"certfile {pki['server']}", f"keyfile {pki['server_key']}"]
    if client_certs:
        extra += ["require_certificate true", "use_identity_as_username true"]
    if passwords is not None:
        extra += [f"password_file {passwords}"]
    return Broker(directory, extra="\n".join(extra) + "\n", anonymous=passwords is None)


def tls_watcher(broker: Broker, pki: dict[str, Path], **auth: str) -> Watcher:
    watcher = Watcher(broker.port)
    context = ssl.create_default_context(cafile=str(pki["ca"]))
    context.load_cert_chain(str(pki["client"]), str(pki["client_key"]))
    watcher.client.tls_set_context(context)
    if auth:
        watcher.client.username_pw_set(auth["username"], auth["password"])
    watcher.client.connect("localhost", broker.port)
    watcher.client.loop_start()
    assert watcher._subscribed.wait(10)
    return watcher


def daemon_config(
    alsa: AlsaCapture, model_cache: Path, pki: dict[str, Path], **mqtt_settings: object
) -> dict[str, object]:
    return {
        "engine": {"name": "fastspeech2", "cache_dir": str(model_cache)},
        "audio": {"device": alsa.device},
        "mqtt": {
            "host": "localhost",
            "reconnect_min_s": 1,
            "reconnect_max_s": 2,
            "tls": {"enabled": True, "ca_file": str(pki["ca"])},
            **mqtt_settings,
        },
    }


def test_tls_password_auth_and_failures(
    tmp_path: Path, alsa: AlsaCapture, model_cache: Path
) -> None:
    pki = make_pki(tmp_path / "pki")
    passwords = tmp_path / "passwd"
    subprocess.run(
        [require("mosquitto_passwd"), "-c", "-b", str(passwords), "daemon", SECRET], check=True
    )
    subprocess.run(
        [require("mosquitto_passwd"), "-b", str(passwords), "hub", "hubpass"], check=True
    )
    broker_dir = tmp_path / "broker"
    broker_dir.mkdir()
    broker = tls_broker(broker_dir, pki, passwords=passwords)
    broker.start()
    secret_file = tmp_path / "mqtt-password"
    secret_file.write_text(SECRET + "\n")
    wrong_file = tmp_path / "wrong-password"
    wrong_file.write_text("not-it\n")
    try:
        watcher = tls_watcher(broker, pki, username="hub", password="hubpass")
        # Wrong password: a clear error, retries, no crash.
        wrong = Daemon(
            subdir(tmp_path, "wrong"),
            broker.port,
            env=alsa.env(),
            config=daemon_config(
                alsa, model_cache, pki, username="daemon", password_file=str(wrong_file)
            ),
        ).start()
        wait_until(
            lambda: wrong.log().count("refused the connection") >= 2,
            30,
            "two refused connection attempts",
        )
        assert "Not authorized" in wrong.log() and wrong.alive()
        wrong.stop()
        # Wrong CA: certificate verification fails, retried, no crash.
        other = make_pki(tmp_path / "other-pki", name="otherca")
        bad_ca = Daemon(
            subdir(tmp_path, "badca"),
            broker.port,
            env=alsa.env(),
            config=daemon_config(
                alsa,
                model_cache,
                {**pki, "ca": other["otherca"]},
                username="daemon",
                password_file=str(secret_file),
            ),
        ).start()
        wait_until(
            lambda: bad_ca.log().count("CERTIFICATE_VERIFY_FAILED") >= 2,
            30,
            "two failed TLS handshakes",
        )
        assert bad_ca.alive()
        bad_ca.stop()
        # Right CA, right password from an environment variable: it works.
        good = Daemon(
            subdir(tmp_path, "good"),
            broker.port,
            env={**alsa.env(), "VD_MQTT_PASSWORD": SECRET},
            config=daemon_config(
                alsa, model_cache, pki, username="daemon", password_env="VD_MQTT_PASSWORD"
            ),
        ).start()
        wait_ready(watcher, good)
        watcher.say({"text": "加密连接。", "id": "tls-ok"})
        assert watcher.wait_terminal("tls-ok", 60)["result"] == "completed"
        good.stop()
        for daemon in (wrong, bad_ca, good):
            assert SECRET not in daemon.log()  # the password is never logged
        watcher.stop()
    finally:
        broker.stop()


def test_client_certificate_auth(tmp_path: Path, alsa: AlsaCapture, model_cache: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    broker_dir = tmp_path / "broker"
    broker_dir.mkdir()
    broker = tls_broker(broker_dir, pki, client_certs=True)
    broker.start()
    try:
        watcher = tls_watcher(broker, pki)
        config = daemon_config(alsa, model_cache, pki)
        config["mqtt"]["tls"].update(  # type: ignore[index]
            {"cert_file": str(pki["client"]), "key_file": str(pki["client_key"])}
        )
        daemon = Daemon(tmp_path, broker.port, config=config, env=alsa.env()).start()
        wait_ready(watcher, daemon)
        watcher.say({"text": "证书认证。", "id": "cert-ok"})
        assert watcher.wait_terminal("cert-ok", 60)["result"] == "completed"
        daemon.stop()
        # Without a client certificate the broker refuses the TLS handshake.
        no_cert = tmp_path / "no-cert"
        no_cert.mkdir()
        refused = Daemon(
            no_cert, broker.port, config=daemon_config(alsa, model_cache, pki), env=alsa.env()
        ).start()
        wait_until(
            lambda: (
                refused.log().count("cannot reach the broker") >= 2
                or refused.log().count("disconnected") >= 2
            ),
            30,
            "refused attempts",
        )
        assert refused.alive()
        refused.stop()
        watcher.stop()
    finally:
        broker.stop()


def test_plain_client_cannot_talk_to_the_tls_listener(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    broker = tls_broker(tmp_path, pki)
    broker.start()
    try:
        client = mqtt.Client(CallbackAPIVersion.VERSION2)
        with pytest.raises(Exception):  # noqa: B017 (any failure is a refusal here)
            client.connect("localhost", broker.port)
            client.loop_start()
            info = client.publish(f"voice/{NODE}/say", "你好", qos=1)
            info.wait_for_publish(3)
            time.sleep(0.5)
            if not info.is_published():
                raise ConnectionError("not published")
        client.loop_stop()
    finally:
        broker.stop()


def test_example_acl_confines_hub_and_daemon(
    tmp_path: Path, alsa: AlsaCapture, model_cache: Path
) -> None:
    passwords = tmp_path / "passwd"
    subprocess.run(
        [require("mosquitto_passwd"), "-c", "-b", str(passwords), NODE, SECRET], check=True
    )
    subprocess.run(
        [require("mosquitto_passwd"), "-b", str(passwords), "hub", "hubpass"], check=True
    )
    acl = Path(__file__).resolve().parents[2] / "config" / "mosquitto-acl.conf"
    broker = Broker(
        subdir(tmp_path, "broker"),
        anonymous=False,
        extra=f"password_file {passwords}\nacl_file {acl}\n",
    )
    broker.start()
    secret_file = tmp_path / "pw"
    secret_file.write_text(SECRET)
    config = {
        "engine": {"name": "fastspeech2", "cache_dir": str(model_cache)},
        "audio": {"device": alsa.device},
        "mqtt": {"username": NODE, "password_file": str(secret_file)},
    }
    hub = Watcher(broker.port)
    hub.client.username_pw_set("hub", "hubpass")
    hub.start()
    daemon = Daemon(subdir(tmp_path, "daemon"), broker.port, config=config, env=alsa.env())
    daemon.start()
    try:
        wait_ready(hub, daemon)
        hub.say({"text": "权限正确。", "id": "acl-ok"})
        assert hub.wait_terminal("acl-ok", 60)["result"] == "completed"
        # The hub cannot publish state in the daemon's name (mosquitto drops it silently).
        before = len(hub.on(f"voice/{NODE}/state"))
        hub.client.publish(f"voice/{NODE}/state", '{"state": "spoofed"}', qos=1)
        hub.say({"text": "再来一条。", "id": "acl-2"})
        hub.wait_terminal("acl-2", 60)
        states = [m.json() for m in hub.on(f"voice/{NODE}/state")[before:]]
        assert states and all(s.get("state") != "spoofed" for s in states)
        hub.stop()
    finally:
        daemon.stop()
        broker.stop()
