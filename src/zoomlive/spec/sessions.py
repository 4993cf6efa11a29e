"""The two kinds of session Zoom streams from, webinars and meetings, and what differs between
them on the wire: one table, read by the SDK and the emulator, instead of ternaries."""

from __future__ import annotations

from typing import Literal

SessionKind = Literal["webinar", "meeting"]
SESSION_KINDS: tuple[SessionKind, ...] = ("webinar", "meeting")
