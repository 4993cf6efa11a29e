"""Zoom's rate limits: per account and rate-limit label, by plan, per second (per minute for
Resource-intensive) and per day where Zoom has daily caps, reset at 00:00 UTC.

Counters live in process by default, or in Redis (``--redis-url``) so that every worker process
shares them. Windows are fixed and named by the emulator's clock (second, minute, UTC day), so a
test that moves the clock moves the windows. Every authenticated ``/v2`` answer carries Zoom's
headers: ``X-RateLimit-Category``, ``X-RateLimit-Type`` (``QPS`` or ``Daily-limit``),
``X-RateLimit-Limit`` and ``X-RateLimit-Remaining``; a per-second 429 adds ``X-RateLimit-Reset``
(a unix time), a daily 429 ``Retry-After`` (Zoom's ISO date-time, not seconds).
"""

from __future__ import annotations

import functools
import json
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from zoomlive._extras import require
from zoomlive.api.catalog import Label
from zoomlive.api.errors import E, ZoomError

PER_SECOND_MESSAGE = (
    "You have reached the maximum per-second rate limit for this API. Try again later."
)
DAILY_MESSAGE = (
    "You have reached the maximum daily rate limit for this API. Refer to the response header "
    "for details on when you can make another request."
)


@dataclass(frozen=True)
class Limit:
    """``rate`` requests per ``window`` seconds, and optionally ``daily`` requests per UTC day."""

    rate: int
    window: int = 1
    daily: int | None = None


PlanLimits = dict[str, Limit]

# Zoom's table (notes §3). Business and up share one column.
ZOOM_LIMITS: dict[str, PlanLimits] = {
    "free": {
        "Light": Limit(4, daily=6000),
        "Medium": Limit(2, daily=2000),
        "Heavy": Limit(1, daily=1000),
        "Resource-intensive": Limit(10, window=60, daily=30000),
    },
    "pro": {
        "Light": Limit(30),
        "Medium": Limit(20),
        "Heavy": Limit(10, daily=30000),
        "Resource-intensive": Limit(10, window=60, daily=30000),
    },
    "business": {
        "Light": Limit(80),
        "Medium": Limit(60),
        "Heavy": Limit(40, daily=60000),
        "Resource-intensive": Limit(20, window=60, daily=60000),
    },
}
ZOOM_LIMITS["enterprise"] = ZOOM_LIMITS["business"]
# Pro and Business+ share their daily budget between Heavy and Resource-intensive.
SHARED_DAILY = {"Heavy": "heavy+ri", "Resource-intensive": "heavy+ri"}


def load_limits(spec: str) -> dict[str, PlanLimits] | None:
    """``off`` (None), ``zoom``, or a JSON file ``{plan: {label: {rate, window, daily}}}`` whose
    missing entries fall back to Zoom's."""
    if spec == "off":
        return None
    if spec == "zoom":
        return ZOOM_LIMITS
    raw = json.loads(Path(spec).read_text())
    merged = {plan: dict(labels) for plan, labels in ZOOM_LIMITS.items()}
    for plan, labels in raw.items():
        for label, values in labels.items():
            merged.setdefault(plan, {})[label] = Limit(**values)
    return merged


class Counters(Protocol):
    def hit(self, key: str, ttl: int) -> int:
        """Add one to ``key`` (created with a ``ttl`` in seconds) and return the new count."""

    def hit_many(self, keys: list[tuple[str, int]]) -> list[int]: ...

    def peek(self, key: str) -> int: ...

    def clear(self) -> None: ...


class MemoryCounters:
    """Counters in this process (one worker)."""

    def __init__(self) -> None:
        self._values: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()
        self._sweep_at = 0.0

    def hit(self, key: str, ttl: int) -> int:
        """One key (the common case: a label without a daily cap), without the lists."""
        now = time.monotonic()
        with self._lock:
            if now > self._sweep_at:
                self._values = {k: v for k, v in self._values.items() if v[1] > now}
                self._sweep_at = now + 5
            entry = self._values.get(key)
            fresh = entry is None or entry[1] <= now
            entry = (1, now + ttl) if entry is None or fresh else (entry[0] + 1, entry[1])
            self._values[key] = entry
            return entry[0]

    def hit_many(self, keys: list[tuple[str, int]]) -> list[int]:
        now = time.monotonic()
        out = []
        with self._lock:
            if now > self._sweep_at:
                self._values = {k: v for k, v in self._values.items() if v[1] > now}
                self._sweep_at = now + 5
            for key, ttl in keys:
                count, expires = self._values.get(key, (0, now + ttl))
                if expires <= now:
                    count, expires = 0, now + ttl
                self._values[key] = (count + 1, expires)
                out.append(count + 1)
        return out

    def peek(self, key: str) -> int:
        with self._lock:
            count, expires = self._values.get(key, (0, 0.0))
            return count if expires > time.monotonic() else 0

    def clear(self) -> None:
        with self._lock:
            self._values.clear()


class RedisCounters:
    """Counters in Redis, shared by every worker: INCR, and EXPIRE on first use, pipelined."""

    def __init__(self, url: str) -> None:
        require("--redis-url", "redis")
        import redis

        self._redis: Any = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._prefix = "zoomlive:rl:"

    def hit(self, key: str, ttl: int) -> int:
        return self.hit_many([(key, ttl)])[0]

    def hit_many(self, keys: list[tuple[str, int]]) -> list[int]:
        pipe = self._redis.pipeline(transaction=False)
        for key, ttl in keys:
            pipe.incr(self._prefix + key)
            pipe.expire(self._prefix + key, ttl, nx=True)
        results = pipe.execute()
        return [int(results[i]) for i in range(0, len(results), 2)]

    def peek(self, key: str) -> int:
        value = self._redis.get(self._prefix + key)
        return int(value) if value is not None else 0

    def clear(self) -> None:
        for key in self._redis.scan_iter(self._prefix + "*"):
            self._redis.delete(key)


class _Rule:
    """One plan's limit for one label, with what every check of it reuses."""

    __slots__ = ("daily_headers", "day_key", "limit", "qps_headers", "window_key")

    def __init__(self, limit: Limit, label: str, shared_daily: str) -> None:
        self.limit = limit
        self.window_key = f"{label}:{limit.window}:"
        self.day_key = f"{shared_daily}:day:"
        self.qps_headers = {
            "X-RateLimit-Category": label,
            "X-RateLimit-Type": "QPS",
            "X-RateLimit-Limit": str(limit.rate),
        }
        self.daily_headers = {
            "X-RateLimit-Category": label,
            "X-RateLimit-Type": "Daily-limit",
            "X-RateLimit-Limit": str(limit.daily),
        }


@functools.lru_cache(maxsize=8)
def _utc_day(day: int) -> str:
    """``YYYY-MM-DD`` of a UTC day number (strftime on every request was most of a check)."""
    return (_EPOCH + timedelta(days=day)).strftime("%Y-%m-%d")


_EPOCH = datetime(1970, 1, 1)


class RateLimiter:
    """Checks one request against its account's limits; raises Zoom's 429 when over."""

    def __init__(self, limits: dict[str, PlanLimits], counters: Counters) -> None:
        self.limits = limits
        self.counters = counters
        self.refused: dict[str, int] = {}
        """429s answered by this process, per ``account:label``."""
        self._rules: dict[tuple[str, str], _Rule | None] = {}
        self._lock = threading.Lock()

    def _refuse(self, account_id: str, label: str, error: ZoomError) -> ZoomError:
        with self._lock:
            key = f"{account_id}:{label}"
            self.refused[key] = self.refused.get(key, 0) + 1
        return error

    def usage(self, account_id: str, plan: str, now: datetime) -> list[dict[str, Any]]:
        """Each label's limits and what the account used in the current window and today."""
        out = []
        for label, limit in self.limits.get(plan, self.limits["business"]).items():
            window = int(now.timestamp()) // limit.window
            row: dict[str, Any] = {
                "account_id": account_id,
                "plan": plan,
                "label": label,
                "limit": limit.rate,
                "window_seconds": limit.window,
                "used_this_window": self.counters.peek(
                    f"{account_id}:{label}:{limit.window}:{window}"
                ),
            }
            if limit.daily is not None:
                shared = SHARED_DAILY.get(label, label) if plan != "free" else label
                row["daily_limit"] = limit.daily
                row["used_today"] = self.counters.peek(
                    f"{account_id}:{shared}:day:{now.strftime('%Y-%m-%d')}"
                )
            out.append(row)
        return out

    def _rule(self, plan: str, label: str) -> _Rule | None:
        key = (plan, label)
        if key not in self._rules:
            limit = self.limits.get(plan, self.limits["business"]).get(label)
            shared = SHARED_DAILY.get(label, label) if plan != "free" else label
            self._rules[key] = None if limit is None else _Rule(limit, label, shared)
        return self._rules[key]

    def check(self, account_id: str, plan: str, label: Label, now: datetime) -> dict[str, str]:
        """Count one request; Zoom's rate-limit headers, or Zoom's 429 when over a limit."""
        rule = self._rule(plan, label)
        if rule is None:
            return {}
        limit = rule.limit
        epoch = int(now.timestamp())
        window = epoch // limit.window
        window_key = f"{account_id}:{rule.window_key}{window}"
        if limit.daily is None:
            counts = [self.counters.hit(window_key, limit.window + 1)]
        else:
            day_key = f"{account_id}:{rule.day_key}{_utc_day(epoch // 86400)}"
            counts = self.counters.hit_many([(window_key, limit.window + 1), (day_key, 2 * 86400)])
        if limit.daily is not None:
            used_today = counts[1]
            headers = {
                **rule.daily_headers,
                "X-RateLimit-Remaining": str(max(0, limit.daily - used_today)),
            }
            if used_today > limit.daily:
                midnight = (now + timedelta(days=1)).replace(
                    hour=0, minute=0, second=0, microsecond=0
                )
                headers["Retry-After"] = midnight.strftime("%Y-%m-%dT%H:%M:%SZ")
                raise self._refuse(account_id, label, E.RATE_LIMIT_DAILY.error(headers=headers))
        else:
            headers = {
                **rule.qps_headers,
                "X-RateLimit-Remaining": str(max(0, limit.rate - counts[0])),
            }
        if counts[0] > limit.rate:
            headers.update(
                {
                    **rule.qps_headers,
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": str((window + 1) * limit.window),
                }
            )
            raise self._refuse(account_id, label, E.RATE_LIMIT_PER_SECOND.error(headers=headers))
        return headers
