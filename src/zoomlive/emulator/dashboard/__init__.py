"""The dashboard's static files: ``/`` and ``/_dashboard/{file}``, served from the package (no
CDN, no request beyond the emulator). Its data comes from the control API, guarded by the admin
key when one is set."""

from __future__ import annotations

from importlib import resources

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

FILES = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "faults.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
    "watch.js": "text/javascript; charset=utf-8",
}
SECURITY = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; media-src 'self' blob:"
    ),
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}


def _file(name: str) -> Response:
    if name not in FILES:
        return Response(status_code=404)
    folder = resources.files("zoomlive.emulator") / "dashboard"
    try:
        data = (folder / name).read_bytes()
    except (FileNotFoundError, OSError):
        return Response(status_code=404)
    return Response(data, media_type=FILES[name], headers=SECURITY)


async def index(request: Request) -> Response:
    return _file("index.html")


async def static(request: Request) -> Response:
    return _file(request.path_params["name"])


def dashboard_routes() -> list[BaseRoute]:
    return [
        Route("/", index, methods=["GET"]),
        Route("/_dashboard/{name}", static, methods=["GET"]),
    ]
