"""The spec tier's answers, and the writes it remembers (``spec_resources`` in the store).

How writes pair with reads, from the document's paths alone (see docs/fidelity.md, "Spec
tier"):

* a ``PATCH`` or ``PUT`` of a path whose ``GET`` the document has: what it wrote is kept for that
  path (merged into what was there), and the ``GET`` returns it merged into its answer;
* a ``POST`` to a path with operations one parameter below it (``/meetings/{id}/polls`` and
  ``/meetings/{id}/polls/{pollId}``) creates an item: a new id, returned in the answer, and the
  body kept at the item's path; the collection's ``GET`` then lists exactly the items created
  (one per element when the body carries the list's own array: ``{"panelists": [...]}``);
* a ``DELETE`` marks its path gone (and what is under it): reads, updates and deletes of it
  answer the document's 404 for the resource. A ``DELETE`` of a collection removes its items.
  ``PATCH``/``PUT`` of a gone singleton (``/webinars/{id}/survey``) writes it anew.

Only what fits the answer's schema is merged into it, so an answer always keeps its documented
shape. Everything else is generated (``values.py``), consistent with the stored meeting,
webinar or user the path names.
"""

from __future__ import annotations

import json
import re
from typing import Any, cast

from zoomlive.api.errors import E, ZoomError, as_given
from zoomlive.api.sessions import KINDS
from zoomlive.emulator.env import Env
from zoomlive.emulator.rules.common import Call, Result
from zoomlive.emulator.spec.operations import SpecOp
from zoomlive.emulator.spec.schemas import Schema, fits
from zoomlive.emulator.spec.tier import Named, SpecCall, resolve
from zoomlive.emulator.spec.values import generate, seeded
from zoomlive.emulator.store import Tx
from zoomlive.emulator.store.records import SpecResource

TABLE = "spec_resources"
KEEPS_READ = frozenset({"userSSOTokenDelete"})
"""Deletes that leave their path's read as it was: revoking a user's SSO token does not stop
``GET /users/{userId}/token`` from minting a ZAK."""
OWN_PATH = re.compile(r"/(users|meetings|webinars|past_meetings|past_webinars)/\{\}")
"""A stored object's own path: deleting it is the stateful tier's (it owns the object); the
spec tier answers such a delete without marking the object gone."""


def handle(env: Env, tx: Tx, call: Call) -> Result:
    """Answer one spec-tier call (the gateway's handler for every spec operation)."""
    assert isinstance(call, SpecCall) and call.spec is not None
    spec = call.spec
    named = resolve(tx, call)
    path = "/v2" + re.sub(r"\{([^}]+)\}", lambda m: named.values[m.group(1)], spec.doc.path)
    account = call.principal.account_id
    method = spec.op.method
    _check_gone(tx, spec, account, path, named, method)
    if method == "GET":
        body = _read(env, tx, spec, account, path, named)
    elif method == "POST" and spec.pairs.item is not None:
        body = _create(env, tx, spec, account, path, named, call.data)
    elif method in ("PATCH", "PUT"):
        body = _write(env, tx, spec, account, path, named, call.data)
    elif method == "DELETE":
        _delete(env, tx, spec, account, path)
        body = _answer(spec, named, path)
    else:
        body = _answer(spec, named, path)
        if isinstance(body, dict) and isinstance(call.data, dict):
            body = merge(body, call.data, spec.answer_schema or {})
    if spec.success == 204:
        body = None
    return Result(spec.success, cast(Any, body))  # JSON-ready: an object, or an array


# reads ---------------------------------------------------------------------------------------


def _read(env: Env, tx: Tx, spec: SpecOp, account: str, path: str, named: Named) -> Any:
    body = _answer(spec, named, path)
    schema = spec.answer_schema or {}
    row = tx.get(TABLE, (account, path))
    if row is not None and isinstance(body, dict):
        body = merge(body, row.body, schema)
    pairs = spec.pairs
    if pairs.item is not None and pairs.list_field and isinstance(body, dict):
        field_schema = schema["properties"][pairs.list_field]
        items_schema = field_schema.get("items", {})
        children = _children(tx, account, path)
        if pairs.creatable:
            items = [
                _item(spec, items_schema, child.path, child.body, pairs.item_name)
                for child in children
                if not child.deleted
            ]
        else:  # generated items, less the ones deleted
            gone = {child.path.rsplit("/", 1)[1] for child in children if child.deleted}
            items = [i for i in body[pairs.list_field] if str(_id_of(i)) not in gone]
        body[pairs.list_field] = items
        _count(body, schema, len(items))
    return body


def _item(spec: SpecOp, schema: Schema, path: str, stored: dict[str, Any], id_name: str) -> Any:
    value = generate(schema, seeded(spec.operation_id, path))
    if isinstance(value, dict):
        _set(value, schema, "id", path.rsplit("/", 1)[1])
        _set(value, schema, id_name, path.rsplit("/", 1)[1])
        value = merge(value, stored, schema)
    return value


def _id_of(item: Any) -> Any:
    return item.get("id") if isinstance(item, dict) else None


def _count(body: dict[str, Any], schema: Schema, count: int) -> None:
    props = schema.get("properties", {})
    facts = (("total_records", count), ("next_page_token", ""), ("page_count", min(count, 1)))
    for name, value in facts:
        if name in body and fits(value, props.get(name, {})):
            body[name] = value


def _children(tx: Tx, account: str, path: str) -> list[SpecResource]:
    prefix = path + "/"
    rows: list[SpecResource] = tx.select(
        TABLE,
        lambda r: (
            r.account_id == account
            and r.path.startswith(prefix)
            and "/" not in r.path[len(prefix) :]
        ),
        order=lambda r: r.seq,
    )
    return rows


# writes --------------------------------------------------------------------------------------


def _create(
    env: Env, tx: Tx, spec: SpecOp, account: str, path: str, named: Named, data: Any
) -> Any:
    """Items of a collection: a new id each, the body kept at the item's path."""
    pairs = spec.pairs
    assert pairs.item_param is not None
    elements: list[Any] = [data]
    if pairs.list_field and isinstance(data, dict):
        batch = data.get(pairs.list_field)
        if isinstance(batch, list) and batch and all(isinstance(e, dict) for e in batch):
            elements = batch
    answer = _answer(spec, named, path)
    schema = spec.answer_schema or {}
    first: str | None = None
    for element in elements:
        if pairs.item_param.schema.get("type") == "integer":
            new_id = str(env.source.webinar_id())
        else:
            new_id = env.source.user_id()
        first = first or new_id
        stored = dict(element) if isinstance(element, dict) else {}
        if isinstance(answer, dict) and len(elements) == 1:
            stored = {**{k: v for k, v in answer.items() if k != "id"}, **stored}
        stored["id"] = new_id
        _put(env, tx, account, f"{path}/{new_id}", stored, deleted=False)
    if isinstance(answer, dict) and first is not None:
        if len(elements) == 1 and isinstance(data, dict):
            answer = merge(answer, data, schema)
        # the new id as ``{name}_id`` where documented (a registrant's ``id`` is its meeting's),
        # else as ``id``
        if pairs.item_name in schema.get("properties", {}):
            _set(answer, schema, pairs.item_name, first)
        else:
            _set(answer, schema, "id", first)
    return answer


def _write(env: Env, tx: Tx, spec: SpecOp, account: str, path: str, named: Named, data: Any) -> Any:
    if spec.pairs.read is not None and isinstance(data, dict):
        row = tx.get(TABLE, (account, path))
        old = row.body if row is not None and not row.deleted else {}
        _put(env, tx, account, path, deep_merge(old, data), deleted=False)
    return _answer(spec, named, path)


def _delete(env: Env, tx: Tx, spec: SpecOp, account: str, path: str) -> None:
    if spec.operation_id in KEEPS_READ or OWN_PATH.fullmatch(spec.template):
        return  # a stored user, meeting or webinar is the stateful tier's to delete
    if spec.pairs.item is not None:  # a collection: its items go, it stays
        for child in _children(tx, account, path):
            if not child.deleted:
                _put(env, tx, account, child.path, {}, deleted=True)
        return
    prefix = path + "/"
    for row in tx.select(TABLE, lambda r: r.account_id == account and r.path.startswith(prefix)):
        tx.delete(TABLE, (account, row.path))
    _put(env, tx, account, path, {}, deleted=True)


def _put(env: Env, tx: Tx, account: str, path: str, body: dict[str, Any], *, deleted: bool) -> None:
    row = tx.get(TABLE, (account, path))
    now = env.clock.now()
    if row is not None:
        row.body, row.deleted, row.updated_at = body, deleted, now
        tx.update(TABLE, row)
        return
    seq = 1 + max((r.seq for r in tx.select(TABLE, lambda r: r.account_id == account)), default=0)
    tx.insert(TABLE, SpecResource(account, path, body, deleted, seq, now))


def _check_gone(tx: Tx, spec: SpecOp, account: str, path: str, named: Named, method: str) -> None:
    """A deleted resource (or one under it) answers Zoom's 404 for it; a write revives a gone
    singleton, not a gone item."""
    parts = path.split("/")
    for end in range(len(parts), 3, -1):
        at = "/".join(parts[:end])
        row = tx.get(TABLE, (account, at))
        if row is None or not row.deleted:
            continue
        if at == path and method in ("PATCH", "PUT", "POST") and not spec.template.endswith("{}"):
            return
        raise not_found(spec, named, at)


def not_found(spec: SpecOp, named: Named, path: str) -> ZoomError:
    """The document's 404 for the resource (its code and text, ids filled in), else one in
    Zoom's shape naming it."""
    candidates = [spec, spec.pairs.read] if spec.pairs.read is not None else [spec]
    for source in candidates:
        if source is not None and source.not_found is not None:
            code, text = source.not_found
            for name, value in named.values.items():
                text = text.replace("{" + name + "}", value).replace("$" + name, value)
            return as_given(404, code, text)  # the document's own words
    segments = [s for s in path.split("/") if s]
    literal = [s for s in spec.doc.path.split("/") if s and not s.startswith("{")]
    noun = literal[-1].replace("_", " ") if literal else "resource"
    if spec.template.endswith("{}") and noun.endswith("s"):
        noun = noun[:-1]
    return E.RESOURCE_DOES_NOT_EXIST.error(noun=f"{noun[:1].upper()}{noun[1:]}", id=segments[-1])


# answers -------------------------------------------------------------------------------------


_GENERATED: dict[tuple[int, str], str] = {}
"""Generated answers by (schema, path), as JSON: the same call answers the same, so a big one
(a user's settings: 8 KiB, a few ms to build) is built once. Oldest out past the cap."""
_GENERATED_CAP = 2048


def _answer(spec: SpecOp, named: Named, path: str) -> Any:
    """The success answer generated from the document, consistent with what the path names."""
    schema = spec.answer_schema
    if schema is None:
        return None
    key = (id(schema), path)
    text = _GENERATED.get(key)
    if text is None:
        text = json.dumps(generate(schema, seeded(spec.operation_id, path)))
        if len(_GENERATED) >= _GENERATED_CAP:
            _GENERATED.pop(next(iter(_GENERATED)), None)
        _GENERATED[key] = text
    value = json.loads(text)
    if isinstance(value, dict):
        _name(value, schema, named)
    return value


def _name(value: dict[str, Any], schema: Schema, named: Named) -> None:
    session, user, last = named.session, named.user, named.last
    if session is not None and named.kind is not None:
        kind = named.kind
        host = named.host
        facts: dict[str, Any] = {
            "uuid": session.uuid,
            "topic": session.topic,
            "host_id": session.host_id,
            "host_email": host.email if host is not None else None,
            "join_url": f"{named.base_url}/{KINDS[kind].join_path}/{session.id}",
            "timezone": session.timezone,
            "duration": session.duration,
        }
        for key, fact in facts.items():
            _set(value, schema, key, fact)
            _set(value, schema, f"{kind}_{key}", fact)
        _set(value, schema, f"{kind}_id", session.id)
        if last in ("meetingId", "meetingUUID", "webinarId"):
            _set(value, schema, "id", session.id)
    if user is not None and last == "userId":
        for key, fact in (
            ("id", user.id),
            ("email", user.email),
            ("first_name", user.first_name),
            ("last_name", user.last_name),
            ("timezone", user.timezone),
        ):
            _set(value, schema, key, fact)
    if last is not None and last not in ("meetingId", "meetingUUID", "webinarId", "userId"):
        raw = named.values[last]
        _set(value, schema, "id", raw)
        _set(value, schema, _snake(last), raw)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _set(value: dict[str, Any], schema: Schema, key: str, fact: Any) -> None:
    """Set ``key`` to ``fact`` where the answer documents it and the fact fits its schema (an id
    as text or number, as the schema types it)."""
    sub = schema.get("properties", {}).get(key)
    if sub is None or fact is None:
        return
    if sub.get("type") == "integer" and isinstance(fact, str) and fact.isdigit():
        fact = int(fact)
    elif sub.get("type") == "string" and isinstance(fact, int):
        fact = str(fact)
    if fits(fact, sub):
        value[key] = fact


def merge(answer: Any, stored: Any, schema: Schema) -> Any:
    """``stored`` merged into ``answer``: only the properties the schema documents, each only
    where its value fits (objects merged property by property)."""
    if not (isinstance(answer, dict) and isinstance(stored, dict)):
        return answer
    props = schema.get("properties", {})
    out = dict(answer)
    for key, value in stored.items():
        sub = props.get(key)
        if sub is None:
            continue
        if isinstance(out.get(key), dict) and isinstance(value, dict) and "properties" in sub:
            out[key] = merge(out[key], value, sub)
        elif fits(value, sub):
            out[key] = value
    return out


def deep_merge(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """A PATCH over what was written before: objects merged, the rest replaced."""
    out = dict(old)
    for key, value in new.items():
        if isinstance(out.get(key), dict) and isinstance(value, dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out
