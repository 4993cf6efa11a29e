"""Any webhook on demand: ``POST /_emulator/webhooks/trigger`` fires any event of Zoom's webhook
documents, and ``GET /_emulator/webhooks/events`` lists them with what each needs.

The payload is :func:`zoomlive.emulator.webhook_payloads.payload_for`'s, as for the events the
emulator sends by itself, built from the object named: a stored meeting, webinar or user (its
fields as the API shows them, its host as the operator's account owner), over a made-up object
generated from the event's documented schema (Zoom's examples where they fit, see
:mod:`zoomlive.emulator.spec.values`) for what the stored one does not carry: a participant, a
registrant, recording files. With nothing named, the made-up object stands alone. Update events
(``old_object``) name one changed field, with its old value.

Delivery is the normal one: a row of the outbox per subscription, in one transaction, signed
when sent, with Zoom's retries, deadline and log (``GET /_emulator/webhooks/deliveries``) and the
``webhook`` items of the event feed. A trigger goes to the account's validated subscriptions
whatever events they list (the trigger itself asks for the event); with ``url``, to that URL
only, signed with the app's secret token (docs/webhooks.md, docs/fidelity.md).
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import re
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr
from starlette.responses import JSONResponse, Response

from zoomlive.api import zoomdoc
from zoomlive.api.errors import E
from zoomlive.api.sessions import KINDS
from zoomlive.api.wire import zoom_time
from zoomlive.emulator import webhooks
from zoomlive.emulator.env import Env
from zoomlive.emulator.http import validate_model
from zoomlive.emulator.rules.common import parse_session_id
from zoomlive.emulator.rules.sessions import webhook_object
from zoomlive.emulator.rules.users import settings_of, user_view
from zoomlive.emulator.spec.schemas import fold
from zoomlive.emulator.spec.values import generate, seeded
from zoomlive.emulator.store import Tx, WebhookSubscription
from zoomlive.emulator.webhook_payloads import event_body, payload_for, payload_schema, resolved

if TYPE_CHECKING:
    from zoomlive.emulator.control.endpoints import ControlRequest

Needs = Literal["meeting", "webinar", "user", "account"]
IDS: dict[Needs, tuple[str, ...]] = {
    "meeting": ("meeting_id",),
    "webinar": ("webinar_id",),
    "user": ("user_id",),
    "account": (),
}
"""The body fields that name an event's object, by what the event is about."""
ID_FIELDS = ("meeting_id", "webinar_id", "user_id")
NAMING = frozenset({"id", "uuid", "meeting_id", "meeting_uuid", "meeting_number"})
"""Fields of an object that name a meeting (events without one are about the account)."""
RECORDING_IDS = ("meeting_id", "webinar_id")
"""A recording is of a meeting or of a webinar: either names it."""
IDENTITY = ("id", "uuid", "host_id", "email", "account_id")
"""Fields an update event never shows as changed."""
CHANGED_FIRST = ("topic", "name", "first_name", "display_name", "personal_notes", "settings")
"""Where an update event's one change is made, in this order of preference."""
_DEPTH = 12


# the catalog ---------------------------------------------------------------------------------


def _object_properties(event: str) -> dict[str, Any]:
    properties = payload_schema(event).get("properties") or {}
    obj = resolved(properties.get("object", {}))
    found: dict[str, Any] = obj.get("properties") or {}
    return found


def needs_of(event: str) -> Needs:
    """What ``event`` is about: a meeting, a webinar, a user, or only the account (groups,
    batches of recordings, storage)."""
    family = event.split(".", 1)[0]
    props = _object_properties(event)
    if family == "user":
        return "user"
    if family == "webinar":
        return "webinar"
    if family in ("meeting", "recording") and NAMING & set(props):
        return "meeting"
    return "account"


def ids_of(event: str) -> tuple[str, ...]:
    """The body fields that may name the event's object."""
    needs = needs_of(event)
    if needs == "meeting" and event.startswith("recording."):
        return RECORDING_IDS
    return IDS[needs]


_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")


def _description(event: str) -> str:
    for name in zoomdoc.WEBHOOK_DOCS:
        item = zoomdoc.document(name)["webhooks"].get(event)
        if item is not None:
            text = str(item["post"].get("requestBody", {}).get("description", ""))
            break
    else:  # pragma: no cover - every event comes from these documents
        return ""
    paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
    words = [p for p in paragraphs if not p.startswith("#")]
    first = words[0] if words else ""
    return _LINK.sub(r"\1", first).replace("**", "").replace("\n", " ").strip()


@functools.cache
def catalog() -> tuple[dict[str, Any], ...]:
    """Every event of Zoom's webhook documents, by name: the document, what it is about
    (``needs``), the body fields that name its object (``ids``), and its description."""
    rows = []
    for doc in zoomdoc.WEBHOOK_DOCS:
        for event in zoomdoc.webhook_events(doc):
            rows.append(
                {
                    "event": event,
                    "document": doc.removesuffix("_webhooks"),
                    "needs": needs_of(event),
                    "ids": list(ids_of(event)),
                    "description": _description(event),
                }
            )
    return tuple(sorted(rows, key=lambda r: r["event"]))


def event_list(env: Env, req: ControlRequest) -> Response:
    """``GET /_emulator/webhooks/events``: the catalog."""
    return JSONResponse(list(catalog()))


# made-up objects -----------------------------------------------------------------------------


def _deep(schema: Any, depth: int = 0) -> Any:
    """``schema`` with every ``$ref`` followed and every ``anyOf``/``oneOf`` read as
    :func:`resolved` reads it (as ``payload_for`` will), so values generated for it fit."""
    if not isinstance(schema, dict) or depth > _DEPTH:
        return {}
    schema = dict(fold(resolved(schema)))
    schema.pop("anyOf", None)
    schema.pop("oneOf", None)
    if "properties" in schema:
        schema["properties"] = {
            k: _deep(v, depth + 1) for k, v in (schema["properties"] or {}).items()
        }
    if "items" in schema:
        schema["items"] = _deep(schema["items"], depth + 1)
    return schema


def made_up(event: str, *seed: object) -> dict[str, Any]:
    """An object for ``event`` with every documented field, generated from its schema:
    deterministic for the same event and ``seed``."""
    properties = payload_schema(event).get("properties") or {}
    schema = _deep(properties.get("object", {}))
    value = generate(schema, seeded("trigger", event, *seed))
    return value if isinstance(value, dict) else {}


def _aliases(record: dict[str, Any], prefixes: tuple[str, ...]) -> dict[str, Any]:
    """The object's fields under the names some events give them (``meeting_id``,
    ``meeting_uuid``, ``meeting_topic``, ``webinar_id``, ``meeting_number``...)."""
    out: dict[str, Any] = {}
    for prefix in prefixes:
        for name in ("id", "uuid", "topic", "host_id", "host_email", "start_time"):
            if record.get(name) is not None:
                out[f"{prefix}_{name}"] = record[name]
        if record.get("id") is not None:
            out[f"{prefix}_number"] = record["id"]
    return out


def _altered(container: dict[str, Any], key: str, schema: dict[str, Any]) -> bool:
    """Change ``container[key]`` to another value its schema allows (an old value)."""
    schema = resolved(schema)
    value = container[key]
    if schema.get("enum"):
        others = [v for v in schema["enum"] if v != value]
        if not others:
            return False
        container[key] = others[0]
    elif isinstance(value, bool):
        container[key] = not value
    elif isinstance(value, str) and "format" not in schema and value:
        container[key] = f"{value} (before)"
    elif isinstance(value, int):
        container[key] = value + 1
    elif isinstance(value, dict):
        props = schema.get("properties") or {}
        return any(
            _altered(value, name, props[name])
            for name in list(value)
            if name in props and name not in IDENTITY
        )
    else:
        return False
    return True


def before(record: dict[str, Any], event: str) -> dict[str, Any]:
    """``record`` as it was before an update: one field changed (the topic, name or a setting
    where the event has one)."""
    old = copy.deepcopy(record)
    props = _object_properties(event)
    order = [k for k in CHANGED_FIRST if k in props] + [
        k for k in props if k not in CHANGED_FIRST and k not in IDENTITY
    ]
    for key in order:
        if key in old and _altered(old, key, props[key]):
            break
    return old


# the trigger ---------------------------------------------------------------------------------


class TriggerBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    event: StrictStr = Field(min_length=1, max_length=200)
    """An event of Zoom's webhook documents (``GET /_emulator/webhooks/events``)."""
    meeting_id: StrictInt | StrictStr | None = None
    webinar_id: StrictInt | StrictStr | None = None
    user_id: StrictStr | None = Field(default=None, min_length=1, max_length=200)
    """A user's id or email."""
    account_id: StrictStr | None = Field(default=None, min_length=1, max_length=200)
    """The account the event is for (default: the object's, else the only account)."""
    client_id: StrictStr | None = Field(default=None, min_length=1, max_length=200)
    """Only this app's subscription (default: every validated one of the account)."""
    url: StrictStr | None = Field(
        default=None, min_length=8, max_length=2048, pattern=r"^https?://"
    )
    """Deliver here instead of the subscription's URL (signed with the app's secret token)."""


@dataclasses.dataclass
class Subject:
    account_id: str | None
    record: dict[str, Any]
    seed: object


def _session_subject(tx: Tx, env: Env, kind: Literal["meeting", "webinar"], raw: Any) -> Subject:
    spec = KINDS[kind]
    session_id, _ = parse_session_id(str(raw), spec)
    assert session_id is not None
    found = tx.get_session(kind, session_id)
    if found is None:
        raise E.CONTROL_SESSION_NOT_FOUND.error(noun=spec.noun, id=session_id)
    host = tx.get_user(found.host_id)
    record = webhook_object(found, host, env.settings.advertised_url)
    if host is not None:
        record.setdefault("host_email", host.email)
    stream = tx.get_livestream(kind, found.id)
    if stream is not None and stream.stream_url:
        record["live_streaming"] = {
            "service": "Custom_Live_Streaming_Service",
            "custom_live_streaming_settings": {
                "stream_url": stream.stream_url,
                "stream_key": stream.stream_key,
                "page_url": stream.page_url,
                **({"resolution": stream.resolution} if stream.resolution else {}),
            },
            "date_time": zoom_time(env.clock.now()),
        }
    return Subject(found.account_id, record, (kind, found.id))


def _user_subject(tx: Tx, env: Env, raw: str) -> Subject:
    user = tx.get_user_by_email(raw) if "@" in raw else tx.get_user(raw)
    if user is None:
        raise E.CONTROL_NOT_FOUND.error(what="User", id=raw)
    shown = user_view(user, env.settings.advertised_url).model_dump(mode="json", exclude_none=True)
    shown["settings"] = settings_of(user)
    return Subject(user.account_id, shown, ("user", user.id))


def _made_up_subject(env: Env, needs: Needs) -> Subject:
    """A plausible object nobody stored, in Zoom's forms (:func:`fire` makes the account's
    owner its host)."""
    now = env.clock.now()
    rng = seeded("trigger-object", needs, now.isoformat())
    record: dict[str, Any] = {}
    if needs in ("meeting", "webinar"):
        record = {
            "id": rng.randrange(10**9, 10**11),
            "uuid": "".join(
                rng.choice("ABCDEFGHIJKLMNOPabcdefghijklmnop0123456789") for _ in range(22)
            )
            + "==",
            "topic": f"Made-up {needs}",
            "type": 5 if needs == "webinar" else 2,
            "start_time": zoom_time(now),
            "duration": 60,
            "timezone": "UTC",
        }
    elif needs == "user":
        record = {
            "id": "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(22)),
            "email": f"made-up.user.{rng.randrange(1000, 9999)}@example.com",
            "first_name": "Made-up",
            "last_name": "User",
            "type": 1,
        }
    return Subject(None, record, (needs, now.isoformat()))


def _subject(
    tx: Tx, env: Env, body: TriggerBody, needs: Needs, allowed: tuple[str, ...]
) -> Subject:
    given = [name for name in ID_FIELDS if getattr(body, name) is not None]
    if len(given) > 1:
        raise E.CONTROL_TRIGGER_IDS.error()
    if given and given[0] not in allowed:
        expected = " or ".join(allowed) if allowed else "no id (it is about the account)"
        raise E.CONTROL_TRIGGER_SUBJECT.error(event=body.event, expected=expected, given=given[0])
    if not given:
        return _made_up_subject(env, needs)
    name = given[0]
    value = getattr(body, name)
    if name == "user_id":
        return _user_subject(tx, env, value)
    return _session_subject(tx, env, "meeting" if name == "meeting_id" else "webinar", value)


def _account(tx: Tx, body: TriggerBody, subject: Subject) -> str:
    if body.account_id is not None:
        if tx.get_account(body.account_id) is None:
            raise E.CONTROL_NOT_FOUND.error(what="Account", id=body.account_id)
        if subject.account_id is not None and subject.account_id != body.account_id:
            raise E.CONTROL_TRIGGER_ACCOUNT.error(what="The object", account=body.account_id)
        return body.account_id
    if subject.account_id is not None:
        return subject.account_id
    if body.client_id is not None:
        app = tx.get_app(body.client_id)
        if app is None:
            raise E.CONTROL_NOT_FOUND.error(what="App", id=body.client_id)
        return app.account_id
    accounts = tx.list_accounts()
    if len(accounts) != 1:
        raise E.CONTROL_TRIGGER_WHICH_ACCOUNT.error(count=len(accounts))
    return accounts[0].id


def _targets(tx: Tx, body: TriggerBody, account_id: str) -> list[WebhookSubscription]:
    """The subscriptions the event goes to (each delivery signed with its secret token)."""
    if body.client_id is not None:
        app = tx.get_app(body.client_id)
        if app is None:
            raise E.CONTROL_NOT_FOUND.error(what="App", id=body.client_id)
        if app.account_id != account_id:
            raise E.CONTROL_TRIGGER_ACCOUNT.error(what=f"App {app.client_id}", account=account_id)
        sub = tx.get_subscription(body.client_id)
        subs = [sub] if sub is not None else []
    else:
        subs = tx.select("webhook_subscriptions", lambda s: s.account_id == account_id)
    if body.url is None:
        subs = [s for s in subs if s.validated_at is not None]
    if not subs:
        what = f"App {body.client_id}" if body.client_id else f"Account {account_id}"
        condition = "" if body.url is not None else " whose URL passed validation"
        raise E.CONTROL_NO_SUBSCRIPTION.error(what=what, condition=condition)
    if body.url is not None:
        # one delivery to the URL given, signed with the (first) app's secret token
        return [dataclasses.replace(subs[0], url=body.url)]
    return subs


def _whole_parts(
    payload: dict[str, Any], event: str, record: dict[str, Any], old: dict[str, Any], account: str
) -> None:
    """An update names what changed; a changed part other than ``settings`` (a user's TSP
    credentials) is shown whole, old and new, as its document requires all its fields (the old
    part's fields right in ``old_object`` where the document puts them there)."""
    whole = payload_for(event, record, account_id=account)["object"]
    was = payload_for(event, old, account_id=account)["object"]
    for name in ("object", "old_object"):
        part = payload.get(name)
        full = whole if name == "object" else was
        if not isinstance(part, dict):
            continue
        documented = resolved(payload_schema(event)["properties"][name]).get("properties") or {}
        for key, value in list(part.items()):
            if key == "settings" or not isinstance(value, dict):
                continue
            whole_part = full.get(key)
            if not isinstance(whole_part, dict):
                continue
            if key in documented:
                part[key] = whole_part
            else:  # the old part's fields right in old_object (user.tsp_updated)
                del part[key]
                part.update({k: v for k, v in whole_part.items() if k in documented})


def fire(env: Env, tx: Tx, body: TriggerBody) -> dict[str, Any]:
    """Queue ``body.event`` as asked; what was queued (the deliveries and the body)."""
    if body.event not in zoomdoc.webhook_events():
        raise E.CONTROL_UNKNOWN_EVENT.error(event=body.event)
    needs = needs_of(body.event)
    subject = _subject(tx, env, body, needs, ids_of(body.event))
    account_id = _account(tx, body, subject)
    if subject.account_id is None and needs in ("meeting", "webinar"):
        owner = webhooks.owner_of(tx, account_id)
        if owner is not None:
            subject.record.setdefault("host_email", owner[0])
            subject.record.setdefault("host_id", owner[1])
    targets = _targets(tx, body, account_id)
    prefixes: tuple[str, ...] = ()
    if needs in ("meeting", "webinar"):
        kind = subject.seed[0] if isinstance(subject.seed, tuple) else needs
        prefixes = (str(kind), "meeting") if kind != "meeting" else ("meeting",)
    sample = made_up(body.event, subject.seed)
    record = {
        **sample,
        **_aliases(subject.record, prefixes),
        **subject.record,
        "account_id": account_id,
    }
    for key, schema in _object_properties(body.event).items():
        allowed = resolved(schema).get("enum")
        if allowed and key in record and record[key] not in allowed:
            # the stored value is not one this event documents (a meeting converted to a
            # webinar has a webinar's type): the made-up one is
            record[key] = sample.get(key, allowed[0])
    old = (
        before(record, body.event)
        if "old_object" in (payload_schema(body.event).get("properties") or {})
        else None
    )
    now = env.clock.now()
    payload = payload_for(
        body.event,
        record,
        old,
        account_id=account_id,
        operator=webhooks.owner_of(tx, account_id),
        now=now,
    )
    if old is not None:
        _whole_parts(payload, body.event, record, old, account_id)
    text = event_body(body.event, now, payload)
    queued = [
        {
            "id": tx.insert_delivery(sub, body.event, text, now),
            "client_id": sub.client_id,
            "url": sub.url,
        }
        for sub in targets
    ]
    tx.effects.append(webhooks.WebhookWake())
    return {"event": body.event, "account_id": account_id, "deliveries": queued, "body": text}


def trigger(env: Env, req: ControlRequest) -> Response:
    """``POST /_emulator/webhooks/trigger``: 202 with the deliveries queued (not yet sent)."""
    body = validate_model(TriggerBody, req.document())
    with env.store.write() as tx:
        answer = fire(env, tx, body)
    return JSONResponse(answer, status_code=202)
