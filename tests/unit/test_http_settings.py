"""The http section: off by default, loopback by default, a token for anything else."""

from __future__ import annotations

import pytest

from daemon.settings import ConfigError, Settings, is_loopback, settings_from_dict


def test_defaults_are_off_and_on_loopback() -> None:
    http = Settings().http
    assert http.enabled is False
    assert http.host == "127.0.0.1"
    assert http.token_file is None and http.token_env is None


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost", "LOCALHOST"])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host)
    assert settings_from_dict({"http": {"enabled": True, "host": host}}).http.host == host


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "voice.lan", "10.0.0.1"])
def test_a_lan_binding_without_a_token_is_a_config_error(host: str) -> None:
    assert not is_loopback(host)
    with pytest.raises(ConfigError, match=r"^http\.host: .*http\.token_file or http\.token_env"):
        settings_from_dict({"http": {"enabled": True, "host": host}})


def test_a_lan_binding_with_a_token_is_accepted() -> None:
    by_file = settings_from_dict(
        {"http": {"enabled": True, "host": "0.0.0.0", "token_file": "/etc/voice-daemon/token"}}
    )
    assert by_file.http.token_file == "/etc/voice-daemon/token"
    by_env = settings_from_dict({"http": {"enabled": True, "host": "::", "token_env": "VD_TOKEN"}})
    assert by_env.http.token_env == "VD_TOKEN"


def test_a_disabled_section_is_not_checked_for_a_token() -> None:
    assert settings_from_dict({"http": {"host": "0.0.0.0"}}).http.enabled is False


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"http": {"port": 0}}, "http.port: "),
        ({"http": {"enabled": "sometimes"}}, "http.enabled: "),
        ({"http": {"token": "secret"}}, "http.token: unknown option"),
    ],
)
def test_bad_values_name_their_path(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings_from_dict(data)
    assert message in str(caught.value)
