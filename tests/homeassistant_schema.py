"""Home Assistant's MQTT discovery schema, restated in voluptuous (HA's own validation
library) from HA's documentation and its mqtt integration (schemas.py, abbreviations.py,
and the notify, text, button, number, select, switch and sensor platforms), and HA's way of
rendering command and value templates (Jinja2, sandboxed).

Stricter than HA on purpose: HA ignores unknown keys, so a misspelt option would silently do
nothing there; here an unknown key is an error.
"""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any

import voluptuous as vol
from jinja2.sandbox import ImmutableSandboxedEnvironment

#: Abbreviations HA expands in discovery payloads (the ones of the options checked here).
ABBREVIATIONS = {
    "avty": "availability",
    "avty_mode": "availability_mode",
    "avty_t": "availability_topic",
    "avty_tpl": "availability_template",
    "cmd_t": "command_topic",
    "cmd_tpl": "command_template",
    "cmps": "components",
    "dev": "device",
    "dev_cla": "device_class",
    "e": "encoding",
    "en": "enabled_by_default",
    "ent_cat": "entity_category",
    "ic": "icon",
    "json_attr_t": "json_attributes_topic",
    "json_attr_tpl": "json_attributes_template",
    "o": "origin",
    "obj_id": "object_id",
    "ops": "options",
    "opt": "optimistic",
    "p": "platform",
    "pl_avail": "payload_available",
    "pl_not_avail": "payload_not_available",
    "pl_off": "payload_off",
    "pl_on": "payload_on",
    "pl_prs": "payload_press",
    "ret": "retain",
    "stat_cla": "state_class",
    "stat_off": "state_off",
    "stat_on": "state_on",
    "stat_t": "state_topic",
    "uniq_id": "unique_id",
    "unit_of_meas": "unit_of_measurement",
    "val_tpl": "value_template",
}
DEVICE_ABBREVIATIONS = {
    "cns": "connections",
    "cu": "configuration_url",
    "hw": "hw_version",
    "ids": "identifiers",
    "mf": "manufacturer",
    "mdl": "model",
    "name": "name",
    "sa": "suggested_area",
    "sn": "serial_number",
    "sw": "sw_version",
}
ORIGIN_ABBREVIATIONS = {"name": "name", "sw": "sw_version", "url": "support_url"}

#: Options of a device-based payload that its components inherit (HA's SHARED_OPTIONS).
SHARED_OPTIONS = [
    "availability",
    "availability_mode",
    "availability_template",
    "availability_topic",
    "command_topic",
    "payload_available",
    "payload_not_available",
    "state_topic",
]

_JINJA = ImmutableSandboxedEnvironment()


def _expand(payload: dict[str, Any], table: dict[str, str]) -> dict[str, Any]:
    return {table.get(key, key): value for key, value in payload.items()}


def _template(value: Any) -> str:
    if not isinstance(value, str):
        raise vol.Invalid("a template must be a string")
    try:
        _JINJA.from_string(value)
    except Exception as error:
        raise vol.Invalid(f"invalid template: {error}") from None
    return value


def _publish_topic(value: Any) -> str:
    if not isinstance(value, str) or not value or "+" in value or "#" in value:
        raise vol.Invalid(f"not a valid publish topic: {value!r}")
    return value


def _subscribe_topic(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise vol.Invalid(f"not a valid subscribe topic: {value!r}")
    for level in value.split("/"):
        if ("#" in level or "+" in level) and len(level) > 1:
            raise vol.Invalid(f"wildcards must fill a whole topic level: {value!r}")
    return value


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise vol.Invalid(f"expected a string, got {value!r}")
    return value


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise vol.Invalid(f"expected a number, got {value!r}")
    return float(value)


def _min_below_max(config: dict[str, Any]) -> dict[str, Any]:
    if config["min"] >= config["max"]:
        raise vol.Invalid("'max' must be > 'min'")
    return config


def _text_size(config: dict[str, Any]) -> dict[str, Any]:
    if config["min"] >= config["max"]:
        raise vol.Invalid("text length min must be < max")
    if config["max"] > 255:
        raise vol.Invalid("max text length must be <= 255")
    return config


def _has_identifier(device: dict[str, Any]) -> dict[str, Any]:
    if not (device["identifiers"] or device["connections"]):
        raise vol.Invalid("a device needs at least one of identifiers or connections")
    return device


DEVICE_SCHEMA = vol.All(
    vol.Schema(
        {
            vol.Optional("identifiers", default=list): [_string],
            vol.Optional("connections", default=list): [vol.All([_string], vol.Length(2))],
            vol.Optional("manufacturer"): _string,
            vol.Optional("model"): _string,
            vol.Optional("name"): _string,
            vol.Optional("hw_version"): _string,
            vol.Optional("serial_number"): _string,
            vol.Optional("sw_version"): _string,
            vol.Optional("via_device"): _string,
            vol.Optional("suggested_area"): _string,
            vol.Optional("configuration_url"): _string,
        }
    ),
    _has_identifier,
)

ORIGIN_SCHEMA = vol.Schema(
    {
        vol.Required("name"): _string,
        vol.Optional("sw_version"): _string,
        vol.Optional("support_url"): _string,
    }
)

#: HA's MQTT_ENTITY_COMMON_SCHEMA and availability options, as every platform takes them.
COMMON = {
    vol.Optional("name"): vol.Any(_string, None),
    vol.Optional("unique_id"): _string,
    vol.Optional("object_id"): _string,
    vol.Optional("default_entity_id"): vol.Match(r"^[a-z_]+\.[a-z0-9_]+$"),
    vol.Optional("icon"): vol.Match(r"^[a-z0-9-]+:[a-z0-9-]+$"),
    vol.Optional("entity_category"): vol.In(["config", "diagnostic"]),
    vol.Optional("enabled_by_default", default=True): bool,
    vol.Optional("entity_picture"): _string,
    vol.Optional("json_attributes_topic"): _subscribe_topic,
    vol.Optional("json_attributes_template"): _template,
    vol.Optional("availability_topic"): _subscribe_topic,
    vol.Optional("availability_template"): _template,
    vol.Optional("availability_mode"): vol.In(["all", "any", "latest"]),
    vol.Optional("payload_available", default="online"): _string,
    vol.Optional("payload_not_available", default="offline"): _string,
    vol.Optional("availability"): list,
    vol.Optional("device"): dict,
    vol.Optional("origin"): vol.Any(dict, None),
    vol.Optional("qos", default=0): vol.In([0, 1, 2]),
    vol.Optional("encoding", default="utf-8"): _string,
}
READ_WRITE = {
    vol.Required("command_topic"): _publish_topic,
    vol.Optional("state_topic"): _subscribe_topic,
    vol.Optional("retain", default=False): bool,
    vol.Optional("optimistic", default=False): bool,
}

PLATFORMS: dict[str, Any] = {
    "notify": vol.Schema(
        {
            **COMMON,
            vol.Required("command_topic"): _publish_topic,
            vol.Optional("command_template"): _template,
            vol.Optional("retain", default=False): bool,
        }
    ),
    "text": vol.All(
        vol.Schema(
            {
                **COMMON,
                **READ_WRITE,
                vol.Optional("command_template"): _template,
                vol.Optional("value_template"): _template,
                vol.Optional("max", default=255): vol.All(int, vol.Range(min=0)),
                vol.Optional("min", default=0): vol.All(int, vol.Range(min=0)),
                vol.Optional("mode", default="text"): vol.In(["text", "password"]),
                vol.Optional("pattern"): _string,
            }
        ),
        _text_size,
    ),
    "button": vol.Schema(
        {
            **COMMON,
            vol.Required("command_topic"): _publish_topic,
            vol.Optional("command_template"): _template,
            vol.Optional("payload_press", default="PRESS"): _string,
            vol.Optional("device_class"): vol.In(["identify", "restart", "update"]),
            vol.Optional("retain", default=False): bool,
        }
    ),
    "number": vol.All(
        vol.Schema(
            {
                **COMMON,
                **READ_WRITE,
                vol.Optional("command_template"): _template,
                vol.Optional("value_template"): _template,
                vol.Optional("min", default=1.0): _number,
                vol.Optional("max", default=100.0): _number,
                vol.Optional("step", default=1.0): vol.All(_number, vol.Range(min=1e-3)),
                vol.Optional("mode", default="auto"): vol.In(["auto", "box", "slider"]),
                vol.Optional("unit_of_measurement"): vol.Any(_string, None),
                vol.Optional("device_class"): vol.Any(_string, None),
                vol.Optional("payload_reset", default="None"): _string,
            }
        ),
        _min_below_max,
    ),
    "select": vol.Schema(
        {
            **COMMON,
            **READ_WRITE,
            vol.Optional("command_template"): _template,
            vol.Optional("value_template"): _template,
            vol.Required("options"): vol.All([_string], vol.Length(min=1)),
        }
    ),
    "switch": vol.Schema(
        {
            **COMMON,
            vol.Optional("command_topic"): _publish_topic,
            vol.Optional("command_template"): _template,
            vol.Optional("state_topic"): _subscribe_topic,
            vol.Optional("value_template"): _template,
            vol.Optional("payload_on", default="ON"): _string,
            vol.Optional("payload_off", default="OFF"): _string,
            vol.Optional("state_on"): _string,
            vol.Optional("state_off"): _string,
            vol.Optional("device_class"): vol.In(["outlet", "switch"]),
            vol.Optional("retain", default=False): bool,
            vol.Optional("optimistic", default=False): bool,
        }
    ),
    "sensor": vol.Schema(
        {
            **COMMON,
            vol.Required("state_topic"): _subscribe_topic,
            vol.Optional("value_template"): _template,
            vol.Optional("unit_of_measurement"): vol.Any(_string, None),
            vol.Optional("device_class"): vol.Any(_string, None),
            vol.Optional("state_class"): vol.In(
                ["measurement", "measurement_angle", "total", "total_increasing"]
            ),
            vol.Optional("options"): [_string],
            vol.Optional("expire_after"): vol.All(int, vol.Range(min=0)),
            vol.Optional("force_update", default=False): bool,
            vol.Optional("suggested_display_precision"): vol.All(int, vol.Range(min=0)),
            vol.Optional("last_reset_value_template"): _template,
        }
    ),
}

DEVICE_DISCOVERY_SCHEMA = vol.Schema(
    {
        vol.Required("device"): DEVICE_SCHEMA,
        vol.Required("origin"): ORIGIN_SCHEMA,
        vol.Required("components"): vol.Schema(
            {vol.Match(r"^[a-zA-Z0-9_-]+$"): vol.Schema({vol.Required("platform"): str}, extra=1)}
        ),
        vol.Optional("availability_topic"): _subscribe_topic,
        vol.Optional("availability_template"): _template,
        vol.Optional("availability_mode"): vol.In(["all", "any", "latest"]),
        vol.Optional("payload_available"): _string,
        vol.Optional("payload_not_available"): _string,
        vol.Optional("availability"): list,
        vol.Optional("state_topic"): _subscribe_topic,
        vol.Optional("command_topic"): _publish_topic,
        vol.Optional("qos"): vol.In([0, 1, 2]),
        vol.Optional("encoding"): _string,
    }
)

DISCOVERY_TOPIC = re.compile(r"^(?P<prefix>.+)/device/(?P<object_id>[a-zA-Z0-9_-]+)/config$")


def components(topic: str, payload: bytes) -> dict[str, dict[str, Any]]:
    """What HA makes of a device discovery message: each component's validated config,
    with the shared options merged in as HA does. Raises vol.Invalid or AssertionError."""
    assert DISCOVERY_TOPIC.match(topic), f"not a device discovery topic: {topic}"
    raw = json.loads(payload)
    data = _expand(raw, ABBREVIATIONS)
    for key, table in (("device", DEVICE_ABBREVIATIONS), ("origin", ORIGIN_ABBREVIATIONS)):
        if isinstance(data.get(key), dict):
            data[key] = _expand(data[key], table)
    if isinstance(data.get("components"), dict):
        data["components"] = {
            key: _expand(config, ABBREVIATIONS) if isinstance(config, dict) else config
            for key, config in data["components"].items()
        }
    device = DEVICE_DISCOVERY_SCHEMA(data)
    result = {}
    for key, config in device["components"].items():
        component = dict(config)
        platform = component.pop("platform")
        assert platform in PLATFORMS, f"{key}: platform {platform} not checked here"
        for option in SHARED_OPTIONS:
            if option in device and option not in component:
                component[option] = device[option]
        component["device"] = device["device"]
        component["origin"] = device["origin"]
        result[key] = {"platform": platform, **PLATFORMS[platform](component)}
    return result


def render(template: str, value: Any = None, payload: str | None = None) -> str:
    """Render a command template (``value``) or a value template (``value``/``value_json``
    from a received payload), as HA does."""
    variables: dict[str, Any] = {"value": value}
    if payload is not None:
        variables["value"] = payload
        with contextlib.suppress(ValueError):
            variables["value_json"] = json.loads(payload)
    return str(_JINJA.from_string(template).render(**variables))
