"""Property-based tests: any bytes in, a valid request or a Rejected with a code out; the
text frontend never raises and its output alphabet holds."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daemon.request import Rejected, SayRequest, parse_say, parse_set, parse_stop
from daemon.text import analyze, normalize, split_sentences

CODES = {
    "invalid_utf8",
    "invalid_json",
    "not_an_object",
    "missing_text",
    "empty_text",
    "text_too_long",
    "unknown_field",
    "invalid_field",
}
PAUSES = set("，。！？；：、")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
say_like = st.dictionaries(
    st.sampled_from(
        [
            "text",
            "id",
            "emotion",
            "voice",
            "speed",
            "volume",
            "priority",
            "interrupt",
            "ttl",
            "extra",
        ]
    ),
    json_values | st.text(max_size=40),
    max_size=9,
)


def check_say(payload: bytes) -> None:
    try:
        request = parse_say(payload, max_text_chars=200)
    except Rejected as rejected:
        assert rejected.code in CODES, rejected.code
        assert rejected.message
        return
    assert isinstance(request, SayRequest)
    assert request.text.strip() and len(request.text) <= 200
    assert 0.5 <= request.speed <= 2.0 and 0.0 <= request.volume <= 1.0


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_any_bytes(payload: bytes) -> None:
    check_say(payload)
    for parse in (parse_stop, parse_set):
        try:
            parse(payload)
        except Rejected as rejected:
            assert rejected.code in CODES


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(say_like)
def test_json_objects_of_any_shape(data: dict[str, object]) -> None:
    check_say(json.dumps(data).encode())


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120))
def test_text_frontend_never_raises(text: str) -> None:
    normalized = normalize(text)
    assert all(
        "\u4e00" <= char <= "\u9fff"
        or char in PAUSES
        or "\u3400" <= char <= "\u4dbf"
        or "\U00020000" <= char <= "\U0002ffff"
        or "\uf900" <= char <= "\ufaff"
        for char in normalized.text
    ), normalized.text
    for sentence in split_sentences(normalized.text, max_chars=30, first_max_chars=10):
        assert sentence
        for token in analyze(sentence):
            assert token.is_punct or token.syllables
