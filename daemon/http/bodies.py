"""HTTP request bodies turned into the payload bytes an MQTT command carries.

The HTTP door does no validation of its own: JSON and plain-text bodies are passed on as
they are, and form fields (URL-encoded or multipart) become the equivalent JSON object, so
``daemon.request``'s parsers apply the same rules and codes as on MQTT.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Final
from urllib.parse import parse_qsl

from aiohttp import web

from daemon.request import Rejected

#: Form fields that are numbers in the JSON object.
NUMBER_FIELDS: Final = frozenset({"speed", "volume", "ttl"})
#: Form fields that are true/false in the JSON object.
FLAG_FIELDS: Final = frozenset({"interrupt", "all"})
_TRUE: Final = frozenset({"true", "1", "on", "yes"})
_FALSE: Final = frozenset({"false", "0", "off", "no"})
#: More form fields than any command has: the rest are not read.
MAX_FORM_FIELDS: Final = 32

#: Bodies passed on unchanged: JSON, or plain text meaning {"text": ...} (as on MQTT).
RAW_TYPES: Final = frozenset({"application/json", "text/plain", "application/octet-stream", ""})
FORM_TYPES: Final = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


def _field_value(name: str, value: str) -> object:
    """A form field's text as the JSON value the parser expects (unchanged when it isn't one,
    so the parser names the field and the bad value)."""
    if name in NUMBER_FIELDS:
        try:
            return float(value)
        except ValueError:
            return value
    if name in FLAG_FIELDS:
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
    return value


def payload_from_form(fields: Iterable[tuple[str, object]]) -> bytes:
    """The JSON payload equivalent to form fields. Empty fields other than ``text`` count as
    not given (an HTML form sends every field, filled or not)."""
    data: dict[str, object] = {}
    for name, value in fields:
        if not isinstance(value, str):
            raise Rejected("invalid_field", f"{name}: must be a text field, not a file")
        if name in data:
            raise Rejected("invalid_field", f"{name}: given more than once")
        if value == "" and name != "text":
            continue
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


async def read_payload(request: web.Request, limit: int) -> bytes:
    """The body of ``request`` as command payload bytes; at most ``limit`` bytes are read."""
    length = request.content_length
    if length is not None and length > limit:
        raise Rejected("payload_too_large", f"payload is {length} bytes, the limit is {limit}")
    content_type = request.content_type
    if content_type == "multipart/form-data":
        try:
            form = await request.post()
        except ValueError as error:
            raise Rejected("invalid_form", f"malformed multipart form data: {error}") from None
        if len(form) > MAX_FORM_FIELDS:
            raise Rejected("invalid_field", f"more than {MAX_FORM_FIELDS} form fields")
        return payload_from_form(form.items())
    body = await request.read()
    if len(body) > limit:
        raise Rejected("payload_too_large", f"payload is {len(body)} bytes, the limit is {limit}")
    if content_type == "application/x-www-form-urlencoded":
        return payload_from_form(_parse_urlencoded(body))
    if content_type in RAW_TYPES or content_type.endswith("+json"):
        return body
    raise Rejected(
        "unsupported_media_type",
        f"a body of type {content_type} is not understood; send application/json, "
        "a form (application/x-www-form-urlencoded or multipart/form-data) or text/plain",
    )
