"""One seedable source for ids, secrets and time, so a run can be reproduced when asked.

Production uses the operating system's randomness and wall clock. Tests (or a user's fixture) pass
``seed=`` to get the same ids and tokens every run, and use :class:`Clock` offsets to move time.
"""

from __future__ import annotations

import random
import secrets
import string
import threading
from datetime import UTC, datetime, timedelta

_ALNUM = string.ascii_letters + string.digits
_URLSAFE = _ALNUM + "-_"


class Source:
    """Ids and tokens. Thread-safe."""

    def __init__(self, seed: int | None = None) -> None:
        self._rng: random.Random = (
            random.Random(seed) if seed is not None else secrets.SystemRandom()
        )
        self._lock = threading.Lock()

    def _choice(self, alphabet: str, n: int) -> str:
        with self._lock:
            return "".join(self._rng.choice(alphabet) for _ in range(n))

    def webinar_id(self) -> int:
        """An 11-digit numeric id, like Zoom's webinar and meeting ids."""
        with self._lock:
            return self._rng.randrange(10_000_000_000, 99_999_999_999)

    def zoom_uuid(self) -> str:
        """A 22-character base64 id ending in ``==``, Zoom's meeting/webinar UUID shape."""
        return self._choice(_ALNUM, 22) + "=="

    def user_id(self) -> str:
        return self._choice(_URLSAFE, 22)

    def tracking_id(self) -> str:
        return "v=2.0;clid=us06;rid=WEB_" + self._choice("0123456789abcdef", 32)

    def token(self) -> str:
        return self._choice(_URLSAFE, 64)

    def password(self) -> str:
        return self._choice(_ALNUM, 8)


class Clock:
    """UTC wall clock with an adjustable offset (the control API moves it for tests)."""

    def __init__(self, frozen_at: datetime | None = None) -> None:
        self._frozen = frozen_at
        self._offset = timedelta()
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            base = self._frozen if self._frozen is not None else datetime.now(UTC)
            return base + self._offset

    def advance(self, seconds: float) -> datetime:
        with self._lock:
            self._offset += timedelta(seconds=seconds)
        return self.now()

    def reset(self) -> None:
        with self._lock:
            self._offset = timedelta()
            self._frozen = None

    def freeze(self, frozen: bool) -> None:
        """Stop the clock at its current reading, or let it run again from there."""
        with self._lock:
            base = self._frozen if self._frozen is not None else datetime.now(UTC)
            now = base + self._offset
            if frozen:
                self._frozen, self._offset = now, timedelta()
            elif self._frozen is not None:
                self._frozen, self._offset = None, now - datetime.now(UTC)
