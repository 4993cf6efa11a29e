"""Worker threads that finish before their owner does.

``anyio.to_thread.run_sync`` abandons its thread when the awaiting task is cancelled: the thread
runs on, unsupervised, after the task (and perhaps the store it uses) is gone. Background loops
use :func:`to_thread` instead, so that cancelling them waits for the thread's current call to
return, and shutdown really means nothing runs any more.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, TypeVarTuple

import anyio.to_thread
from anyio import CapacityLimiter

T = TypeVar("T")
Ts = TypeVarTuple("Ts")


async def to_thread(func: Callable[[*Ts], T], *args: *Ts) -> T:
    """``func(*args)`` in a worker thread; on cancellation, wait for it, then re-raise."""
    future = asyncio.ensure_future(anyio.to_thread.run_sync(func, *args))
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        while not future.done():
            try:
                await asyncio.wait([future])
            except asyncio.CancelledError:
                continue
        if not future.cancelled():
            future.exception()  # retrieved: the caller is cancelled, the outcome is moot
        raise


async def wait_at_most(awaitable: Awaitable[object], seconds: float) -> bool:
    """Await for at most ``seconds``; True if it finished in time (on timeout it is cancelled).

    Python 3.11's ``asyncio.wait_for`` can swallow a cancellation that arrives as the awaited
    thing finishes: a loop written with it may never stop. ``asyncio.timeout`` cannot."""
    try:
        async with asyncio.timeout(seconds):
            await awaitable
    except TimeoutError:
        return False
    return True


class ThreadGroup:
    """Store work in worker threads (``anyio.to_thread``), tracked so that the dispatcher can wait
    for the last of them on close. A cancelled caller stops waiting; the thread runs to its end
    and ``drain()`` waits for it: nothing touches the store after the dispatcher has closed."""

    def __init__(self, limiter: CapacityLimiter | None = None) -> None:
        self.limiter = limiter
        self._pending: set[asyncio.Future[Any]] = set()

    async def run(self, func: Callable[..., T], *args: Any) -> T:
        future: asyncio.Future[T] = asyncio.ensure_future(
            anyio.to_thread.run_sync(func, *args, limiter=self.limiter)
        )
        self._pending.add(future)
        future.add_done_callback(self._pending.discard)
        return await asyncio.shield(future)

    async def drain(self) -> None:
        while self._pending:
            await asyncio.wait(set(self._pending))
