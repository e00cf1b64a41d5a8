"""The HTTP server on the daemon's own event loop: aiohttp application, start and stop."""

from __future__ import annotations

import asyncio
import logging
from typing import Final

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from daemon.engines.base import Engine, EngineError
from daemon.http.auth import Handler, make_middleware, read_token
from daemon.http.hub import EventHub
from daemon.http.render import Renderer
from daemon.http.responses import CODE_OF_STATUS, error_response
from daemon.http.routes import Api
from daemon.request import Rejected
from daemon.service import VoiceService
from daemon.settings import Settings
from daemon.speaker import TextPlan
from daemon.synthesis import SynthesisError

log = logging.getLogger(__name__)

#: Seconds open requests (live streams, ?wait) get to end when the daemon stops.
SHUTDOWN_TIMEOUT_S: Final = 2.0
#: aiohttp's access log, without a timestamp (journald adds one) and with our [id] slot.
ACCESS_LOG_FORMAT: Final = '[-] %a "%r" %s %b %Tfs'


class MalformedRequestFilter(logging.Filter):
    """aiohttp logs a malformed request (a stray client, a fuzzer) as an ERROR with a
    traceback; it is the client's fault, so one WARNING line without the traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError):
            message = (str(error.message).strip().splitlines() or ["bad request"])[0]
            record.msg, record.args = "[-] %s: %s", (record.getMessage(), message)
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.exc_info = record.exc_text = None
        return True


class HttpServerError(Exception):
    """The HTTP server could not start (address in use, no permission, ...)."""


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure as the JSON error answer, with the request id where there is one."""
    try:
        return await handler(request)
    except Rejected as rejected:
        log.warning(
            "[%s] rejected %s %s: %s",
            rejected.request_id or "-",
            request.method,
            request.path,
            rejected,
        )
        return error_response(rejected.code, rejected.message, rejected.request_id)
    except (SynthesisError, EngineError) as error:
        log.error("[-] %s %s failed: %s: %s", request.method, request.path, error.code, error)
        return error_response(error.code, error.message)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        code = CODE_OF_STATUS.get(
            error.status, "internal_error" if error.status >= 500 else "bad_request"
        )
        headers = {"Allow": error.headers["Allow"]} if "Allow" in error.headers else None
        return error_response(
            code,
            f"{error.reason}: {request.method} {request.path}",
            status=error.status,
            headers=headers,
        )
    except asyncio.CancelledError:
        raise
    except Exception as error:
        log.exception("[-] %s %s failed unexpectedly", request.method, request.path)
        return error_response("internal_error", f"{type(error).__name__}: {error}")


def build_app(
    settings: Settings,
    service: VoiceService,
    engine: Engine,
    hub: EventHub,
    token: str | None,
) -> web.Application:
    app = web.Application(
        middlewares=[json_errors, make_middleware(token, settings.http.host)],
        client_max_size=settings.mqtt.max_payload_bytes,
    )
    synthesis = settings.synthesis
    plan = TextPlan(synthesis.max_sentence_chars, synthesis.first_sentence_chars)
    renderer = Renderer(service.synthesis_pool, plan)
    Api(settings, service, engine, hub, renderer, token=token is not None).add_to(app)
    return app


class HttpServer:
    """The web page and HTTP API of one daemon; events reach it through service listeners."""

    def __init__(self, settings: Settings, service: VoiceService, engine: Engine) -> None:
        self._settings = settings
        self._service = service
        self._engine = engine
        self.hub = EventHub(keep=max(settings.queue.dedupe_ids, settings.queue.max_length, 100))
        service.add_listener(self.hub.on_event)
        service.add_state_listener(self.hub.on_state)
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        http = self._settings.http
        host = f"[{http.host}]" if ":" in http.host else http.host
        return f"http://{host}:{http.port}/"

    async def start(self) -> None:
        """Listen; raises ConfigError (token) or HttpServerError (address)."""
        http = self._settings.http
        token = read_token(http)
        server_log = logging.getLogger("aiohttp.server")
        if not any(isinstance(f, MalformedRequestFilter) for f in server_log.filters):
            server_log.addFilter(MalformedRequestFilter())
        app = build_app(self._settings, self._service, self._engine, self.hub, token)
        runner = web.AppRunner(
            app,
            access_log_format=ACCESS_LOG_FORMAT,
            shutdown_timeout=SHUTDOWN_TIMEOUT_S,
            handle_signals=False,
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, http.host, http.port).start()
        except OSError as error:
            await runner.cleanup()
            raise HttpServerError(
                f"cannot listen on {http.host}:{http.port}: {error.strerror or error}"
            ) from None
        self._runner = runner
        log.info(
            "[-] web page and HTTP API on %s (%s)",
            self.url,
            "token required" if token else "no token: loopback only",
        )

    async def close(self) -> None:
        """End live streams and waits, then stop listening."""
        self.hub.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
