"""The say/stop/set parsers: every bad input is a Rejected with a stable code."""

from __future__ import annotations

import json

import pytest

from daemon.request import Rejected, parse_say, parse_set, parse_stop, peek_id


def say(payload: bytes | str | dict[str, object], limit: int = 2000):  # type: ignore[no-untyped-def]
    if isinstance(payload, dict):
        payload = json.dumps(payload)
    if isinstance(payload, str):
        payload = payload.encode()
    return parse_say(payload, max_text_chars=limit)


def test_plain_text_is_a_request() -> None:
    request = say("门口有人按门铃")
    assert request.text == "门口有人按门铃"
    assert request.priority == "normal"
    assert len(request.id) == 12


def test_json_fields() -> None:
    request = say(
        {
            "text": "你好",
            "id": "a1",
            "emotion": "happy",
            "voice": "baker",
            "speed": 1.5,
            "volume": 0.5,
            "priority": "high",
            "interrupt": True,
            "ttl": 30,
        }
    )
    assert (request.id, request.emotion, request.voice) == ("a1", "happy", "baker")
    assert (request.speed, request.volume, request.priority) == (1.5, 0.5, "high")
    assert request.interrupt and request.preempts and request.ttl == 30


@pytest.mark.parametrize(
    ("payload", "code", "mentions"),
    [
        (b"\xff\xfe", "invalid_utf8", "UTF-8"),
        ("{not json", "invalid_json", "JSON"),
        ("[1, 2]", "not_an_object", "object"),
        ({"id": "x"}, "missing_text", "text"),
        ({"text": ""}, "empty_text", "text"),
        ("   ", "empty_text", "text"),
        ({"text": 5}, "invalid_field", "text"),
        ({"text": "a" * 2001}, "text_too_long", "2000"),
        ({"text": "hi", "colour": "red", "size": 1}, "unknown_field", "colour, size"),
        ({"text": "hi", "speed": 3}, "invalid_field", "speed"),
        ({"text": "hi", "speed": "fast"}, "invalid_field", "speed"),
        ({"text": "hi", "speed": True}, "invalid_field", "speed"),
        ({"text": "hi", "volume": -0.1}, "invalid_field", "volume"),
        ({"text": "hi", "priority": "urgent"}, "invalid_field", "priority"),
        ({"text": "hi", "interrupt": "yes"}, "invalid_field", "interrupt"),
        ({"text": "hi", "ttl": -1}, "invalid_field", "ttl"),
        ({"text": "hi", "emotion": 3}, "invalid_field", "emotion"),
        ({"text": "hi", "id": 7}, "invalid_field", "id"),
        ({"text": "hi", "id": "a\nb"}, "invalid_field", "id"),
        ({"text": "hi", "id": "x" * 129}, "invalid_field", "id"),
        ("[" * 100000, "invalid_json", "JSON"),
    ],
)
def test_bad_say_payloads(
    payload: bytes | str | dict[str, object], code: str, mentions: str
) -> None:
    with pytest.raises(Rejected) as caught:
        say(payload)
    assert caught.value.code == code
    assert mentions in caught.value.message


def test_rejection_echoes_the_callers_id() -> None:
    with pytest.raises(Rejected) as caught:
        say({"text": "hi", "id": "mine", "speed": 9})
    assert caught.value.request_id == "mine"
    assert peek_id(b'{"id": "mine", "text": 1}') == "mine"
    assert peek_id(b"\xff") is None


def test_stop_and_set() -> None:
    assert parse_stop(b"").id is None
    assert parse_stop(b"{}").all is False
    assert parse_stop(b'{"id": "a"}').id == "a"
    assert parse_stop(b'{"all": true}').all is True
    with pytest.raises(Rejected, match="unknown_field"):
        parse_stop(b'{"everything": true}')
    command = parse_set(b'{"volume": 0.3, "muted": true, "emotion": "sad"}')
    assert (command.volume, command.muted, command.emotion, command.voice) == (
        0.3,
        True,
        "sad",
        None,
    )
    with pytest.raises(Rejected, match="invalid_field"):
        parse_set(b'{"volume": 2}')
    with pytest.raises(Rejected, match="not_an_object"):
        parse_set(b"loud")


def test_ssml_from_the_official_stack_sets_text_and_emotion() -> None:
    request = say(
        '<speak><emotion category="happy" intensity="1.0">欢迎回家</emotion>，再见</speak>'
    )
    assert (request.text, request.emotion) == ("欢迎回家，再见", "happy")
    explicit = say(
        {"text": '<speak><emotion category="sad">唉</emotion></speak>', "emotion": "calm"}
    )
    assert explicit.emotion == "calm"
    with pytest.raises(Rejected, match="empty_text"):
        say("<speak><emotion category='sad'></emotion></speak>")
