"""``zoomlive record``: a recording proxy in front of Zoom (or anything that answers like it).

The user's client points at the proxy for both Zoom hosts (API base ``http://127.0.0.1:PORT/v2``,
OAuth base ``http://127.0.0.1:PORT``). Each request is forwarded as it came (its
``Authorization`` header too: the proxy keeps no credential) to the upstream (``/oauth/...`` to
the OAuth upstream), the answer goes back as it came, plus ``x-zoomlive-violations`` when the
request or the answer breaks Zoom's document. Each exchange, redacted, is appended to the
cassette, which is rewritten atomically after every one, so a proxy stopped any way leaves a
whole cassette of what it saw.

``POST /_zoomlive/host`` (``{"action": "start", "webinar": ID}``, or ``"meeting": ID``) is not
forwarded: it records a host step, what the host did in the Zoom app, which no API call shows.
``GET /_zoomlive/health`` says the recorder is up. No other ``/_zoomlive/`` path is forwarded.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from zoomlive.parity import document
from zoomlive.parity.cassette import (
    KEPT_HEADERS,
    REDACTED,
    Body,
    Cassette,
    Exchange,
    HostStep,
    Redactor,
)

log = logging.getLogger("zoomlive.record")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

VIOLATIONS_HEADER = "x-zoomlive-violations"
OWN_PREFIX = "/_zoomlive/"
HOST_PATH = "/_zoomlive/host"
HEALTH_PATH = "/_zoomlive/health"
MAX_BODY = 8 * 1024 * 1024
_HOP = frozenset(
    {
        "host",
        "connection",
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "content-length",
        "upgrade",
        "te",
        "trailer",
        "accept-encoding",
    }
)
_DROPPED_ANSWER = _HOP | {"content-encoding", "set-cookie"}


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def body_of(content_type: str | None, raw: bytes, redactor: Redactor) -> Body:
    """A body as a cassette keeps it, redacted."""
    if not raw:
        return Body()
    media = (content_type or "").split(";", 1)[0].strip().lower()
    text = raw.decode("utf-8", errors="replace")
    if media == "application/x-www-form-urlencoded" and raw.lstrip()[:1] not in (b"{", b"["):
        return Body("form", dict(redactor.pairs(parse_qsl(text, keep_blank_values=True))))
    if media == "multipart/form-data":
        from zoomlive.api.errors import ZoomError
        from zoomlive.emulator.bodies import parse_multipart

        try:
            fields = parse_multipart(content_type or "", raw)
        except ZoomError:
            return Body("text", redactor.text(text))
        return Body("form", {k: str(redactor.value(v, k)) for k, v in fields.items()})
    try:
        return Body("json", redactor.value(json.loads(raw)))
    except (ValueError, RecursionError):
        return Body("text", redactor.text(text))


def auth_kind(value: str | None) -> str:
    if not value:
        return "none"
    scheme = value.split(" ", 1)[0].lower()
    return scheme if scheme in ("bearer", "basic") else "other"


class Recorder:
    """The proxy as an ASGI app: forwards, checks, records."""

    def __init__(
        self,
        upstream: str,
        out: Path,
        *,
        oauth_upstream: str | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.upstream = upstream.rstrip("/").removesuffix("/v2")
        self.oauth_upstream = (oauth_upstream or self.upstream).rstrip("/")
        self.out = Path(out)
        self.cassette = Cassette(upstream=self.upstream, recorded_at=_now())
        self.redactor = Redactor()
        self.lock = asyncio.Lock()
        loopback = is_loopback(self.upstream) and is_loopback(self.oauth_upstream)
        # A proxy from the environment must never see loopback calls (nor their credentials).
        self.http = httpx.AsyncClient(timeout=timeout, trust_env=not loopback)
        self.cassette.save(self.out)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await self.aclose()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        raw = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            raw += message.get("body", b"")
            if len(raw) > MAX_BODY:
                await _answer(send, 413, {"code": 413, "message": "Request body too large."})
                return
            if not message.get("more_body"):
                break
        path: str = scope["path"]
        if path.startswith(OWN_PREFIX):  # the recorder's own paths: never forwarded
            if path == HOST_PATH and scope["method"] == "POST":
                await self._host_step(raw, send)
            elif path == HEALTH_PATH:
                await _answer(send, 200, {"status": "recording", "upstream": self.upstream})
            else:
                await _answer(send, 404, {"code": 404, "message": "Not a recorder path."})
            return
        await self._forward(scope, raw, send)

    async def _host_step(self, raw: bytes, send: Send) -> None:
        try:
            data = json.loads(raw)
            action = data["action"]
            session = "webinar" if "webinar" in data else "meeting"
            ident = int(data[session])
            if action not in ("start", "end"):
                raise ValueError(action)
        except (ValueError, KeyError, TypeError):
            message = 'expected {"action": "start"|"end", "webinar"|"meeting": ID}'
            await _answer(send, 400, {"code": 300, "message": message})
            return
        async with self.lock:
            self.cassette.entries.append(HostStep(action, session, ident))
            self.cassette.save(self.out)
        log.info("host step: %s %s %s", action, session, ident)
        await _answer(send, 204, None)

    async def _forward(self, scope: Scope, raw: bytes, send: Send) -> None:
        path: str = scope["path"]
        query = scope.get("query_string", b"").decode("latin-1")
        base = self.oauth_upstream if path.startswith("/oauth/") else self.upstream
        # As sent: a meeting's UUID with a "/" travels double-encoded, the decoded path would
        # lose that.
        raw_path = scope.get("raw_path") or path.encode()
        url = base + raw_path.decode("latin-1") + (f"?{query}" if query else "")
        headers = [
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, v in scope["headers"]
            if k.decode("latin-1").lower() not in _HOP
        ]
        header_map = {k.lower(): v for k, v in headers}
        try:
            answer = await self.http.request(scope["method"], url, headers=headers, content=raw)
        except httpx.HTTPError as exc:
            log.warning("upstream %s unreachable: %s", base, exc)
            message = f"zoomlive record: upstream {base} unreachable ({type(exc).__name__})"
            await _answer(send, 502, {"code": 502, "message": message})
            return
        content = answer.content
        content_type = header_map.get("content-type")
        violations = document.check(
            scope["method"],
            path,
            query,
            content_type,
            raw,
            answer.status_code,
            content,
        )
        redactor = self.redactor
        # A path may name a user by e-mail address; a violation may quote the path.
        violations = [redactor.text(v) for v in violations]
        shown = redactor.text(path)
        exchange = Exchange(
            method=scope["method"],
            path=shown,
            query=redactor.pairs(parse_qsl(query, keep_blank_values=True)),
            auth=auth_kind(header_map.get("authorization")),
            content_type=content_type,
            request=body_of(content_type, raw, redactor),
            status=answer.status_code,
            headers={k: answer.headers[k] for k in KEPT_HEADERS if k in answer.headers},
            response=body_of(answer.headers.get("content-type"), content, redactor),
            violations=violations,
        )
        async with self.lock:
            self.cassette.entries.append(exchange)
            self.cassette.save(self.out)
        line = f"{scope['method']} {shown} -> {answer.status_code}"
        if violations:
            log.warning("%s; violates Zoom's document: %s", line, "; ".join(violations))
        else:
            log.info("%s", line)
        out_headers = [
            (k.encode("latin-1"), v.encode("latin-1"))
            for k, v in answer.headers.multi_items()
            if k.lower() not in _DROPPED_ANSWER
        ]
        if path.startswith("/oauth/") and answer.status_code == 200:
            content = self._own_api_url(scope, content)
        if violations:
            text = "; ".join(violations)
            text = text.encode("ascii", "replace").decode()[:4000]
            out_headers.append((VIOLATIONS_HEADER.encode(), text.encode()))
        out_headers.append((b"content-length", str(len(content)).encode()))
        await send(
            {"type": "http.response.start", "status": answer.status_code, "headers": out_headers}
        )
        await send({"type": "http.response.body", "body": content})

    def _own_api_url(self, scope: Scope, content: bytes) -> bytes:
        """The token's ``api_url`` names the proxy: a client that follows it stays here."""
        try:
            data = json.loads(content)
        except ValueError:
            return content
        if not isinstance(data, dict) or "api_url" not in data:
            return content
        host = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
        if host:
            data["api_url"] = f"{scope.get('scheme', 'http')}://{host}"
        return json.dumps(data).encode()


async def _answer(send: Send, status: int, body: Any) -> None:
    content = b"" if body is None else json.dumps(body).encode()
    headers = [(b"content-length", str(len(content)).encode())]
    if body is not None:
        headers.append((b"content-type", b"application/json"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": content})


__all__ = ["REDACTED", "VIOLATIONS_HEADER", "Recorder", "is_loopback"]
