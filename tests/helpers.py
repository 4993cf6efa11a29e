"""Helpers that tests share: processes tied to the test session, free ports."""

from __future__ import annotations

import ctypes
import signal
import socket
import subprocess
from typing import Any

try:  # resolved once here: between fork and exec only the call itself may run
    _PRCTL: Any = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):
    _PRCTL = None


def die_with_parent() -> None:
    """In a child, before exec: the kernel kills it when the test run dies, however it dies
    (a crash of the test process must not leave servers behind)."""
    if _PRCTL is not None:
        _PRCTL(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def popen(args: list[str], **kwargs: Any) -> subprocess.Popen[Any]:
    """``subprocess.Popen`` for a process that must not outlive the test session."""
    return subprocess.Popen(args, preexec_fn=die_with_parent, **kwargs)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
