"""The optional extras and the modules each one brings, so that a command or the emulator that
misses one names the extra to install, in one line. Standard library only: the SDK and the CLI
import this module without any extra. pyproject.toml declares the extras;
tests/packaging/test_extras.py checks that every extra named in a pip install line anywhere
exists there, and that these modules are what the extras install."""

from __future__ import annotations

import importlib
from collections.abc import Iterable

EXTRAS: dict[str, tuple[str, ...]] = {
    "emulator": (
        "starlette",
        "anyio",
        "uvicorn",
        "sqlalchemy",
        "alembic",
        "python_multipart",
        "yaml",
        "pydantic_settings",
    ),
    "media": ("av", "cryptography"),
    "postgres": ("psycopg",),
    "redis": ("redis",),
}
"""Extra -> the top-level modules it installs that the code imports."""

WHAT = {
    "emulator": "the emulator",
    "media": "PyAV (the media extra)",
    "postgres": "the PostgreSQL driver",
    "redis": "the Redis client",
}


class MissingExtra(ImportError):
    """An optional dependency is not installed; the message names the extra that installs it."""


def extra_of(module: str) -> str:
    for extra, modules in EXTRAS.items():
        if module in modules:
            return extra
    return "emulator"


def missing(modules: Iterable[str]) -> str | None:
    """``None`` when every module imports; else what to install, e.g. ``the PostgreSQL driver:
    pip install 'zoomlive[postgres]' (missing: psycopg)``."""
    absent: list[str] = []
    for module in dict.fromkeys(modules):
        try:
            importlib.import_module(module)
        except ImportError:
            absent.append(module)
    if not absent:
        return None
    extras = list(dict.fromkeys(extra_of(m) for m in absent))
    return (
        f"{' and '.join(WHAT[e] for e in extras)}: pip install 'zoomlive[{','.join(extras)}]' "
        f"(missing: {', '.join(absent)})"
    )


def require(what: str, *modules: str) -> None:
    """Raise :class:`MissingExtra` (``{what} needs ...``) unless every module imports."""
    message = missing(modules)
    if message is not None:
        raise MissingExtra(f"{what} needs {message}")


def store_modules(db: str | None = None, redis_url: str | None = None) -> tuple[str, ...]:
    """The optional modules a store URL and a Redis URL need (none for SQLite, no Redis)."""
    needs: list[str] = []
    if db is not None and "://" in db and not db.startswith("sqlite"):  # as store.is_sqlite
        needs.append("psycopg")
    if redis_url:
        needs.append("redis")
    return tuple(needs)
