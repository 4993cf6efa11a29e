"""What the emulator's parts share at run time: configuration, the store, time, randomness, and
the services the app starts (media, rate limiter, webhooks, event feed, faults)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from anyio import CapacityLimiter

from zoomlive.emulator.clock import Clock
from zoomlive.emulator.ids import Source
from zoomlive.emulator.settings import Settings
from zoomlive.emulator.store import Store

OAUTH_THREADS = 4


@dataclass
class Env:
    """What handlers may use besides the transaction: configuration, time and randomness."""

    settings: Settings
    store: Store
    clock: Clock
    source: Source
    oauth_limiter: CapacityLimiter = field(default_factory=lambda: CapacityLimiter(OAUTH_THREADS))
    """Token requests' own threads (scrypt takes tens of ms): nothing else can starve them."""
    media: Any = None
    """The media supervisor when media is on (``zoomlive.emulator.media.supervisor``)."""
    limiter: Any = None
    """The rate limiter when limits are on (``zoomlive.emulator.ratelimit``)."""
    webhooks: Any = None
    """The webhook dispatcher (``zoomlive.emulator.webhooks``)."""
    feed: Any = None
    """The event feed at ``/_emulator/events`` (``zoomlive.emulator.feed``)."""
    faults: Any = None
    """The fault injector (``zoomlive.emulator.faults``)."""
    bus: Any = None
    """``NOTIFY``/``LISTEN`` between the workers and hosts of a PostgreSQL store
    (``zoomlive.emulator.shared.Bus``); None for one process."""
    watch: Any = None
    """The demo receiver, when it runs (``zoomlive.emulator.watch.DemoReceiver``)."""
    shared_rows: Any = None
    """The shared clock setting and fault rules (``zoomlive.emulator.shared.SharedRows``)."""
    on_close: list[Callable[[], None]] = field(default_factory=list)
    """Run once when closing, before the store closes (``serve --export-on-exit``)."""

    def close(self) -> None:
        """The store (waiting for transactions in flight), then the shared connections."""
        hooks, self.on_close = self.on_close, []
        for hook in hooks:
            hook()
        self.store.close()
        if self.bus is not None:
            self.bus.close()
        if self.shared_rows is not None:
            self.shared_rows.close()
