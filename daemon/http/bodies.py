"""HTTP request bodies turned into the payload bytes an MQTT command carries.

The HTTP door does no validation of its own: a JSON object is passed on as it is, a
``text/plain`` body becomes ``{"text": ...}``, form fields (URL-encoded or multipart) become
the equivalent JSON object, and a body of no stated type is read as on MQTT (a JSON object,
or else plain text). ``daemon.request``'s parsers then apply the same rules and codes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Final
from urllib.parse import parse_qsl

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from daemon.request import Rejected

#: Form fields that are numbers in the JSON object.
NUMBER_FIELDS: Final = frozenset({"speed", "volume", "ttl"})
#: Form fields that are true/false in the JSON object.
FLAG_FIELDS: Final = frozenset({"interrupt", "all", "cache"})
#: Form spellings of true and false: as in JSON, nothing else.
_FLAGS: Final = {"true": True, "false": False}
#: More form fields than any command has: the rest are not read.
MAX_FORM_FIELDS: Final = 32

#: Bodies of no stated type are read as on MQTT: a JSON object, or else plain text.
UNTYPED: Final = frozenset({"application/octet-stream", ""})


def _field_value(name: str, value: str) -> object:
    """A form field's text as the JSON value the parser expects (unchanged when it isn't one,
    so the parser names the field and the bad value)."""
    if name in NUMBER_FIELDS:
        try:
            return float(value)
        except ValueError:
            return value
    if name in FLAG_FIELDS and value in _FLAGS:
        return _FLAGS[value]
    return value


def payload_from_form(fields: Iterable[tuple[str, object]]) -> bytes:
    """The JSON payload equivalent to form fields. Values keep JSON's meaning: an empty field
    is an empty string (so an empty ``id`` is as invalid as in JSON), flags are true/false."""
    data: dict[str, object] = {}
    for name, value in fields:
        if not isinstance(value, str):
            raise Rejected("invalid_field", f"{name}: must be a text field, not a file")
        if name in data:
            raise Rejected("invalid_field", f"{name}: given more than once")
        data[name] = _field_value(name, value)
    return json.dumps(data, ensure_ascii=False).encode("utf-8")


def _parse_urlencoded(body: bytes) -> list[tuple[str, str]]:
    try:
        return parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=MAX_FORM_FIELDS,
        )
    except UnicodeDecodeError as error:
        raise Rejected(
            "invalid_utf8", f"form data is not valid UTF-8 (byte {error.start})"
        ) from None
    except ValueError:
        raise Rejected("invalid_field", f"more than {MAX_FORM_FIELDS} form fields") from None


def _utf8(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise Rejected("invalid_utf8", f"body is not valid UTF-8 (byte {error.start})") from None


def _json_object(body: bytes) -> bytes:
    """A JSON body as it is, once it is known to be an object (not plain text)."""
    text = _utf8(body).strip()
    if text.startswith("{"):
        return body  # parse_say reads (and checks) it
    try:
        json.loads(text)
    except (ValueError, RecursionError) as error:
        raise Rejected("invalid_json", f"body is not valid JSON: {error}") from None
    raise Rejected("not_an_object", "a JSON body must be an object")


async def read_payload(request: web.Request, limit: int) -> bytes:
    """The body of ``request`` as command payload bytes; at most ``limit`` bytes are read."""
    length = request.content_length
    if length is not None and length > limit:
        raise Rejected("payload_too_large", f"payload is {length} bytes, the limit is {limit}")
    content_type = request.content_type
    if content_type == "multipart/form-data":
        try:
            form = await request.post()
        except (ValueError, HttpProcessingError) as error:
            message = str(error).replace("\n", " ")
            raise Rejected("invalid_form", f"malformed multipart form data: {message}") from None
        if len(form) > MAX_FORM_FIELDS:
            raise Rejected("invalid_field", f"more than {MAX_FORM_FIELDS} form fields")
        return payload_from_form(form.items())
    body = await request.read()
    if len(body) > limit:
        raise Rejected("payload_too_large", f"payload is {len(body)} bytes, the limit is {limit}")
    if content_type == "application/x-www-form-urlencoded":
        return payload_from_form(_parse_urlencoded(body))
    if content_type == "application/json" or content_type.endswith("+json"):
        return _json_object(body)
    if content_type == "text/plain":
        return json.dumps({"text": _utf8(body)}, ensure_ascii=False).encode("utf-8")
    if content_type in UNTYPED:
        return body
    raise Rejected(
        "unsupported_media_type",
        f"a body of type {content_type} is not understood; send application/json, "
        "a form (application/x-www-form-urlencoded or multipart/form-data) or text/plain",
    )


def only_text(payload: bytes) -> None:
    """Refuse fields other than ``text`` in a payload ``parse_say`` already accepted."""
    stripped = payload.decode("utf-8").strip()  # as parse_say reads it
    if not stripped.startswith("{"):
        return  # plain text
    unknown = sorted(str(key) for key in json.loads(stripped) if key != "text")
    if unknown:
        raise Rejected("unknown_field", f"unknown field(s): {', '.join(unknown)}; only text")
