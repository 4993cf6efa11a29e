"""Who may talk to the emulator: the ``Host`` and ``Origin`` checks that keep a web page the
developer happens to open from driving an emulator on their loopback.

A page can send "simple" cross-site requests (``text/plain`` or form bodies, no preflight) to
``http://127.0.0.1:8080``, and a DNS-rebinding page can even read the answers under its own
host name. So, before any route runs:

* every request must name a host the emulator answers to in ``Host`` (the loopback names, the
  address it is bound to, ``--public-url``'s host, ``--allowed-host`` ones; any host when bound
  to a wildcard address, where ``--admin-key`` is required anyway);
* a control request (``/_emulator``) that carries an ``Origin`` must come from the emulator's
  own origin (the dashboard does);
* a state-changing control request with a body (or a ``Content-Type``) must say it is JSON or
  YAML: types that a cross-site page can only send after a CORS preflight, which the emulator
  never grants.

Refusals are 403 with the emulator's ``{"code", "message"}`` body. Before all that, HTTP's own
rule (RFC 9112 §3.2): an HTTP/1.1 request without ``Host``, with more than one, or with an
empty one is answered 400, in the same body shape; HTTP/1.0 may go without (the loopback is
assumed).
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from zoomlive.api.errors import E, ZoomError

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "testserver"})
"""``testserver`` is the name Starlette's in-process ``TestClient`` sends."""
WILDCARD_BINDS = frozenset({"0.0.0.0", "::", ""})
CONTROL_PREFIX = "/_emulator"
BODY_TYPES = frozenset(
    {"application/json", "application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"}
)
"""Accepted bodies of state-changing control requests (none is CORS-safelisted)."""
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MISSING_HOST = E.HOST_HEADER_MISSING.error()
BAD_HOST = E.HOST_HEADER_INVALID.error()


def host_name(value: str) -> str:
    """``Host``-header or URL authority -> the bare, lower-case host name (no port)."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:].split("]", 1)[0]
    if value.count(":") > 1:  # a bare IPv6 address
        return value
    return value.split(":", 1)[0].rstrip(".")


def allowed_hosts(
    bind_host: str | None, public_url: str | None, extra: Iterable[str] = ()
) -> frozenset[str] | None:
    """The host names to answer to, or None for any (bound to a wildcard address, or ``*``)."""
    extra = [host_name(h) if h != "*" else "*" for h in extra]
    if "*" in extra or (bind_host is not None and bind_host in WILDCARD_BINDS):
        return None
    names = set(LOOPBACK_NAMES) | set(extra)
    if bind_host:
        names.add(host_name(bind_host))
    if public_url:
        names.add(host_name(urlsplit(public_url).netloc))
    return frozenset(names)


class RequestGuard:
    """ASGI middleware applying the checks above; the first to fail answers."""

    def __init__(self, app: ASGIApp, hosts: frozenset[str] | None, public_url: str | None) -> None:
        self.app = app
        self.hosts = hosts
        parts = urlsplit(public_url) if public_url else None
        self.public_origin = f"{parts.scheme}://{parts.netloc}".lower() if parts else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        err = self.problem(scope)
        if err is None:
            await self.app(scope, receive, send)
            return
        body = err.to_json()
        await send(
            {
                "type": "http.response.start",
                "status": err.status,
                "headers": [
                    (b"content-type", b"application/json;charset=UTF-8"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def problem(self, scope: Scope, headers: dict[bytes, bytes] | None = None) -> ZoomError | None:
        """The refusal to answer, if any. ``headers``: the request's, by lower-case name, the
        first of each, when the caller has them already."""
        raw = scope["headers"]
        if headers is None:
            headers = {}
            for key, value in raw:
                headers.setdefault(key.lower(), value)
        given = headers.get(b"host")
        if given is None:
            if scope.get("http_version") != "1.0":
                return MISSING_HOST
            host = ""
        else:
            host = given.decode("latin-1")
            if not host.strip():
                return BAD_HOST
            # Repeated names are found by size: the usual request pays nothing for the check.
            if len(headers) != len(raw) and sum(k.lower() == b"host" for k, _ in raw) > 1:
                return BAD_HOST
            if self.hosts is not None and host_name(host) not in self.hosts:
                return E.HOST_NOT_SERVED.error(host=host_name(host))
        if not scope["path"].startswith(CONTROL_PREFIX):
            return None
        origin = headers.get(b"origin")
        if origin is not None:
            given_origin = origin.decode("latin-1").strip().lower()
            own = f"{scope.get('scheme', 'http')}://{host}".lower()
            if given_origin not in (own, self.public_origin):
                return E.CONTROL_CROSS_ORIGIN.error()
        if scope["method"] in SAFE_METHODS:
            return None
        media = headers.get(b"content-type", b"").decode("latin-1")
        media = media.split(";", 1)[0].strip().lower()
        length = headers.get(b"content-length", b"0").strip()
        has_body = b"transfer-encoding" in headers or (length not in (b"", b"0"))
        if (has_body or media) and media not in BODY_TYPES:
            return E.CONTROL_BODY_TYPE.error()
        return None
