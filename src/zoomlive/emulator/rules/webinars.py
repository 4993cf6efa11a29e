"""Webinars: create, list, get, update, delete and end (``PUT .../status``), with Zoom's codes.
A webinar needs a Pro-or-higher plan with the webinar add-on."""

from __future__ import annotations

from datetime import datetime

from zoomlive.api import wire as w
from zoomlive.api.errors import E
from zoomlive.emulator import webhooks
from zoomlive.emulator.env import Env
from zoomlive.emulator.rules.common import (
    Call,
    Result,
    find_host,
    has_webinar_plan,
    page_info,
    page_window,
    require_host_plan,
    require_webinar_plan,
)
from zoomlive.emulator.rules.sessions import (
    RULES,
    apply_fields,
    count_create_update,
    delete_occurrence_only,
    end_session,
    list_item,
    load_session,
    new_session,
    occurrence_query,
    session_view,
    update_occurrence_or_series,
    webhook_object,
)
from zoomlive.emulator.rules.views import view
from zoomlive.emulator.store import Session, Tx

NOT_FOUND = RULES["webinar"].not_found
NOT_FOUND_OR_EXPIRED = "Webinar {id} not found or has expired."


def _load(tx: Tx, call: Call, message: str = NOT_FOUND_OR_EXPIRED) -> Session:
    return load_session(tx, call, "webinar", status=404, message=message)


def create_webinar(env: Env, tx: Tx, call: Call) -> Result:
    host = find_host(tx, call)
    require_host_plan(tx, host)
    count_create_update(env, tx, host, "webinar")
    body = call.body
    assert isinstance(body, w.WebinarCreate)
    webinar = new_session(env, tx, "webinar", host, None)
    apply_fields(webinar, body)
    tx.insert_session(webinar)
    webhooks.emit(
        tx,
        webinar.created_at,
        webinar.account_id,
        "webinar.created",
        webhook_object(webinar, host, call.base_url),
        operator=(host.email, host.id),
    )
    return Result(201, session_view(webinar, host, call.base_url))


def get_webinar(env: Env, tx: Tx, call: Call) -> Result:
    webinar = _load(tx, call, NOT_FOUND)
    host, _ = require_webinar_plan(tx, webinar)
    query = occurrence_query(call)
    return Result(200, session_view(webinar, host, call.base_url, query, env.clock.now()))


def update_webinar(env: Env, tx: Tx, call: Call) -> Result:
    webinar = _load(tx, call)
    host, _ = require_webinar_plan(tx, webinar)
    if webinar.status == "started":
        raise E.STARTED_NO_UPDATE.error()
    body = call.body
    assert isinstance(body, w.WebinarUpdate)
    count_create_update(env, tx, host, "webinar")
    before = webhook_object(webinar, host, call.base_url)
    update_occurrence_or_series(webinar, call, body)
    webinar.updated_at = env.clock.now()
    tx.update_session(webinar)
    webhooks.emit(
        tx,
        webinar.updated_at,
        webinar.account_id,
        "webinar.updated",
        webhook_object(webinar, host, call.base_url),
        old=before,
        operator=(host.email, host.id),
    )
    return Result(204)


def delete_webinar(env: Env, tx: Tx, call: Call) -> Result:
    webinar = _load(tx, call)
    host, _ = require_webinar_plan(tx, webinar)
    if webinar.status == "started":
        raise E.WEBINAR_IN_PROGRESS.error()
    if webinar.status == "ended":
        raise E.WEBINAR_ENDED.error()
    if delete_occurrence_only(tx, webinar, call):
        return Result(204)
    tx.delete_session("webinar", webinar.id)
    webhooks.emit(
        tx,
        env.clock.now(),
        webinar.account_id,
        "webinar.deleted",
        webhook_object(webinar, host, call.base_url),
        operator=webhooks.owner_of(tx, webinar.account_id),
    )
    return Result(204)


def update_webinar_status(env: Env, tx: Tx, call: Call) -> Result:
    webinar = _load(tx, call)
    account = tx.get_account(webinar.account_id)
    if account is None or not has_webinar_plan(account):
        # Zoom's documented oddity: HTTP 200 (not 204) with an error body.
        raise E.WEBINAR_PLAN_SUBSCRIPTION_MISSING.error(
            id=webinar.host_id,
        )
    if webinar.status == "started":
        end_session(env, tx, webinar)
    return Result(204)


def list_webinars(env: Env, tx: Tx, call: Call) -> Result:
    query = call.query
    assert isinstance(query, w.WebinarListQuery)
    host = find_host(tx, call)
    require_host_plan(tx, host)
    offset, page_size = page_window(query)
    start_after: datetime | None = env.clock.now() if query.type == "upcoming" else None
    rows, total = tx.list_sessions(
        "webinar",
        host_id=host.id,
        statuses=("waiting", "started"),
        start_after=start_after,
        offset=offset,
        limit=page_size,
    )
    items = [list_item(w.WebinarListItem, r, call.base_url) for r in rows]
    return Result(
        200,
        view(w.WebinarList, {**page_info(offset, page_size, len(rows), total), "webinars": items}),
    )
