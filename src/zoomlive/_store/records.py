"""Domain records: what the store keeps, independent of HTTP shapes and of SQL."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Plan = Literal["free", "pro", "business", "enterprise"]
PLANS: tuple[Plan, ...] = ("free", "pro", "business", "enterprise")
WebinarStatus = Literal["waiting", "started", "ended"]
WEBINAR_STATUSES: tuple[WebinarStatus, ...] = ("waiting", "started", "ended")


@dataclass(slots=True)
class Account:
    id: str
    name: str
    plan: Plan
    webinar_addon: bool
    custom_live_streaming: bool
    created_at: datetime


@dataclass(slots=True)
class User:
    id: str
    account_id: str
    email: str
    first_name: str
    last_name: str
    type: int
    timezone: str
    created_at: datetime


@dataclass(slots=True)
class App:
    client_id: str
    account_id: str
    name: str
    secret_hash: str
    scopes: list[str]
    enabled: bool
    created_at: datetime


@dataclass(slots=True)
class Token:
    token_hash: str
    client_id: str
    account_id: str
    scopes: list[str]
    issued_at: datetime
    expires_at: datetime


@dataclass(slots=True)
class Webinar:
    id: int
    uuid: str
    account_id: str
    host_id: str
    topic: str
    type: int
    start_time: datetime | None
    duration: int
    timezone: str
    agenda: str
    password: str
    settings: dict[str, Any]
    status: WebinarStatus
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None = None
    ended_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)
