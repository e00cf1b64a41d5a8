"""JSON answers of the HTTP API; errors carry the same stable codes as the MQTT events.

Every failure is ``{"id": <request id or null>, "error": {"code", "message"}}`` with an HTTP
status that matches the code, so a client can branch on either.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import partial
from http import HTTPStatus
from typing import Any, Final

from aiohttp import web

#: HTTP status per stable code; codes not listed here answer 400.
STATUS: Final[Mapping[str, int]] = {
    "payload_too_large": HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
    "duplicate": HTTPStatus.CONFLICT,
    "queue_full": HTTPStatus.SERVICE_UNAVAILABLE,
    "shutting_down": HTTPStatus.SERVICE_UNAVAILABLE,
    "not_ready": HTTPStatus.SERVICE_UNAVAILABLE,
    "unknown_id": HTTPStatus.NOT_FOUND,
    "unauthorized": HTTPStatus.UNAUTHORIZED,
    "forbidden": HTTPStatus.FORBIDDEN,
    "not_found": HTTPStatus.NOT_FOUND,
    "method_not_allowed": HTTPStatus.METHOD_NOT_ALLOWED,
    "unsupported_media_type": HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
    "engine_error": HTTPStatus.INTERNAL_SERVER_ERROR,
    "engine_output": HTTPStatus.INTERNAL_SERVER_ERROR,
    "synth_timeout": HTTPStatus.GATEWAY_TIMEOUT,
    "internal_error": HTTPStatus.INTERNAL_SERVER_ERROR,
}

#: Codes for aiohttp's own HTTP errors (routing, body size), which only this door has.
CODE_OF_STATUS: Final[Mapping[int, str]] = {
    HTTPStatus.UNAUTHORIZED: "unauthorized",
    HTTPStatus.FORBIDDEN: "forbidden",
    HTTPStatus.NOT_FOUND: "not_found",
    HTTPStatus.METHOD_NOT_ALLOWED: "method_not_allowed",
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE: "payload_too_large",
    HTTPStatus.UNSUPPORTED_MEDIA_TYPE: "unsupported_media_type",
}

dumps = partial(json.dumps, ensure_ascii=False)


def status_of(code: str) -> int:
    return int(STATUS.get(code, HTTPStatus.BAD_REQUEST))


def json_response(data: Any, status: int = HTTPStatus.OK) -> web.Response:
    return web.json_response(data, status=status, dumps=dumps)


def error_response(
    code: str,
    message: str,
    request_id: str | None = None,
    *,
    status: int | None = None,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    """The JSON error answer for ``code``."""
    return web.json_response(
        {"id": request_id, "error": {"code": code, "message": message}},
        status=status or status_of(code),
        headers=headers,
        dumps=dumps,
    )
