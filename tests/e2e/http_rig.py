"""HTTP helpers for the end-to-end tests of the web page and HTTP API: a small client on
http.client (no dependency beyond the standard library), a live-stream reader and a daemon
started with the http section enabled."""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from tests.rig import Broker, Daemon, Watcher, free_port, running_daemon, wait_until


@dataclass
class Answer:
    status: int
    headers: Message
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def code(self) -> str:
        """The error code of a JSON error answer."""
        return str(self.json()["error"]["code"])


@dataclass
class HttpClient:
    port: int
    token: str | None = None
    host: str = "127.0.0.1"

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        form: dict[str, str] | None = None,
        body: bytes | str | None = None,
        content_type: str | None = None,
        headers: dict[str, str] | None = None,
        token: str | None = None,
        timeout: float = 60,
    ) -> Answer:
        sent = dict(headers or {})
        bearer = token if token is not None else self.token
        if bearer:
            sent.setdefault("Authorization", f"Bearer {bearer}")
        if json_body is not None:
            body, content_type = json.dumps(json_body, ensure_ascii=False), "application/json"
        elif form is not None:
            body, content_type = urlencode(form), "application/x-www-form-urlencoded"
        if isinstance(body, str):
            body = body.encode("utf-8")
        if content_type:
            sent["Content-Type"] = content_type
        connection = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            return Answer(response.status, response.headers, response.read())
        finally:
            connection.close()

    def get(self, path: str, **kwargs: Any) -> Answer:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Answer:
        return self.request("POST", path, **kwargs)

    def answers(self) -> bool:
        with contextlib.suppress(OSError):
            return self.get("/healthz", timeout=2).status == 200
        return False

    @contextlib.contextmanager
    def stream(self) -> Iterator[LiveStream]:
        live = LiveStream(self)
        live.start()
        try:
            yield live
        finally:
            live.close()


@dataclass
class LiveStream:
    """Reads ``GET /api/events`` (server-sent events) on a thread."""

    client: HttpClient
    items: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def start(self) -> None:
        headers = {"Authorization": f"Bearer {self.client.token}"} if self.client.token else {}
        self._socket = socket.create_connection((self.client.host, self.client.port), 60)
        self._connection = http.client.HTTPConnection(self.client.host, self.client.port)
        self._connection.sock = self._socket
        self._connection.request("GET", "/api/events", headers=headers)
        self.response = self._connection.getresponse()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        kind, data = "message", ""
        with contextlib.suppress(OSError, ValueError):
            for raw in self.response:
                line = raw.decode("utf-8").rstrip("\n")
                if line.startswith("event:"):
                    kind = line[6:].strip()
                elif line.startswith("data:"):
                    data = line[5:].strip()
                elif not line and data:
                    with self._lock:
                        self.items.append((kind, json.loads(data)))
                    kind, data = "message", ""

    def of(self, kind: str) -> list[dict[str, Any]]:
        with self._lock:
            return [data for k, data in self.items if k == kind]

    def wait(self, predicate: Callable[[dict[str, Any]], bool], kind: str = "event") -> Any:
        return wait_until(
            lambda: next((d for d in self.of(kind) if predicate(d)), None),
            60,
            f"a matching {kind} on the live stream",
        )

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._socket.shutdown(socket.SHUT_RDWR)
        self._socket.close()
        self._thread.join(5)


@contextlib.contextmanager
def http_daemon(
    directory: Path,
    broker: Broker,
    *,
    config: dict[str, Any],
    env: dict[str, str],
    http: dict[str, Any] | None = None,
    token: str | None = None,
) -> Iterator[tuple[Daemon, Watcher, HttpClient]]:
    """The real daemon with the http section enabled on a free port."""
    port = free_port()
    section = {"enabled": True, "host": "127.0.0.1", "port": port, **(http or {})}
    with running_daemon(directory, broker, config={**config, "http": section}, env=env) as (
        daemon,
        watcher,
    ):
        client = HttpClient(port, token)
        try:
            wait_until(client.answers, 20, "the HTTP API to answer")
        except AssertionError:
            raise AssertionError(f"no HTTP; the daemon's log:\n{daemon.log()[-4000:]}") from None
        yield daemon, watcher, client
