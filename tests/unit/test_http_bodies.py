"""Form fields become the JSON object the MQTT parser reads; nothing is validated twice."""

from __future__ import annotations

import json

import pytest

from daemon.http.bodies import MAX_FORM_FIELDS, _parse_urlencoded, only_text, payload_from_form
from daemon.request import Rejected, parse_say


def _form(**fields: str) -> dict[str, object]:
    loaded: dict[str, object] = json.loads(payload_from_form(fields.items()))
    return loaded


def test_numbers_and_flags_take_their_json_types() -> None:
    assert _form(text="你好", speed="1.5", volume="0", ttl="30", interrupt="true") == {
        "text": "你好",
        "speed": 1.5,
        "volume": 0.0,
        "ttl": 30.0,
        "interrupt": True,
    }
    assert _form(all="false") == {"all": False}


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"text": "你好", "speed": "fast"}, "invalid_field"),
        ({"text": "你好", "speed": "nan"}, "invalid_field"),
        ({"text": "你好", "interrupt": "yes"}, "invalid_field"),  # only JSON's true/false
        ({"text": "你好", "interrupt": "True"}, "invalid_field"),
        ({"text": "你好", "id": ""}, "invalid_field"),  # empty is empty, not "not given"
        ({"text": ""}, "empty_text"),
        ({"speed": "1"}, "missing_text"),
    ],
)
def test_bad_fields_are_refused_by_the_mqtt_parser(fields: dict[str, str], code: str) -> None:
    with pytest.raises(Rejected) as caught:
        parse_say(payload_from_form(fields.items()), max_text_chars=100)
    assert caught.value.code == code


def test_a_field_given_twice_or_a_file_is_refused() -> None:
    with pytest.raises(Rejected, match="given more than once"):
        payload_from_form([("text", "a"), ("text", "b")])
    with pytest.raises(Rejected, match="not a file") as caught:
        payload_from_form([("text", object())])
    assert caught.value.code == "invalid_field"


def test_urlencoded_bodies_are_utf8_and_bounded() -> None:
    assert _parse_urlencoded("text=你好&speed=1".encode()) == [("text", "你好"), ("speed", "1")]
    assert _parse_urlencoded(b"text=%E4%BD%A0%E5%A5%BD") == [("text", "你好")]
    for body in (b"text=\xff", b"text=%FF"):
        with pytest.raises(Rejected) as caught:
            _parse_urlencoded(body)
        assert caught.value.code == "invalid_utf8"
    with pytest.raises(Rejected, match="form fields"):
        _parse_urlencoded("&".join(f"f{i}=1" for i in range(MAX_FORM_FIELDS + 1)).encode())


def test_only_text_refuses_other_fields() -> None:
    only_text(b'{"text": "x"}')
    only_text("纯文本 {".encode())
    with pytest.raises(Rejected) as caught:
        only_text(b' {"text": "x", "emotion": "happy"}')
    assert caught.value.code == "unknown_field" and "emotion" in caught.value.message
