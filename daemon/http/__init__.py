"""The optional local web page and HTTP API: a thin door into the same queue as MQTT."""

from daemon.http.server import HttpServer, HttpServerError

__all__ = ["HttpServer", "HttpServerError"]
