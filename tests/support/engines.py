"""Private database engines for the tests: a PostgreSQL and a Redis of their own, on 127.0.0.1,
started in a temp folder, gone with the test session however it ends (scripts/test installs the
Debian packages: postgresql, redis-server)."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import IO

from tests.support.helpers import free_port, popen


class EngineMissing(RuntimeError):
    """A server or tool the test needs is not on this machine. A plain ``pytest`` skips the test
    and names what is missing; ``scripts/test`` (so CI), which installs everything, sets
    ``ZOOMLIVE_REQUIRE_ENGINES=1`` and the test fails instead (tests/conftest.py)."""


REQUIRED = os.environ.get("ZOOMLIVE_REQUIRE_ENGINES") == "1"


def tool(name: str, what: str | None = None) -> str:
    """The path of command ``name``, or EngineMissing naming it (and its Debian package)."""
    found = shutil.which(name)
    if found is None:
        raise EngineMissing(f"{what or name} (scripts/test installs it)")
    return found


def _wait_port(port: int, proc: subprocess.Popen[bytes], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {port}")


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name) or ""]
    if not found[-1]:
        raise EngineMissing("PostgreSQL (Debian: postgresql; scripts/test installs it)")
    return found[-1]


class PrivatePostgres:
    """``initdb`` in ``root`` and a ``postgres`` on a free port; the database ``zoomlive``.

    Durability settings are relaxed (fsync off) unless ``durable``: these tests kill emulators,
    not the database; a benchmark wants PostgreSQL as it ships (fsync and synchronous_commit
    on, so a 2xx means on disk, as with the SQLite store). As root, PostgreSQL runs as the
    ``postgres`` user (it refuses root)."""

    def __init__(self, *, durable: bool = False) -> None:
        self.durable = durable
        # A folder of its own under the temp dir: the postgres user must reach it, and pytest's
        # temp folders are private to root.
        self.root = Path(tempfile.mkdtemp(prefix="zoomlive-pg-"))
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = f"postgresql://zoomlive@127.0.0.1:{self.port}/zoomlive"
        self._as: dict[str, object] = {}
        self._log: IO[bytes] | None = None
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            self._as = {"user": user.pw_uid, "group": user.pw_gid}
            os.chown(self.root, user.pw_uid, user.pw_gid)

    def _run(self, *args: str) -> None:
        subprocess.run(
            list(args),
            check=True,
            capture_output=True,
            timeout=120,
            **self._as,  # type: ignore[arg-type]
        )

    def start(self) -> PrivatePostgres:
        data = self.root / "data"
        self._log = open(self.root / "postgres.log", "wb")  # noqa: SIM115 - closed in stop()
        self._run(
            _pg_bin("initdb"), "-D", str(data), "-U", "zoomlive", "--auth=trust", "-E", "UTF8",
            "--locale=C", *([] if self.durable else ["--no-sync"]),
        )  # fmt: skip
        relaxed = [] if self.durable else ["-c", "fsync=off", "-c", "synchronous_commit=off"]
        self.proc = popen(
            [
                _pg_bin("postgres"), "-D", str(data), "-p", str(self.port),
                "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.root}",
                *relaxed, "-c", "max_connections=300",
            ],
            stdout=subprocess.DEVNULL,
            stderr=self._log,
            **self._as,
        )  # fmt: skip
        _wait_port(self.port, self.proc, "postgres")
        self.createdb("zoomlive")
        return self

    def createdb(self, name: str) -> str:
        """Another database on this server (empty); its URL."""
        deadline = time.monotonic() + 30
        while True:
            done = subprocess.run(
                [_pg_bin("createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "zoomlive",
                 name],
                capture_output=True,
                timeout=30,
            )  # fmt: skip
            if done.returncode == 0:
                return f"postgresql://zoomlive@127.0.0.1:{self.port}/{name}"
            if time.monotonic() > deadline:
                raise RuntimeError(done.stderr.decode())
            time.sleep(0.2)  # still starting up

    def sql(self, query: str, database: str = "zoomlive") -> str:
        """``query`` through psql; its output, unaligned and without headers."""
        done = subprocess.run(
            [_pg_bin("psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "zoomlive", "-qAt",
             "-v", "ON_ERROR_STOP=1", "-c", query, database],
            check=True,
            capture_output=True,
            timeout=30,
        )  # fmt: skip
        return done.stdout.decode().strip()

    def restart(self) -> None:
        """Stop the server (a fast shutdown: every client connection is cut) and start it
        again on the same data, as an operator's restart or a failover looks to clients."""
        assert self.proc is not None and self._log is not None
        args = list(self.proc.args)  # type: ignore[arg-type]
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(15)
        self.proc = popen(args, stdout=subprocess.DEVNULL, stderr=self._log, **self._as)
        _wait_port(self.port, self.proc, "postgres")

    def reset(self) -> None:
        """An empty database again (every table dropped), for the next test."""
        self.sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # a smart shutdown is slow with clients around: fast one
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None
        shutil.rmtree(self.root, ignore_errors=True)


class PrivateRedis:
    """A ``redis-server`` on a free port, nothing saved to disk."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> PrivateRedis:
        binary = shutil.which("redis-server")
        if binary is None:
            raise EngineMissing("redis-server (Debian: redis-server; scripts/test installs it)")
        self.proc = popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.root)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        _wait_port(self.port, self.proc, "redis-server")
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None
