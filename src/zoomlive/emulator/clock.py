"""The emulator's clock: UTC wall time with an offset, frozen or moved through the control API
(to expire tokens, cross midnight for daily limits, ...)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class Clock:
    """UTC wall clock with an adjustable offset (the control API moves it for tests).

    Its setting is one tuple (frozen reading, offset), replaced whole under a lock and read
    without one: every request reads the clock a few times, and a tuple read is atomic."""

    def __init__(self, frozen_at: datetime | None = None) -> None:
        self._setting: tuple[datetime | None, timedelta] = (frozen_at, timedelta())
        self._lock = threading.Lock()

    def now(self) -> datetime:
        frozen, offset = self._setting
        return (frozen if frozen is not None else datetime.now(UTC)) + offset

    def advance(self, seconds: float) -> datetime:
        with self._lock:
            frozen, offset = self._setting
            self._setting = (frozen, offset + timedelta(seconds=seconds))
        return self.now()

    def reset(self) -> None:
        with self._lock:
            self._setting = (None, timedelta())

    def freeze(self, frozen: bool) -> None:
        """Stop the clock at its current reading, or let it run again from there."""
        with self._lock:
            now = self.now()
            if frozen:
                self._setting = (now, timedelta())
            elif self._setting[0] is not None:
                self._setting = (None, now - datetime.now(UTC))
