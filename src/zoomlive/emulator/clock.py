"""The emulator's clock: UTC wall time with an offset, frozen or moved through the control API
(to expire tokens, cross midnight for daily limits, ...)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


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
