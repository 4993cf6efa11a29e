"""autostream: a Zoom webhook endpoint that starts a webinar's custom live stream when the
webinar starts, and stops it when the webinar ends.

Zoom sends ``webinar.started`` and ``webinar.ended`` to the endpoint URL of a Server-to-Server
app's event subscription, signed with the subscription's secret token. autostream checks each
signature (and that the request is recent), answers Zoom's URL validation challenge, and calls
Zoom's API with zoomlive's SDK: ``PATCH /v2/webinars/{id}/livestream/status``. The webinar's live
stream must be configured (stream URL, key, page) beforehand, in Zoom or with
``zoomlive webinar livestream configure``.

Run it (``pip install zoomlive uvicorn starlette``)::

    export ZOOM_ACCOUNT_ID=... ZOOM_CLIENT_ID=... ZOOM_CLIENT_SECRET=...
    export ZOOM_WEBHOOK_SECRET_TOKEN=...   # the app's "Secret Token" in the Zoom Marketplace
    python autostream.py --port 8000       # endpoint: http://HOST:8000/zoom/events

Against the emulator instead of Zoom, add ``ZOOM_API_BASE_URL=http://127.0.0.1:8080/v2`` (the
SDK reads it) and subscribe the endpoint with ``PUT /_emulator/apps/{clientId}/webhook``.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import logging
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from zoomlive import AsyncZoomClient, ZoomAPIError

log = logging.getLogger("autostream")

MAX_AGE_S = 300
"""Requests signed longer ago than this (or this far in the future) are refused: replays."""
DISPLAY_NAME_MAX = 50  # Zoom's limit for the stream's display name


def signature_ok(secret_token: str, headers: Any, body: bytes, now: float) -> bool:
    """Zoom's check: ``x-zm-signature`` is ``v0=`` + hex HMAC-SHA256 of
    ``v0:{x-zm-request-timestamp}:{body}`` with the secret token, and the timestamp is recent."""
    stamp = headers.get("x-zm-request-timestamp", "")
    if not stamp.isdigit() or abs(now - int(stamp)) > MAX_AGE_S:
        return False
    message = b"v0:" + stamp.encode() + b":" + body
    expected = "v0=" + hmac.new(secret_token.encode(), message, hashlib.sha256).hexdigest()
    return hmac.compare_digest(headers.get("x-zm-signature", ""), expected)


def create_app(
    secret_token: str,
    zoom: AsyncZoomClient | None = None,
    *,
    clock: Any = time.time,
) -> Starlette:
    """The service. ``zoom``: the SDK client to call Zoom with (default: one configured from
    the ``ZOOM_*`` environment variables, closed with the app). ``app.state.activity`` lists
    what it did, newest last (``GET /activity`` shows it)."""
    activity: list[dict[str, Any]] = []

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        client = zoom or AsyncZoomClient()
        app.state.zoom = client
        try:
            yield
        finally:
            if zoom is None:
                await client.aclose()

    async def events(request: Request) -> Response:
        body = await request.body()
        if not signature_ok(secret_token, request.headers, body, clock()):
            return JSONResponse({"error": "invalid signature"}, status_code=401)
        try:
            event = json.loads(body)
            name = event["event"]
            payload = event["payload"]
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": "not a Zoom event"}, status_code=400)
        if name == "endpoint.url_validation":
            plain = str(payload.get("plainToken", ""))
            digest = hmac.new(secret_token.encode(), plain.encode(), hashlib.sha256).hexdigest()
            return JSONResponse({"plainToken": plain, "encryptedToken": digest})
        if name not in ("webinar.started", "webinar.ended"):
            return Response(status_code=200)  # subscribed to more than we act on: fine
        webinar = payload.get("object") or {}
        webinar_id = int(webinar["id"])
        live = request.app.state.zoom.webinars.livestream
        record: dict[str, Any] = {"event": name, "webinar_id": webinar_id}
        try:
            if name == "webinar.started":
                topic = str(webinar.get("topic") or "Live")[:DISPLAY_NAME_MAX]
                await live.start(webinar_id, display_name=topic, active_speaker_name=True)
                record["action"] = "started"
            else:
                # Zoom stops the stream with the webinar; stopping again is harmless, and covers
                # a stream started by hand during the webinar.
                await live.stop(webinar_id)
                record["action"] = "stopped"
        except ZoomAPIError as err:
            # Zoom's own refusal (say 3000: no custom stream configured). Answer 200 anyway:
            # a retry of this event would be refused the same way.
            log.warning("webinar %s: %s", webinar_id, err)
            record["action"] = "refused"
            record["error"] = {"code": err.code, "message": err.message}
        activity.append(record)
        return Response(status_code=200)

    async def show_activity(request: Request) -> Response:
        return JSONResponse(activity)

    app = Starlette(
        routes=[
            Route("/zoom/events", events, methods=["POST"]),
            Route("/activity", show_activity, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    app.state.activity = activity
    return app


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    app = create_app(os.environ["ZOOM_WEBHOOK_SECRET_TOKEN"])
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
