"""Who may use the HTTP API: the bearer token, and browser-origin checks.

- With a token configured (required for any non-loopback address) every request but
  ``/healthz`` and the static page must send ``Authorization: Bearer <token>``; anything else
  answers 401. The page itself holds no data: it asks for the token and sends it.
- Without a token (loopback only) the ``Host`` header must name a loopback address, so a web
  site cannot reach the API through DNS rebinding.
- A request that changes something (POST) from a browser page of another origin is refused,
  so a web site cannot make the device speak through the user's browser.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Final

from aiohttp import web
from yarl import URL

from daemon.http.responses import error_response
from daemon.settings import ConfigError, HttpSettings, is_loopback

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: Paths anyone may read: the liveness probe and the page (which asks for the token).
PUBLIC_PATHS: Final = frozenset({"/healthz", "/", "/index.html", "/favicon.ico"})
PUBLIC_PREFIXES: Final = ("/static/",)
_SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})


def read_token(http: HttpSettings) -> str | None:
    """The API token from its file (first line) or environment variable, None when unset."""
    if http.token_file:
        try:
            lines = Path(http.token_file).read_text(encoding="utf-8").splitlines()
        except OSError as error:
            raise ConfigError(
                f"http.token_file: cannot read {http.token_file}: {error.strerror}"
            ) from None
        token = lines[0].strip() if lines else ""
        if not token:
            raise ConfigError(f"http.token_file: {http.token_file} holds no token")
        return token
    if http.token_env:
        value = os.environ.get(http.token_env, "").strip()
        if not value:
            raise ConfigError(f"http.token_env: variable {http.token_env} is not set or empty")
        return value
    return None


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def bearer_matches(header: str | None, token: str) -> bool:
    """Whether an Authorization header carries exactly ``token`` (compared in constant time)."""
    if not header:
        return False
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode("utf-8"), token.encode("utf-8"))


def same_origin(origin: str, host: str) -> bool:
    """Whether a browser's Origin header names the server (Host header) it sent to."""
    try:
        sent_from = URL(origin)
        sent_to = URL(f"{sent_from.scheme}://{host}")
    except ValueError:
        return False
    if sent_from.scheme not in ("http", "https") or not sent_from.host:
        return False
    return (sent_from.host.lower(), sent_from.port) == ((sent_to.host or "").lower(), sent_to.port)


def host_name(host_header: str) -> str:
    """The host part of a Host header (``[::1]:8765`` -> ``::1``)."""
    try:
        return URL(f"http://{host_header}").host or ""
    except ValueError:
        return ""


def make_middleware(
    token: str | None, bound_host: str
) -> Callable[..., Awaitable[web.StreamResponse]]:
    """The middleware that enforces the rules in this module's docstring."""

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if token is None:
            name = host_name(request.host)
            if not (is_loopback(name) or name == bound_host):
                return error_response(
                    "forbidden", f"host {name!r} is not this server's loopback address"
                )
        origin = request.headers.get("Origin")
        if (
            request.method not in _SAFE_METHODS
            and origin is not None
            and not same_origin(origin, request.host)
        ):
            return error_response("forbidden", f"requests from pages of {origin} are not accepted")
        if (
            token is not None
            and not is_public(request.path)
            and not bearer_matches(request.headers.get("Authorization"), token)
        ):
            return error_response(
                "unauthorized",
                "send the API token: Authorization: Bearer <token>",
                headers={"WWW-Authenticate": 'Bearer realm="voice-daemon"'},
            )
        return await handler(request)

    return guard
