"""Config validation names the bad option; the shipped config holds every default."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import TypeAdapter

from daemon.settings import ConfigError, Settings, load_settings, settings_from_dict

REPO = Path(__file__).resolve().parents[2]


def test_shipped_config_lists_every_option_with_its_default() -> None:
    shipped = yaml.safe_load((REPO / "config" / "voice-daemon.yaml").read_text())
    defaults = TypeAdapter(Settings).dump_python(Settings(), mode="json")
    assert shipped == defaults


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"mqtt": {"port": "abc"}}, "mqtt.port: "),
        ({"mqtt": {"port": 70000}}, "mqtt.port: "),
        ({"mqtt": {"prot": 1}}, "mqtt.prot: unknown option"),
        ({"audio": {"volume": 1.5}}, "audio.volume: "),
        ({"engine": {"name": "espeak"}}, "engine.name: "),
        ({"engine": {"precision": "float16"}}, "engine.precision: "),
        ({"queue": {"max_length": 0}}, "queue.max_length: "),
        ({"mqtt": {"tls": {"enabled": "maybe"}}}, "mqtt.tls.enabled: "),
        ({"bogus": {}}, "bogus: unknown option"),
    ],
)
def test_bad_values_name_their_path(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings_from_dict(data)
    assert message in str(caught.value)


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("mqtt: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(bad)
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert load_settings(empty) == Settings()


def test_engine_precision_values() -> None:
    assert Settings().engine.precision == "auto"
    for value in ("auto", "float32", "bfloat16"):
        assert settings_from_dict({"engine": {"precision": value}}).engine.precision == value
