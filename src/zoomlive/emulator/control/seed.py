"""Seed documents (``zoomlive seed FILE.yaml``, ``POST /_emulator/seed``) and the demo seed.

The demo seed is fixed and documented so scripts can rely on it, like LocalStack's test keys.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from zoomlive.api.catalog import all_scopes
from zoomlive.api.errors import E, ZoomError
from zoomlive.api.sessions import KINDS, SessionKind
from zoomlive.api.wire import SessionTime
from zoomlive.emulator.env import Env
from zoomlive.emulator.rules.auth import hash_secret
from zoomlive.emulator.rules.sessions import end_session, new_session, start_session
from zoomlive.emulator.store import Account as AccountRecord
from zoomlive.emulator.store import App, LiveStream, Session, Tx, User


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SeedUser(_Doc):
    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    id: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    first_name: str = Field(default="", max_length=64)
    last_name: str = Field(default="", max_length=64)
    type: Literal[1, 2, 3] = 2
    timezone: str = Field(default="UTC", max_length=64)


class SeedApp(_Doc):
    client_id: str | None = Field(default=None, min_length=1, max_length=128)
    client_secret: str | None = Field(default=None, min_length=1, max_length=256)
    name: str = Field(default="Server-to-Server app", max_length=200)
    scopes: list[str] | None = None
    """Default: every scope the emulator knows."""
    enabled: bool = True


class SeedLiveStream(_Doc):
    """A custom live stream configuration, as ``PATCH .../livestream`` takes it."""

    stream_url: str = Field(min_length=1, max_length=1024)
    stream_key: str = Field(min_length=1, max_length=512)
    page_url: str = Field(min_length=1, max_length=1024)
    resolution: Literal["720p", "1080p"] | None = None


class SeedWebinar(_Doc):
    host: str = Field(min_length=1, max_length=320)
    """The host's email or id (a user of the same account)."""
    id: int | None = Field(default=None, gt=0, le=2**63 - 1)
    topic: str = Field(default="Zoom Webinar", max_length=200)
    type: int = Field(default=5)
    start_time: SessionTime = None
    duration: int = Field(default=60, ge=0, le=100_000)
    timezone: str | None = Field(default=None, max_length=64)
    agenda: str = Field(default="", max_length=2000)
    password: str = Field(default="", max_length=10)
    status: Literal["waiting", "started", "ended"] = "waiting"
    livestream: SeedLiveStream | None = None

    @model_validator(mode="after")
    def _type_fits(self) -> SeedWebinar:
        if self.type not in self.allowed_types:
            raise ValueError(f"type must be one of {sorted(self.allowed_types)}")
        return self

    allowed_types: ClassVar[frozenset[int]] = frozenset({5, 6, 9})


class SeedMeeting(SeedWebinar):
    topic: str = Field(default="Zoom Meeting", max_length=200)
    type: int = Field(default=2)
    allowed_types: ClassVar[frozenset[int]] = frozenset({1, 2, 3, 8})


class SeedAccount(_Doc):
    id: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    name: str = Field(default="Zoom account", max_length=200)
    plan: Literal["free", "pro", "business", "enterprise"] = "business"
    webinar_addon: bool = True
    custom_live_streaming: bool = True
    users: list[SeedUser] = Field(default_factory=list)
    apps: list[SeedApp] = Field(default_factory=list)
    webinars: list[SeedWebinar] = Field(default_factory=list)
    meetings: list[SeedMeeting] = Field(default_factory=list)


class SeedDoc(_Doc):
    """A file of accounts with their users, apps and webinars."""

    accounts: list[SeedAccount] = Field(default_factory=list)


DEMO_ACCOUNT_ID = "demo-account"
DEMO_CLIENT_ID = "demo-client-id"
DEMO_CLIENT_SECRET = "demo-client-secret"
DEMO_HOST_EMAIL = "host@example.com"
DEMO_HOST_ID = "DemoHostUserId00000001"
DEMO_WEBINAR_ID = 68423085
DEMO_STREAM_URL = "rtmp://127.0.0.1:1935/live"
DEMO_STREAM_KEY = "demo-stream-key"
DEMO_PAGE_PATH = f"/watch/{DEMO_WEBINAR_ID}"


def demo(base_url: str = "http://127.0.0.1:8080") -> SeedDoc:
    """The fixed demo seed; its stream's ``page_url`` is on the emulator's own address."""
    return SeedDoc(
        accounts=[
            SeedAccount(
                id=DEMO_ACCOUNT_ID,
                name="Demo account",
                plan="business",
                webinar_addon=True,
                custom_live_streaming=True,
                users=[
                    SeedUser(
                        id=DEMO_HOST_ID, email=DEMO_HOST_EMAIL, first_name="Demo", last_name="Host"
                    )
                ],
                apps=[
                    SeedApp(
                        client_id=DEMO_CLIENT_ID,
                        client_secret=DEMO_CLIENT_SECRET,
                        name="Demo Server-to-Server app",
                    )
                ],
                webinars=[
                    SeedWebinar(
                        id=DEMO_WEBINAR_ID,
                        host=DEMO_HOST_EMAIL,
                        topic="Demo webinar",
                        status="started",
                        livestream=SeedLiveStream(
                            stream_url=DEMO_STREAM_URL,
                            stream_key=DEMO_STREAM_KEY,
                            page_url=base_url.rstrip("/") + DEMO_PAGE_PATH,
                            resolution="720p",
                        ),
                    )
                ],
            )
        ]
    )


SEED_MODELS: dict[SessionKind, type[SeedWebinar]] = {"webinar": SeedWebinar, "meeting": SeedMeeting}


def conflict(what: str, ident: object) -> ZoomError:
    return E.CONTROL_CONFLICT.error(what=what, id=ident)


def add_account(env: Env, tx: Tx, spec: SeedAccount) -> tuple[AccountRecord, list[dict[str, str]]]:
    """Create an account and everything under it; returns the app credentials created."""
    account_id = spec.id or env.source.user_id()
    if tx.get_account(account_id) is not None:
        raise conflict("Account", account_id)
    now = env.clock.now()
    account = AccountRecord(
        id=account_id,
        name=spec.name,
        plan=spec.plan,
        webinar_addon=spec.webinar_addon,
        custom_live_streaming=spec.custom_live_streaming,
        created_at=now,
    )
    tx.insert_account(account)
    for user in spec.users:
        add_user(env, tx, account_id, user)
    credentials = [add_app(env, tx, account_id, app) for app in spec.apps]
    for webinar in spec.webinars:
        add_session(env, tx, account_id, webinar, "webinar")
    for meeting in spec.meetings:
        add_session(env, tx, account_id, meeting, "meeting")
    return account, credentials


def add_user(env: Env, tx: Tx, account_id: str, spec: SeedUser) -> User:
    email = spec.email.lower()
    if tx.get_user_by_email(email) is not None:
        raise conflict("User", email)
    user_id = spec.id or env.source.user_id()
    if tx.get_user(user_id) is not None:
        raise conflict("User", user_id)
    user = User(
        id=user_id,
        account_id=account_id,
        email=email,
        first_name=spec.first_name,
        last_name=spec.last_name,
        type=spec.type,
        timezone=spec.timezone,
        created_at=env.clock.now(),
        # the account's first user owns it (``me``); the others are members
        role_id="2" if tx.list_users(account_id) else "0",
    )
    tx.insert_user(user)
    return user


def add_app(env: Env, tx: Tx, account_id: str, spec: SeedApp) -> dict[str, str]:
    client_id = spec.client_id or env.source.user_id()
    if tx.get_app(client_id) is not None:
        raise conflict("App", client_id)
    secret = spec.client_secret or env.source.token()[:32]
    known = set(all_scopes())
    scopes = spec.scopes if spec.scopes is not None else sorted(known)
    tx.insert_app(
        App(
            client_id=client_id,
            account_id=account_id,
            name=spec.name,
            secret_hash=hash_secret(secret, cheap=env.settings.cheap_secrets),
            scopes=list(scopes),
            enabled=spec.enabled,
            created_at=env.clock.now(),
        )
    )
    return {"account_id": account_id, "client_id": client_id, "client_secret": secret}


def add_session(
    env: Env, tx: Tx, account_id: str, spec: SeedWebinar, kind: SessionKind = "webinar"
) -> Session:
    """A webinar or meeting with its live stream configuration, started or ended as asked."""
    host = tx.get_user_by_email(spec.host) if "@" in spec.host else tx.get_user(spec.host)
    if host is None or host.account_id != account_id:
        raise E.USER_NOT_FOUND.error(id=spec.host)
    if spec.id is not None and tx.get_session(kind, spec.id) is not None:
        raise conflict(KINDS[kind].noun, spec.id)
    session = new_session(env, tx, kind, host, spec.id)
    session.topic = spec.topic
    session.type = spec.type
    session.start_time = spec.start_time or session.start_time
    session.duration = spec.duration
    session.timezone = spec.timezone or host.timezone
    session.agenda = spec.agenda
    session.password = spec.password
    tx.insert_session(session)
    if spec.livestream is not None:
        stream = LiveStream(kind=kind, owner_id=session.id, account_id=account_id)
        stream.stream_url = spec.livestream.stream_url
        stream.stream_key = spec.livestream.stream_key
        stream.page_url = spec.livestream.page_url
        stream.resolution = spec.livestream.resolution
        stream.updated_at = session.created_at
        tx.save_livestream(stream)
    if spec.status in ("started", "ended"):
        start_session(env, tx, session)
    if spec.status == "ended":
        end_session(env, tx, session)
    return session


def load(env: Env, tx: Tx, doc: SeedDoc) -> list[dict[str, str]]:
    """Load a whole document in the caller's transaction (all or nothing)."""
    credentials: list[dict[str, str]] = []
    for account in doc.accounts:
        credentials += add_account(env, tx, account)[1]
    return credentials
