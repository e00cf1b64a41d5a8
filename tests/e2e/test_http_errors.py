"""Errors over HTTP are JSON with the same stable codes as the MQTT events, plus the few that
only HTTP has (not_found, method_not_allowed, unsupported_media_type, forbidden)."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.e2e.http_rig import HttpClient, http_daemon
from tests.rig import NODE, AlsaCapture, Broker, Watcher, wait_until

pytestmark = [pytest.mark.e2e]

MAX_PAYLOAD = 1024
MAX_TEXT = 100


@dataclass
class Rig:
    watcher: Watcher
    client: HttpClient

    def mqtt_code(self, payload: bytes, topic: str = "say") -> str:
        """The code of the rejected event that ``payload`` gets over MQTT."""
        before = len(self.rejections())
        self.watcher.publish(f"voice/{NODE}/{topic}", payload)
        wait_until(lambda: len(self.rejections()) > before, 10, "the rejected event")
        return str(self.rejections()[before]["code"])

    def rejections(self) -> list[dict[str, object]]:
        return [e for e in self.watcher.events() if e["event"] == "rejected"]


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    root = tmp_path_factory.mktemp("http-errors")
    (root / "broker").mkdir()
    (root / "alsa").mkdir()
    broker = Broker(root / "broker")
    broker.start()
    alsa = AlsaCapture(root / "alsa")
    config = {
        "engine": {"name": "tone"},
        "audio": {"device": alsa.device},
        "mqtt": {"max_payload_bytes": MAX_PAYLOAD},
        "queue": {"max_text_chars": MAX_TEXT},
    }
    try:
        with http_daemon(root, broker, config=config, env=alsa.env()) as (_, watcher, client):
            yield Rig(watcher, client)
    finally:
        broker.stop()


def _bytes(value: object) -> bytes:
    return value if isinstance(value, bytes) else json.dumps(value).encode()


@pytest.mark.parametrize(
    ("payload", "code", "status"),
    [
        (b'{"text": ', "invalid_json", 400),
        (b"[1, 2]", "not_an_object", 400),
        (b"\xff\xfe", "invalid_utf8", 400),
        ({"id": "no-text"}, "missing_text", 400),
        ({"text": "   "}, "empty_text", 400),
        ({"text": "好" * (MAX_TEXT + 1)}, "text_too_long", 400),
        ({"text": "……"}, "unspeakable_text", 400),
        ({"text": "你好", "colour": "red"}, "unknown_field", 400),
        ({"text": "你好", "speed": 5}, "invalid_field", 400),
        ({"text": "你好", "priority": "urgent"}, "invalid_field", 400),
        ({"text": "你好", "emotion": "furious"}, "unknown_emotion", 400),
        ({"text": "你好", "voice": "nobody"}, "unknown_voice", 400),
        ({"text": "好" * MAX_PAYLOAD}, "payload_too_large", 413),
    ],
)
def test_say_rejections_match_mqtt(rig: Rig, payload: object, code: str, status: int) -> None:
    body = _bytes(payload)
    assert rig.mqtt_code(body) == code
    answer = rig.client.post("/api/say", body=body)  # no type: read as on MQTT
    assert (answer.status, answer.code) == (status, code), answer.body
    assert answer.headers["Content-Type"].startswith("application/json")
    typed = rig.client.post("/api/say", body=body, content_type="application/json")
    assert (typed.status, typed.code) == (status, code), typed.body


def test_the_error_names_the_request_id(rig: Rig) -> None:
    answer = rig.client.post("/api/say", json_body={"text": "你好", "id": "e-7", "speed": "x"})
    assert answer.json() == {
        "id": "e-7",
        "error": {"code": "invalid_field", "message": "speed: must be a number, got 'x'"},
    }


def test_duplicate_ids_are_refused_whichever_door_they_came_through(rig: Rig) -> None:
    rig.watcher.say({"text": "第一次。", "id": "dup-1"})
    rig.watcher.wait_event("dup-1", "queued")
    again = rig.client.post("/api/say", json_body={"text": "第二次。", "id": "dup-1"})
    assert (again.status, again.code) == (409, "duplicate")
    first = rig.client.post("/api/say", json_body={"text": "第一次。", "id": "dup-2"})
    assert first.status == 202
    assert rig.mqtt_code(b'{"text": "x", "id": "dup-2"}') == "duplicate"


@pytest.mark.parametrize(
    ("form", "code"),
    [
        ({"text": "你好", "speed": "fast"}, "invalid_field"),
        ({"text": "你好", "interrupt": "maybe"}, "invalid_field"),
        ({"text": "你好", "id": ""}, "invalid_field"),
        ({"text": "你好", "volume": "2"}, "invalid_field"),
        ({"speed": "1"}, "missing_text"),
        ({"text": "你好", "extra": "1"}, "unknown_field"),
    ],
)
def test_form_fields_are_checked_like_json(rig: Rig, form: dict[str, str], code: str) -> None:
    answer = rig.client.post("/api/say", form=form)
    assert (answer.status, answer.code) == (400, code), answer.body


def test_a_chunked_body_over_the_limit_is_refused(rig: Rig) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", rig.client.port, timeout=10)
    chunks = (b'{"text": "' + b"a" * 512 for _ in range(4))
    connection.request(
        "POST",
        "/api/say",
        body=chunks,
        headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
        encode_chunked=True,
    )
    response = connection.getresponse()
    body = json.loads(response.read())
    connection.close()
    assert (response.status, body["error"]["code"]) == (413, "payload_too_large")


def test_stop_rejections_match_mqtt(rig: Rig) -> None:
    assert rig.mqtt_code(b'{"id": "nobody"}', topic="stop") == "unknown_id"
    answer = rig.client.post("/api/stop", json_body={"id": "nobody"})
    assert (answer.status, answer.code) == (404, "unknown_id")
    assert rig.mqtt_code(b'{"all": 1}', topic="stop") == "invalid_field"
    assert rig.client.post("/api/stop", json_body={"all": 1}).code == "invalid_field"
    assert rig.client.post("/api/stop", form={"all": "yes"}).code == "invalid_field"


def test_errors_only_http_has(rig: Rig) -> None:
    client = rig.client
    xml = client.post("/api/say", body="<say>你好</say>", content_type="application/xml")
    assert (xml.status, xml.code) == (415, "unsupported_media_type")
    missing = client.get("/api/nothing-here")
    assert (missing.status, missing.code) == (404, "not_found")
    wrong = client.request("PUT", "/api/say", json_body={"text": "你好"})
    assert (wrong.status, wrong.code) == (405, "method_not_allowed")
    assert wrong.headers["Allow"] == "POST"
    unknown = client.get("/api/requests/never-seen")
    assert (unknown.status, unknown.code) == (404, "unknown_id")
    for wait in ("-1", "abc", "301", ""):
        bad = client.get(f"/api/requests/never-seen?wait={wait}")
        assert (bad.status, bad.code) == (400, "invalid_field"), wait


def test_foreign_pages_and_rebound_host_names_are_refused(rig: Rig) -> None:
    client = rig.client
    foreign = client.post(
        "/api/say", json_body={"text": "你好"}, headers={"Origin": "http://evil.example"}
    )
    assert (foreign.status, foreign.code) == (403, "forbidden")
    own = client.post(
        "/api/say",
        json_body={"text": "你好"},
        headers={"Origin": f"http://127.0.0.1:{client.port}"},
    )
    assert own.status == 202
    rebound = client.get("/api/state", headers={"Host": f"rebind.example:{client.port}"})
    assert (rebound.status, rebound.code) == (403, "forbidden")
    assert client.get("/api/state", headers={"Host": f"localhost:{client.port}"}).status == 200
