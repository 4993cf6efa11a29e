"""Serve one benchmark target on 127.0.0.1 with uvicorn: the emulator or the ceiling app.

    python bench/serve.py emulator --port 8080 --db /tmp/bench.db
    python bench/serve.py ceiling --port 8081

Both targets go through the same ``uvicorn.run`` call with the same options, which are those of
``zoomlive serve`` (one worker, uvicorn's ``auto`` loop and HTTP implementation, log level
``warning``, no access log). The emulator is built with ``zoomlive.create_app`` rather than run
through ``zoomlive serve`` only because the bench needs ``webinar_daily_cap`` lifted: the PATCH
load performs far more than Zoom's 100 updates per host and day.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
"""The bench only ever binds the loopback."""

UVICORN_OPTIONS: dict[str, Any] = {
    "host": HOST,
    "log_level": "warning",
    "access_log": False,
    "workers": None,  # one process, as `zoomlive serve`
    "loop": "auto",
    "http": "auto",
}
"""The options both targets run with; the same as ``zoomlive serve`` passes to uvicorn."""

UNLIMITED = 10**9


def resolved_implementations() -> dict[str, str]:
    """What uvicorn's ``auto`` picks here: uvloop and httptools when installed."""
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    return {"loop": loop, "http": http}


def build_app(target: str, db: str) -> Any:
    if target == "ceiling":
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from ceiling_app import app

        return app
    import zoomlive
    from zoomlive._server.settings import Settings

    return zoomlive.create_app(Settings(db=db, webinar_daily_cap=UNLIMITED))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", choices=["emulator", "ceiling"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", default=":memory:", help="emulator store (SQLite path)")
    args = parser.parse_args(argv)

    import uvicorn

    uvicorn.run(build_app(args.target, args.db), port=args.port, **UVICORN_OPTIONS)


if __name__ == "__main__":
    main()
