"""The machine-readable description of the HTTP API (OpenAPI 3.0), served as
``/api/openapi.json`` and built from the running daemon's limits and voices."""

from __future__ import annotations

from typing import Any, Final

from daemon.request import MAX_ID_CHARS, PRIORITIES

#: ``?wait=`` is capped so a forgotten client cannot hold a connection for long.
MAX_WAIT_S: Final = 300
JSON: Final = "application/json"
FORM: Final = "application/x-www-form-urlencoded"
MULTIPART: Final = "multipart/form-data"
PLAIN: Final = "text/plain"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "nullable": True}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": _ref("Error")}}}


def _json(description: str, schema: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": _ref(schema)}}}


def _body(schema: str, *, plain: bool, required: bool = True) -> dict[str, Any]:
    content: dict[str, Any] = {
        JSON: {"schema": _ref(schema)},
        FORM: {"schema": _ref(schema)},
        MULTIPART: {"schema": _ref(schema)},
    }
    if plain:
        content[PLAIN] = {"schema": _ref("PlainText")}
    return {"required": required, "content": content}


def _schemas(
    max_text_chars: int, voices: list[str] | None, emotions: list[str] | None
) -> dict[str, Any]:
    # Optional fields may be null, meaning "not given" (as the MQTT parser reads them).
    voice: dict[str, Any] = {
        "type": "string",
        "nullable": True,
        "description": "one of the engine's voices",
    }
    emotion: dict[str, Any] = {
        "type": "string",
        "nullable": True,
        "description": "one of the voice's emotions",
    }
    if voices:
        voice["enum"] = [*voices, None]  # OpenAPI 3.0: a nullable enum lists null
    if emotions:
        emotion["enum"] = [*emotions, None]
    text = {
        "type": "string",
        "minLength": 1,
        "maxLength": max_text_chars,
        "description": "what to say (plain text is read like the MQTT say payload)",
    }
    error_detail = {
        "type": "object",
        "required": ["code", "message"],
        "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
    }
    event = {
        "type": "object",
        "description": "a lifecycle event, exactly as published on MQTT",
        "required": ["event", "id", "time"],
        "properties": {
            "event": {"type": "string", "enum": ["queued", "started", "finished", "rejected"]},
            "id": _nullable({"type": "string"}),
            "time": {"type": "number"},
            "position": {"type": "integer", "minimum": 1},
            "latency_ms": {"type": "number"},
            "result": {
                "type": "string",
                "enum": ["completed", "cancelled", "expired", "failed"],
            },
            "duration_ms": {"type": "number"},
            "synth_ms": {"type": "number"},
            "audio_ms": {"type": "number"},
            "rtf": _nullable({"type": "number"}),
            "error": error_detail,
            "code": {"type": "string"},
            "message": {"type": "string"},
        },
    }
    return {
        "PlainText": text,
        "Say": {
            "type": "object",
            "required": ["text"],
            "additionalProperties": False,
            "properties": {
                "text": text,
                "id": _nullable({"type": "string", "minLength": 1, "maxLength": MAX_ID_CHARS}),
                "emotion": emotion,
                "voice": voice,
                "speed": _nullable({"type": "number", "minimum": 0.5, "maximum": 2.0}),
                "volume": _nullable({"type": "number", "minimum": 0.0, "maximum": 1.0}),
                "priority": {"type": "string", "enum": list(PRIORITIES)},
                "interrupt": {"type": "boolean"},
                "ttl": _nullable({"type": "number", "minimum": 0, "maximum": 7 * 24 * 3600}),
            },
        },
        "Text": {
            "type": "object",
            "required": ["text"],
            "additionalProperties": False,
            "properties": {"text": text},
        },
        "Stop": {
            "type": "object",
            "additionalProperties": False,
            "description": "empty: stop what is playing; id: cancel that request; "
            "all: stop and clear the queue",
            "properties": {"id": _nullable({"type": "string"}), "all": {"type": "boolean"}},
        },
        "Error": {
            "type": "object",
            "required": ["id", "error"],
            "properties": {"id": _nullable({"type": "string"}), "error": error_detail},
        },
        "Event": event,
        "Request": {
            "type": "object",
            "required": ["id", "done", "events"],
            "properties": {
                "id": {"type": "string"},
                "done": {"type": "boolean", "description": "finished (or rejected)"},
                "events": {"type": "array", "items": _ref("Event")},
            },
        },
        "Stopped": {
            "type": "object",
            "required": ["ok"],
            "properties": {"ok": {"type": "boolean", "enum": [True]}},
        },
        "State": {
            "type": "object",
            "required": [
                "state",
                "current",
                "queue",
                "volume",
                "muted",
                "engine",
                "voice",
                "emotion",
                "ready",
                "last_error",
                "version",
                "uptime_s",
            ],
            "properties": {
                "state": {"type": "string", "enum": ["idle", "synthesizing", "speaking"]},
                "current": _nullable({"type": "string"}),
                "queue": {"type": "integer", "minimum": 0},
                "volume": {"type": "number", "minimum": 0, "maximum": 1},
                "muted": {"type": "boolean"},
                "engine": {"type": "string"},
                "voice": _nullable({"type": "string"}),
                "emotion": {"type": "string"},
                "ready": {"type": "boolean"},
                "last_error": _nullable({"type": "string"}),
                "version": {"type": "string"},
                "uptime_s": {"type": "integer", "minimum": 0},
            },
        },
        "Voices": {
            "type": "object",
            "required": ["engine", "voice", "emotion", "voices"],
            "properties": {
                "engine": {"type": "string"},
                "voice": {"type": "string", "description": "the default voice"},
                "emotion": {"type": "string", "description": "the default emotion"},
                "voices": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["name", "emotions"],
                        "properties": {
                            "name": {"type": "string"},
                            "emotions": {"type": "array", "items": {"type": "string"}},
                        },
                    },
                },
            },
        },
        "Reading": {
            "type": "object",
            "description": "how the text frontend reads a text (`voice-daemon text --json`)",
            "required": ["normalized", "sentences", "pinyin", "dropped"],
            "properties": {
                "normalized": {"type": "string"},
                "sentences": {"type": "array", "items": {"type": "string"}},
                "pinyin": {
                    "type": "array",
                    "items": {"type": "array", "items": {"type": "string"}},
                },
                "dropped": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "characters that cannot be read aloud (skipped)",
                },
            },
        },
        "Health": {
            "type": "object",
            "required": ["status", "ready"],
            "properties": {
                "status": {"type": "string", "enum": ["ok"]},
                "ready": {"type": "boolean"},
            },
        },
    }


def build_spec(
    *,
    version: str,
    max_text_chars: int,
    max_body_bytes: int,
    token: bool,
    voices: list[str] | None = None,
    emotions: list[str] | None = None,
) -> dict[str, Any]:
    """The OpenAPI document. ``voices``/``emotions`` (once the engine is loaded) become enums;
    ``token`` says whether the API asks for the bearer token."""
    guarded: dict[str, Any] = {"403": _error("forbidden: a foreign page's origin or host")}
    if token:
        guarded["401"] = _error("unauthorized: the bearer token is missing or wrong")
    too_large = _error(f"payload_too_large: the body is over {max_body_bytes} bytes")
    unsupported = _error("unsupported_media_type: a body type other than the listed ones")
    wait = {
        "name": "wait",
        "in": "query",
        "required": False,
        "description": "seconds to wait for the request to finish before answering",
        "schema": {"type": "number", "minimum": 0, "maximum": MAX_WAIT_S, "default": 0},
    }
    say_errors = {
        "400": _error(
            "the same codes as a rejected MQTT say (invalid_field, unknown_emotion, ...)"
        ),
        "413": too_large,
        "415": unsupported,
        **guarded,
    }
    paths: dict[str, Any] = {
        "/healthz": {
            "get": {
                "operationId": "health",
                "summary": "liveness (never asks for the token)",
                "responses": {"200": _json("the daemon answers", "Health"), "403": guarded["403"]},
            }
        },
        "/api/say": {
            "post": {
                "operationId": "say",
                "summary": "queue an announcement (the same fields and checks as the MQTT say)",
                "parameters": [wait],
                "requestBody": _body("Say", plain=True),
                "responses": {
                    "202": _json("queued; its events so far (all of them with ?wait)", "Request"),
                    **say_errors,
                    "409": _error("duplicate: the id was used recently"),
                    "503": _error("queue_full or shutting_down"),
                },
            }
        },
        "/api/requests/{id}": {
            "get": {
                "operationId": "request",
                "summary": "the lifecycle events of a recent request (MQTT ones too)",
                "parameters": [
                    {
                        "name": "id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "minLength": 1, "maxLength": MAX_ID_CHARS},
                    },
                    wait,
                ],
                "responses": {
                    "200": _json("the request's events", "Request"),
                    "400": _error("invalid_field: a bad wait"),
                    "404": _error("unknown_id: not seen recently"),
                    **guarded,
                },
            }
        },
        "/api/stop": {
            "post": {
                "operationId": "stop",
                "summary": "stop what is playing, cancel one request, or stop everything",
                "requestBody": _body("Stop", plain=False, required=False),
                "responses": {
                    "200": _json("done (the finished events follow)", "Stopped"),
                    "400": _error("the same codes as a rejected MQTT stop"),
                    "404": _error("unknown_id: no such queued or playing request"),
                    "413": too_large,
                    "415": unsupported,
                    **guarded,
                },
            }
        },
        "/api/state": {
            "get": {
                "operationId": "state",
                "summary": "the daemon's state (as retained on MQTT)",
                "responses": {"200": _json("the state", "State"), **guarded},
            }
        },
        "/api/voices": {
            "get": {
                "operationId": "voices",
                "summary": "the engine's voices and their emotions",
                "responses": {
                    "200": _json("voices", "Voices"),
                    "503": _error("not_ready: the engine is still loading"),
                    **guarded,
                },
            }
        },
        "/api/synth": {
            "post": {
                "operationId": "synth",
                "summary": "synthesize to a WAV file without playing it (priority, interrupt "
                "and ttl are accepted and ignored)",
                "requestBody": _body("Say", plain=True),
                "responses": {
                    "200": {
                        "description": "16-bit mono WAV at the engine's rate",
                        "content": {
                            "audio/wav": {"schema": {"type": "string", "format": "binary"}}
                        },
                    },
                    **say_errors,
                    "500": _error("engine_error or engine_output"),
                    "503": _error("not_ready: the engine is still loading"),
                    "504": _error("synth_timeout"),
                },
            }
        },
        "/api/text": {
            "post": {
                "operationId": "text",
                "summary": "how the text frontend reads a text: normalized, sentences, pinyin "
                "(to debug a mispronunciation)",
                "requestBody": _body("Text", plain=True),
                "responses": {"200": _json("the reading", "Reading"), **say_errors},
            }
        },
        "/api/events": {
            "get": {
                "operationId": "events",
                "summary": "live stream (server-sent events): `state` with the state, then "
                "`event` for every lifecycle event and `state` for every change",
                "responses": {
                    "200": {
                        "description": "an endless text/event-stream",
                        "content": {"text/event-stream": {"schema": {"type": "string"}}},
                    },
                    **guarded,
                },
            }
        },
        "/api/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "this document",
                "responses": {
                    "200": {
                        "description": "OpenAPI 3.0",
                        "content": {JSON: {"schema": {"type": "object"}}},
                    },
                    **guarded,
                },
            }
        },
    }
    spec: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": {
            "title": "voice-daemon",
            "version": version,
            "description": "A door into the same queue as the MQTT say/stop topics; errors "
            "carry the same stable codes as the MQTT events.",
        },
        "paths": paths,
        "components": {"schemas": _schemas(max_text_chars, voices, emotions)},
    }
    if token:
        spec["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        spec["security"] = [{"bearer": []}]
        paths["/healthz"]["get"]["security"] = []
    return spec
