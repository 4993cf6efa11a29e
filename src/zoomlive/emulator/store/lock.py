"""One emulator per SQLite file: the lock that a second ``zoomlive serve`` runs into."""

from __future__ import annotations

import fcntl
import os

from zoomlive.emulator.store.base import StoreBusy


class FileLock:
    """One emulator per SQLite file: an exclusive ``flock`` on ``<db>.lock``, held while the
    store is open. The kernel drops it when the process dies, however it dies, so a stale file
    never blocks a restart. The file names the holder, for the refusal message."""

    def __init__(self, db_path: str) -> None:
        self.path = db_path + ".lock"
        self._fd: int | None = None

    def acquire(self, holder: str) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                current = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip()
            finally:
                os.close(fd)
            raise StoreBusy(self.path.removesuffix(".lock"), current) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, holder.encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        os.ftruncate(fd, 0)
        os.close(fd)  # closing the descriptor drops the flock
