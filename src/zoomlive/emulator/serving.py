"""``zoomlive serve`` as a process: its socket, its connections and its logs.

Order matters here. The socket is bound first and the store's lock taken second, before any
migration, seeding or reconciliation, so a second ``zoomlive serve`` on the same port or the
same SQLite file stops with one line and has changed nothing.

Connections are guarded (uvicorn closes idle keep-alive connections, but never one that has not
finished its headers, nor one whose body stops short): a connection must finish a request's
headers within ``header_timeout`` of opening, or of its previous answer, then the request's
body within ``body_timeout`` of its headers, or it is closed without an answer (whichever app,
``/v2`` or Starlette's, was waiting for the body sees a disconnect); and at most
``max_connections`` are open at once (beyond that, new ones are closed at once). Logs, at
every level, show no secret: uvicorn's trace log prints each request's query string, where the
event feed's ``admin_key`` travels.
"""

from __future__ import annotations

import asyncio
import copy
import errno
import gc
import logging
import re
import socket
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from zoomlive.emulator.settings import (
    BODY_TIMED_OUT,
    DEFAULT_BODY_TIMEOUT_S,
    DEFAULT_HEADER_TIMEOUT_S,
    DEFAULT_KEEPALIVE_S,
    DEFAULT_MAX_CONNECTIONS,
)

GRACEFUL_S = 2  # open event feeds must not hold up a stop

log = logging.getLogger("zoomlive.server")


class BindError(OSError):
    """The address cannot be listened on (in use, not ours, ...)."""


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``, or :class:`BindError` with a one-line reason."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say they are TCP, and
    # without it an answer written in two parts waits on the client's delayed ACK (40 ms).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            reason = "address already in use (is another zoomlive serve running there?)"
        else:
            reason = exc.strerror or str(exc)
        raise BindError(exc.errno or 0, f"cannot listen on {host}:{port}: {reason}") from None
    sock.set_inheritable(True)
    return sock


# connections -------------------------------------------------------------------------------


class _ConnectionGuard:
    """Mixed into uvicorn's HTTP protocol classes (h11 and httptools): deadlines for a request's
    headers and for its body, and a cap on open connections. Reads the limits from the uvicorn
    ``Config``.

    A connection notes since when it has been waiting for a request's headers (from its start,
    or from its previous answer), and then since when for the rest of its body (from the end of
    its headers); one sweep per server, a few times within the deadlines, closes those that
    waited too long. Per request that costs a few assignments, not a timer."""

    # Provided by the uvicorn protocol class this is mixed into.
    connections: set[Any]
    cycle: Any
    transport: asyncio.Transport
    loop: asyncio.AbstractEventLoop

    def __init__(self, config: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)  # type: ignore[call-arg]
        self._header_timeout = float(getattr(config, "header_timeout", DEFAULT_HEADER_TIMEOUT_S))
        self._body_timeout = float(getattr(config, "body_timeout", DEFAULT_BODY_TIMEOUT_S))
        self._max_connections = int(getattr(config, "max_connections", DEFAULT_MAX_CONNECTIONS))
        self._waiting_since: float | None = None
        self._body_since: float | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        if len(self.connections) > self._max_connections:
            transport.close()
            return
        self._waiting_since = self.loop.time()
        every = min(1.0, self._header_timeout / 4, self._body_timeout / 4)
        _start_sweep(self.loop, self.connections, every)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)  # type: ignore[misc]
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            self._waiting_since = None  # the headers are in
            if not cycle.more_body:
                self._body_since = None  # and the body too
            elif self._body_since is None:
                self._body_since = self.loop.time()

    def on_response_complete(self) -> None:
        super().on_response_complete()  # type: ignore[misc]
        cycle = self.cycle
        if cycle is None or cycle.response_complete:
            self._waiting_since = self.loop.time()
            self._body_since = None  # a body the app did not wait for is the next read's
        elif cycle.more_body:  # a pipelined request starts now: its body's deadline too
            self._body_since = self.loop.time()

    def _overdue(self, now: float) -> str | None:
        """Why this connection is to be closed now, if it is."""
        since = self._waiting_since
        if since is not None and now - since > self._header_timeout:
            return "headers"
        since = self._body_since
        if since is not None and now - since > self._body_timeout:
            return "body"
        return None

    def _close_overdue(self, why: str) -> None:
        if why == "body":
            cycle = self.cycle
            # One line for the whole story: the app that waited for the body sees it end
            # (a disconnect) and, seeing this mark, says nothing more.
            cycle.scope[BODY_TIMED_OUT] = True
            client = cycle.scope.get("client")
            log.info(
                "%s %s: %s sent no complete body within %g s; connection closed",
                cycle.scope.get("method"),
                cycle.scope.get("path"),
                f"{client[0]}:{client[1]}" if client else "a client",
                self._body_timeout,
            )
        self.transport.close()


_sweeps: dict[int, asyncio.TimerHandle] = {}


def _start_sweep(loop: asyncio.AbstractEventLoop, connections: set[Any], every: float) -> None:
    key = id(connections)
    if key not in _sweeps:
        _sweeps[key] = loop.call_later(every, _sweep, loop, connections, key, every)


def _sweep(loop: asyncio.AbstractEventLoop, connections: set[Any], key: int, every: float) -> None:
    """Close the connections that have waited past their deadline for a request's headers or
    body."""
    now = loop.time()
    for protocol in list(connections):
        overdue = getattr(protocol, "_overdue", None)
        if overdue is None or protocol.transport.is_closing():
            continue
        why = overdue(now)
        if why is not None:
            protocol._close_overdue(why)
    if connections:
        _sweeps[key] = loop.call_later(every, _sweep, loop, connections, key, every)
    else:
        del _sweeps[key]


class GuardedH11Protocol(_ConnectionGuard, H11Protocol):
    """uvicorn's h11 protocol with the connection guard (module level: workers pickle it)."""


try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # httptools is not installed
    GuardedHttpToolsProtocol: type[asyncio.Protocol] | None = None
else:

    class _GuardedHttpTools(_ConnectionGuard, HttpToolsProtocol):
        """uvicorn's httptools protocol with the connection guard."""

    GuardedHttpToolsProtocol = _GuardedHttpTools


def protocol_class(kind: str = "auto") -> type[asyncio.Protocol]:
    """uvicorn's fastest available HTTP protocol, with the connection guard mixed in."""
    if kind in ("auto", "httptools") and GuardedHttpToolsProtocol is not None:
        return GuardedHttpToolsProtocol
    if kind == "httptools":
        raise ImportError("httptools is not installed")
    return GuardedH11Protocol


# logs --------------------------------------------------------------------------------------

_SECRET_PARAMS = re.compile(
    r"((?:admin_key|client_secret|access_token|token)=)[^&'\"\s]*", re.IGNORECASE
)


class RedactSecrets(logging.Filter):
    """Blanks secrets that could appear in a log line (query strings at uvicorn's trace level).
    On handlers, so it sees every record that is written, whichever logger made it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = _SECRET_PARAMS.sub(r"\1<redacted>", message)
        if clean != message:
            record.msg, record.args = clean, ()
        return True


def log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging setup, plus the redaction filter and zoomlive's own loggers."""
    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"redact": {"()": f"{__name__}.RedactSecrets"}}
    for handler in config["handlers"].values():
        handler["filters"] = ["redact"]
    config["loggers"]["zoomlive"] = {
        "handlers": ["default"],
        "level": level.upper() if level != "trace" else "DEBUG",
        "propagate": False,
    }
    return config


# running -----------------------------------------------------------------------------------


@dataclass
class ServeOptions:
    """How the process serves, beyond what the app itself needs (:class:`Settings`)."""

    header_timeout: float = DEFAULT_HEADER_TIMEOUT_S
    body_timeout: float = DEFAULT_BODY_TIMEOUT_S
    keepalive_timeout: float = DEFAULT_KEEPALIVE_S
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    log_level: str = "warning"
    workers: int = 1


def uvicorn_config(app: Any, options: ServeOptions, **extra: Any) -> Any:
    import uvicorn

    config = uvicorn.Config(
        app,
        http=protocol_class(),
        log_level=options.log_level,
        log_config=log_config(options.log_level),
        access_log=False,
        timeout_keep_alive=max(1, round(options.keepalive_timeout)),
        timeout_graceful_shutdown=GRACEFUL_S,
        workers=options.workers,
        # No reverse proxy in front by default: X-Forwarded-* from a loopback client would be
        # believed otherwise, and reading them costs every request.
        proxy_headers=False,
        **extra,
    )
    # Read by the connection guard in each protocol instance.
    config.header_timeout = options.header_timeout  # type: ignore[attr-defined]
    config.body_timeout = options.body_timeout  # type: ignore[attr-defined]
    config.max_connections = options.max_connections  # type: ignore[attr-defined]
    return config


def run(app: Any, sock: socket.socket, options: ServeOptions) -> None:
    """Serve ``app`` (an ASGI app, or an import string with workers) on the bound socket."""
    import uvicorn

    if options.workers > 1:
        from uvicorn.supervisors import Multiprocess

        Multiprocess(uvicorn_config(app, options, factory=True), sockets=[sock]).run()
        return
    config = uvicorn_config(app, options)
    # Everything loaded so far (modules, the store's state) lives as long as the process: out
    # of the collector's sight, a full collection no longer walks it, which took tens of
    # milliseconds at a time under load (the p99 of a write call fell from ~45 to ~16 ms).
    gc.collect()
    gc.freeze()
    uvicorn.Server(config).run(sockets=[sock])
