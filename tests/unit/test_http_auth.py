"""Token reading and the checks of the HTTP guard."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.http.auth import bearer_matches, host_name, is_public, read_token, same_origin
from daemon.settings import ConfigError, HttpSettings


def test_token_from_file_or_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("  abc123  \nignored\n")
    assert read_token(HttpSettings(token_file=str(token_file))) == "abc123"
    monkeypatch.setenv("VD_TEST_TOKEN", "from-env")
    assert read_token(HttpSettings(token_env="VD_TEST_TOKEN")) == "from-env"
    assert read_token(HttpSettings()) is None


@pytest.mark.parametrize("content", ["", "\n", "   \nsecond line"])
def test_an_empty_token_file_is_a_config_error(tmp_path: Path, content: str) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(content)
    with pytest.raises(ConfigError, match=r"^http\.token_file: .* holds no token"):
        read_token(HttpSettings(token_file=str(token_file)))


def test_missing_token_sources_are_config_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ConfigError, match=r"^http\.token_file: cannot read"):
        read_token(HttpSettings(token_file=str(tmp_path / "missing")))
    monkeypatch.delenv("VD_UNSET_TOKEN", raising=False)
    with pytest.raises(ConfigError, match=r"^http\.token_env: variable VD_UNSET_TOKEN"):
        read_token(HttpSettings(token_env="VD_UNSET_TOKEN"))
    monkeypatch.setenv("VD_EMPTY_TOKEN", " ")
    with pytest.raises(ConfigError, match="not set or empty"):
        read_token(HttpSettings(token_env="VD_EMPTY_TOKEN"))


@pytest.mark.parametrize(
    ("header", "matches"),
    [
        ("Bearer abc", True),
        ("bearer abc", True),
        ("Bearer  abc ", True),
        ("Bearer abcd", False),
        ("Bearer ab", False),
        ("Basic abc", False),
        ("abc", False),
        ("", False),
        (None, False),
    ],
)
def test_bearer_header(header: str | None, matches: bool) -> None:
    assert bearer_matches(header, "abc") is matches


@pytest.mark.parametrize(
    ("origin", "host", "same"),
    [
        ("http://127.0.0.1:8765", "127.0.0.1:8765", True),
        ("http://LOCALHOST:8765", "localhost:8765", True),
        ("http://voice.lan", "voice.lan:80", True),
        ("http://[::1]:8765", "[::1]:8765", True),
        ("http://127.0.0.1:8766", "127.0.0.1:8765", False),
        ("http://evil.example", "127.0.0.1:8765", False),
        ("null", "127.0.0.1:8765", False),
        ("file://", "127.0.0.1:8765", False),
    ],
)
def test_same_origin(origin: str, host: str, same: bool) -> None:
    assert same_origin(origin, host) is same


def test_host_names_and_public_paths() -> None:
    assert host_name("127.0.0.1:8765") == "127.0.0.1"
    assert host_name("[::1]:8765") == "::1"
    assert host_name("rebind.example") == "rebind.example"
    assert host_name("bad host:x") == ""
    assert all(is_public(path) for path in ("/", "/healthz", "/static/app.js"))
    assert not any(is_public(path) for path in ("/api/state", "/api/openapi.json", "/x"))
