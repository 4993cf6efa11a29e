"""``Control``: a small typed client of the emulator's control API (``/_emulator``, see
docs/control-api.md). Tests use it to seed, to play the host, to read a live stream's runtime
state, to move the clock, to inject faults and to read the webhook log."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import httpx

SessionKind = Literal["webinar", "meeting"]
Seed = dict[str, Any] | str | Path
"""A seed document (docs/control-api.md, "Seed documents"): a dict, or the path of a YAML or
JSON file."""


@dataclass(frozen=True)
class Credentials:
    """A Server-to-Server OAuth app's credentials, as the SDK and ``POST /oauth/token`` take
    them."""

    account_id: str
    client_id: str
    client_secret: str

    def as_env(self) -> dict[str, str]:
        """``ZOOM_ACCOUNT_ID``, ``ZOOM_CLIENT_ID`` and ``ZOOM_CLIENT_SECRET``, the variables the
        SDK, the CLI and most Zoom clients read."""
        return {
            "ZOOM_ACCOUNT_ID": self.account_id,
            "ZOOM_CLIENT_ID": self.client_id,
            "ZOOM_CLIENT_SECRET": self.client_secret,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Credentials:
        return cls(str(data["account_id"]), str(data["client_id"]), str(data["client_secret"]))


def first_app(apps: list[Credentials]) -> Credentials:
    """The app to authenticate with: the demo app, or the first app of the seed."""
    if not apps:
        raise LookupError("the seed created no app: add one under accounts[].apps")
    return apps[0]


@dataclass(frozen=True)
class Account:
    """An account created through the control API, with its apps' credentials."""

    id: str
    credentials: list[Credentials]


@dataclass(frozen=True)
class User:
    """A user of an account."""

    id: str
    email: str
    account_id: str


@dataclass(frozen=True)
class Session:
    """A webinar or meeting as the emulator records it."""

    id: int
    kind: SessionKind
    account_id: str
    host_id: str
    topic: str
    status: str
    """``waiting``, ``started`` (the host runs it) or ``ended``."""
    data: dict[str, Any] = field(repr=False)
    """Every field of the control API's answer."""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Session:
        return cls(
            id=int(data["id"]),
            kind=data["kind"],
            account_id=data["account_id"],
            host_id=data["host_id"],
            topic=data["topic"],
            status=data["status"],
            data=data,
        )


@dataclass(frozen=True)
class StreamState:
    """A live stream's runtime state: what Zoom's ``GET .../livestream`` does not show."""

    state: str
    """``stopped``, ``starting``, ``live`` or ``failed``."""
    configured: bool
    stream_url: str | None
    stream_key: str | None
    settings: dict[str, Any]
    """The settings in force (``display_name``, ``active_speaker_name``; meetings also
    ``layout`` and ``close_caption``)."""
    last_error: str | None
    events: list[dict[str, Any]]
    """Every state change: ``from``, ``to``, ``at``, ``detail``."""
    media: dict[str, Any] | None
    """What the media side reports (with ``media="ffmpeg"``: pid, frames, bitrate...; with
    fake media only ``active_speaker`` once switched, else None)."""
    data: dict[str, Any] = field(repr=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StreamState:
        return cls(
            state=data["state"],
            configured=bool(data["configured"]),
            stream_url=data.get("stream_url"),
            stream_key=data.get("stream_key"),
            settings=data.get("settings") or {},
            last_error=data.get("last_error"),
            events=data.get("events") or [],
            media=data.get("media"),
            data=data,
        )


@dataclass(frozen=True)
class WebhookDelivery:
    """One webhook the emulator sent (or is still trying to send)."""

    id: int
    event: str
    url: str
    status: str
    """``pending``, ``delivered`` or ``failed``."""
    body: dict[str, Any]
    """The event as sent (parsed)."""
    raw_body: bytes = field(repr=False)
    """The event as sent, byte for byte (what the signature covers)."""
    attempts: list[dict[str, Any]]
    """Each attempt: ``at``, ``status_code``, ``duration_ms``, ``error``,
    ``x-zm-request-timestamp``, ``x-zm-signature``."""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WebhookDelivery:
        return cls(
            id=int(data["id"]),
            event=data["event"],
            url=data["url"],
            status=data["status"],
            body=json.loads(data["body"]),
            raw_body=data["body"].encode("utf-8"),
            attempts=data.get("attempts") or [],
        )


@dataclass(frozen=True)
class TriggeredEvent:
    """An event the emulator queued on demand (:meth:`Control.trigger`)."""

    event: str
    account_id: str
    delivery_ids: list[int]
    """One delivery per endpoint it goes to (see :meth:`Control.webhook_deliveries`)."""
    urls: list[str]
    body: dict[str, Any]
    """The event as it is sent (parsed)."""
    raw_body: bytes = field(repr=False)
    """The event as it is sent, byte for byte (what the signature covers)."""
    deliveries: list[WebhookDelivery] = field(default_factory=list)
    """With ``wait``: the deliveries once each was tried (with its attempts)."""


@dataclass(frozen=True)
class WebhookSubscription:
    """An app's event subscription, as validated when it was set."""

    url: str
    secret_token: str
    events: list[str]
    validated: bool
    validation_error: str | None


class ControlError(Exception):
    """The control API refused a call: its HTTP status and Zoom-shaped body."""

    def __init__(self, method: str, path: str, response: httpx.Response) -> None:
        self.status_code = response.status_code
        try:
            self.body: Any = response.json()
        except ValueError:
            self.body = response.text
        message = self.body.get("message") if isinstance(self.body, dict) else self.body
        super().__init__(f"{method} /_emulator{path}: {response.status_code} {message}")


def seed_body(seed: Seed) -> tuple[bytes, str]:
    """A seed as a request body and its content type (YAML and JSON files are sent as they are:
    the control API reads both)."""
    if isinstance(seed, dict):
        return json.dumps(seed).encode(), "application/json"
    text = Path(seed).read_bytes()
    kind = "application/json" if str(seed).endswith(".json") else "application/yaml"
    return text, kind


class Control:
    """The control API of one emulator. Every method is one HTTP call to ``/_emulator``; a
    refusal raises :class:`ControlError` with the emulator's message."""

    def __init__(self, url: str, *, admin_key: str | None = None, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        """The emulator's root URL (``http://127.0.0.1:PORT``)."""
        headers = {"X-Admin-Key": admin_key} if admin_key else {}
        # trust_env=False: a proxy from the environment must never see loopback calls.
        self._http = httpx.Client(
            base_url=self.url + "/_emulator", headers=headers, timeout=timeout, trust_env=False
        )

    def close(self) -> None:
        self._http.close()

    def request(self, method: str, path: str, body: Any = None) -> Any:
        """One control call; the answer's JSON (None when it has no body)."""
        if body is None:
            response = self._http.request(method, path)
        elif isinstance(body, bytes):
            response = self._http.request(method, path, content=body)
        else:
            response = self._http.request(method, path, json=body)
        if response.status_code >= 400:
            raise ControlError(method, path, response)
        return response.json() if response.content else None

    # state -------------------------------------------------------------------------------------
    def reset(self, *, demo: bool = True) -> None:
        """Wipe everything (accounts, tokens, streams, webhooks, faults, the clock), then seed the
        demo account unless ``demo=False``."""
        self.request("POST", "/reset", {"demo": demo})

    def seed(self, seed: Seed) -> list[Credentials]:
        """Load a seed document (all or nothing); the credentials of every app it created."""
        content, kind = seed_body(seed)
        response = self._http.post("/seed", content=content, headers={"Content-Type": kind})
        if response.status_code >= 400:
            raise ControlError("POST", "/seed", response)
        return [Credentials.from_json(c) for c in response.json()["credentials"]]

    def state(self) -> dict[str, Any]:
        """Everything: accounts, users, apps (no secrets), webinars, meetings, the clock."""
        data: dict[str, Any] = self.request("GET", "/state")
        return data

    # accounts, users, webinars, meetings -------------------------------------------------------
    def create_account(
        self,
        id: str | None = None,
        *,
        plan: Literal["free", "pro", "business", "enterprise"] = "business",
        webinar_addon: bool = True,
        custom_live_streaming: bool = True,
        users: list[dict[str, Any]] | None = None,
        apps: list[dict[str, Any]] | None = None,
        **fields: Any,
    ) -> Account:
        """An account (Business with the webinar add-on and custom live streaming, unless told
        otherwise), with the users and apps given; ``fields`` as in a seed document."""
        body: dict[str, Any] = {
            "plan": plan,
            "webinar_addon": webinar_addon,
            "custom_live_streaming": custom_live_streaming,
            "users": users or [],
            "apps": apps or [],
            **fields,
        }
        if id is not None:
            body["id"] = id
        data = self.request("POST", "/accounts", body)
        return Account(data["id"], [Credentials.from_json(c) for c in data["credentials"]])

    def create_app(self, account_id: str, **fields: Any) -> Credentials:
        """A Server-to-Server OAuth app (``client_id``, ``client_secret``, ``scopes``: generated
        or all when absent); its credentials, secret included."""
        return Credentials.from_json(self.request("POST", f"/accounts/{account_id}/apps", fields))

    def create_user(self, account_id: str, email: str, **fields: Any) -> User:
        """A user (``first_name``, ``last_name``, ``id``, ``type``, ``timezone``)."""
        data = self.request("POST", f"/accounts/{account_id}/users", {"email": email, **fields})
        return User(data["id"], data["email"], data["account_id"])

    def create_webinar(self, account_id: str, host: str, **fields: Any) -> Session:
        """A webinar hosted by ``host`` (email or user id): ``id``, ``topic``, ``status``
        (``waiting``, ``started``, ``ended``), ``livestream`` (``stream_url``, ``stream_key``,
        ``page_url``, ``resolution``)... Not counted against the daily cap."""
        data = self.request("POST", f"/accounts/{account_id}/webinars", {"host": host, **fields})
        return Session.from_json(data)

    def create_meeting(self, account_id: str, host: str, **fields: Any) -> Session:
        """A meeting, as :meth:`create_webinar` (``type`` 1, 2, 3 or 8)."""
        data = self.request("POST", f"/accounts/{account_id}/meetings", {"host": host, **fields})
        return Session.from_json(data)

    # the host ----------------------------------------------------------------------------------
    def start_session(self, session_id: int, kind: SessionKind = "webinar") -> Session:
        """Play the host: start the webinar (or meeting) as the Zoom app would. Zoom sends
        ``webinar.started`` (``meeting.started``) to subscribed apps."""
        return Session.from_json(self.request("POST", f"/{kind}s/{session_id}/start"))

    def end_session(self, session_id: int, kind: SessionKind = "webinar") -> Session:
        """Play the host: end it (its live stream stops with it)."""
        return Session.from_json(self.request("POST", f"/{kind}s/{session_id}/end"))

    def switch_speaker(self, session_id: int, name: str, kind: SessionKind = "webinar") -> None:
        """Make ``name`` the active speaker of a running stream: with ``media="ffmpeg"`` the
        overlay follows; with fake media the name is kept and shows in ``stream_state().media``.
        Refused (409) when the stream is not running."""
        self.request("POST", f"/{kind}s/{session_id}/speaker", {"name": name})

    # live streams ------------------------------------------------------------------------------
    def stream_state(self, session_id: int, kind: SessionKind = "webinar") -> StreamState:
        """The live stream's runtime state and every state change."""
        return StreamState.from_json(self.request("GET", f"/{kind}s/{session_id}/livestream"))

    # time, faults, webhooks --------------------------------------------------------------------
    def advance_clock(self, seconds: float) -> datetime:
        """Move the emulator's clock (token expiry, daily caps, webhook retries); its new time."""
        data = self.request("POST", "/clock", {"advance_seconds": seconds})
        return datetime.fromisoformat(data["now"])

    def set_fault(
        self,
        kind: Literal["error", "latency", "drop", "drop_after"] = "error",
        *,
        operation: str | None = None,
        status: Literal[500, 503, 429] | None = None,
        latency_ms: int | None = None,
        probability: float = 1.0,
        count: int | None = None,
    ) -> str:
        """Add a fault rule (docs/faults.md): ``error`` answers ``status`` (500 by default),
        ``latency`` waits ``latency_ms``, ``drop`` closes the connection before the request is
        handled, ``drop_after`` handles it (its change is made) and then closes the connection
        without the answer; for one operation (a Zoom operationId, or ``oauthToken``) or all, the
        next ``count`` or always. Its id."""
        body: dict[str, Any] = {"kind": kind, "probability": probability}
        if kind == "error":
            body["status"] = status or 500
        if kind == "latency":
            body["latency_ms"] = 100 if latency_ms is None else latency_ms
        for name, value in (("operation", operation), ("count", count)):
            if value is not None:
                body[name] = value
        data = self.request("POST", "/faults", body)
        return str(data["id"])

    def fault(
        self,
        operation: str | None = None,
        *,
        error: str | None = None,
        status: int | None = None,
        code: int | None = None,
        values: dict[str, str | int] | None = None,
        times: int | None = None,
        probability: float = 1.0,
    ) -> str:
        """Answer ``operation`` (a Zoom operationId, ``oauthToken``, or None for all) with one
        of Zoom's errors: by name from the error table (``error="TOKEN_EXPIRED"``), or by
        ``status`` and ``code`` (``status=404, code=3001``), its message's fields from the
        request's path unless ``values`` gives them; the next ``times`` requests, or always.
        Its id (docs/faults.md)."""
        body: dict[str, Any] = {"kind": "error", "probability": probability}
        for name, value in (
            ("operation", operation),
            ("error", error),
            ("status", status),
            ("code", code),
            ("values", values),
            ("count", times),
        ):
            if value is not None:
                body[name] = value
        return str(self.request("POST", "/faults", body)["id"])

    def fault_sequence(
        self,
        operation: str | None,
        steps: list[str | dict[str, Any]],
        *,
        then: str | dict[str, Any] | None = None,
    ) -> str:
        """Give the 1st, 2nd, ... request to ``operation`` the steps in order: ``"pass"`` (the
        normal answer), an error name, or a step object (``{"status": 503, "times": 2}``,
        ``{"latency_ms": 500}``, ``{"kind": "drop"}``); after them ``then`` (default: normal
        answers, the rule ends). ``fault_sequence("webinar", [{"status": 503, "times": 2}])``
        fails twice, then succeeds. Its id."""
        body: dict[str, Any] = {"kind": "sequence", "steps": steps}
        if operation is not None:
            body["operation"] = operation
        if then is not None:
            body["then"] = then
        return str(self.request("POST", "/faults", body)["id"])

    def webhook_fault(
        self,
        kind: Literal["delay", "duplicate", "reorder", "drop"],
        *,
        event: str | None = None,
        times: int | None = None,
        delay_ms: int | None = None,
    ) -> str:
        """Misdeliver webhooks of ``event`` (or all): ``delay`` waits ``delay_ms`` before
        sending, ``duplicate`` sends twice, ``reorder`` holds one delivery until the next has
        gone, ``drop`` sends nothing and counts a failed attempt (Zoom's retries follow); the
        next ``times`` attempts, or always. Its id."""
        body: dict[str, Any] = {"kind": f"webhook_{kind}"}
        if kind == "delay":
            body["latency_ms"] = 1000 if delay_ms is None else delay_ms
        for name, value in (("event", event), ("count", times)):
            if value is not None:
                body[name] = value
        return str(self.request("POST", "/faults", body)["id"])

    def faults(self) -> list[dict[str, Any]]:
        """The fault rules in force, each with ``applied`` and ``remaining``."""
        rules: list[dict[str, Any]] = self.request("GET", "/faults")["rules"]
        return rules

    def remove_fault(self, fault_id: str) -> None:
        """Remove one fault rule."""
        self.request("DELETE", f"/faults/{fault_id}")

    def clear_faults(self) -> None:
        """Remove every fault rule."""
        self.request("DELETE", "/faults")

    def set_webhook(
        self,
        client_id: str,
        url: str,
        *,
        secret_token: str | None = None,
        events: list[str] | None = None,
    ) -> WebhookSubscription:
        """Subscribe an app to events at ``url`` (all events unless ``events``); Zoom's URL
        validation runs at once, and its outcome is in the answer."""
        body: dict[str, Any] = {"url": url}
        if secret_token is not None:
            body["secret_token"] = secret_token
        if events is not None:
            body["events"] = events
        data = self.request("PUT", f"/apps/{client_id}/webhook", body)
        return WebhookSubscription(
            data["url"],
            data["secret_token"],
            list(data["events"]),
            bool(data["validated"]),
            data["validation_error"],
        )

    def webhook_deliveries(self) -> list[WebhookDelivery]:
        """The newest 200 webhook deliveries, newest first, with every attempt."""
        return [WebhookDelivery.from_json(d) for d in self.request("GET", "/webhooks/deliveries")]

    def trigger(
        self,
        event: str,
        *,
        meeting_id: int | str | None = None,
        webinar_id: int | str | None = None,
        user_id: str | None = None,
        url: str | None = None,
        account_id: str | None = None,
        client_id: str | None = None,
        wait: float = 0.0,
    ) -> TriggeredEvent:
        """Fire any event of Zoom's webhook documents now (docs/webhooks.md), about the
        meeting, webinar or user named (a made-up one when none is), through the normal
        delivery path: to every validated subscription of the account, or only ``client_id``'s,
        or to ``url`` instead (signed with the app's secret token). ``wait``: seconds to wait
        until every delivery has been tried (``deliveries``)."""
        body: dict[str, Any] = {"event": event}
        for name, value in (
            ("meeting_id", meeting_id),
            ("webinar_id", webinar_id),
            ("user_id", user_id),
            ("url", url),
            ("account_id", account_id),
            ("client_id", client_id),
        ):
            if value is not None:
                body[name] = value
        data = self.request("POST", "/webhooks/trigger", body)
        ids = [int(d["id"]) for d in data["deliveries"]]
        tried: list[WebhookDelivery] = []
        deadline = time.monotonic() + wait
        while wait > 0:
            log = {d.id: d for d in self.webhook_deliveries() if d.id in ids}
            tried = [log[i] for i in ids if i in log and log[i].attempts]
            if len(tried) == len(ids) or time.monotonic() >= deadline:
                break
            time.sleep(0.05)
        return TriggeredEvent(
            event=data["event"],
            account_id=data["account_id"],
            delivery_ids=ids,
            urls=[d["url"] for d in data["deliveries"]],
            body=json.loads(data["body"]),
            raw_body=data["body"].encode("utf-8"),
            deliveries=tried,
        )

    def webhook_events(self) -> list[dict[str, Any]]:
        """Every event of Zoom's webhook documents that :meth:`trigger` fires: ``event``,
        ``document``, ``needs`` (meeting, webinar, user or account), ``ids`` (the arguments that
        name its object) and ``description``."""
        data: list[dict[str, Any]] = self.request("GET", "/webhooks/events")
        return data

    # the state out and back in (docs/state.md) -------------------------------------------------
    def export_state(self) -> dict[str, Any]:
        """The whole state now (every stored table and the clock), as a state file holds it."""
        data: dict[str, Any] = self.request("GET", "/state/export")
        return data

    def import_state(self, state: dict[str, Any] | str | Path) -> dict[str, Any]:
        """Replace the state with an export (a document, or the path of a state file), all or
        nothing. Rows imported, by table."""
        raw = json.dumps(state).encode() if isinstance(state, dict) else Path(state).read_bytes()
        response = self._http.post(
            "/state/import", content=raw, headers={"Content-Type": "application/json"}
        )
        if response.status_code >= 400:
            raise ControlError("POST", "/state/import", response)
        data: dict[str, Any] = response.json()
        return data

    def snapshot(self, name: str, *, replace: bool = False) -> dict[str, Any]:
        """Keep the state now under ``name`` (in the emulator's store)."""
        data: dict[str, Any] = self.request(
            "POST", "/snapshots", {"name": name, "replace": replace}
        )
        return data

    def restore(self, name: str) -> dict[str, Any]:
        """Put the state kept under ``name`` back, all or nothing."""
        data: dict[str, Any] = self.request("POST", f"/snapshots/{name}/restore")
        return data

    def snapshots(self) -> list[dict[str, Any]]:
        """The snapshots kept: name, created_at, size."""
        data: list[dict[str, Any]] = self.request("GET", "/snapshots")
        return data

    def delete_snapshot(self, name: str) -> None:
        self.request("DELETE", f"/snapshots/{name}")
