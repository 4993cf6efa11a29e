"""What a committed transaction asks of the media side."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .._store import SessionKind


@dataclass(frozen=True)
class StreamEffect:
    """``start``: push this stream; ``stop``: stop pushing it; ``update``: its overlays changed."""

    action: Literal["start", "stop", "update"]
    kind: SessionKind
    owner_id: int
