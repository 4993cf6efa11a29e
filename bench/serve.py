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


def build_app(target: str, db: str, limits: str = "off", redis_url: str | None = None) -> Any:
    if target == "ceiling":
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from ceiling_app import app

        return app
    import zoomlive
    from zoomlive.emulator.settings import Settings

    # Media off (these loads never start a stream) and, unless asked, rate limits off: the loads
    # go far past Zoom's per-second numbers, which would turn them into a stream of 429s.
    rate_limits = "off"
    if limits != "off":
        # On, but with numbers no load here reaches: the limiter does all its work, never 429.
        huge = {"rate": UNLIMITED, "daily": UNLIMITED}
        table = {p: {lb: huge for lb in ("Light", "Medium", "Heavy")} for p in ("business",)}
        path = Path(db + ".limits.json") if db != ":memory:" else Path("/tmp/zl-limits.json")
        path.write_text(__import__("json").dumps(table))
        rate_limits = str(path)
    return zoomlive.create_app(
        Settings(
            db=db,
            webinar_daily_cap=UNLIMITED,
            media="off",
            rate_limits=rate_limits,
            redis_url=redis_url if limits == "redis" else None,
        )
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", choices=["emulator", "ceiling"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", default=":memory:", help="emulator store (SQLite path)")
    parser.add_argument("--limits", choices=["off", "memory", "redis"], default="off")
    parser.add_argument("--redis-url", default=None)
    args = parser.parse_args(argv)

    import uvicorn

    app = build_app(args.target, args.db, args.limits, args.redis_url)
    uvicorn.run(app, port=args.port, **UVICORN_OPTIONS)


if __name__ == "__main__":
    main()
