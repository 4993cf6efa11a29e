"""``zoomlive parity``: a cassette's requests replayed against an emulator, and each answer
compared with the one recorded.

Ids are mapped as they are learnt: where a recorded answer and the emulator's answer to the same
request both have an id (``id``, ``uuid``, ``*_id``, ``*_uuid``, at the same place), the
recorded value stands for the emulator's from then on, in later paths, queries, bodies, host
steps and error messages. Credentials are the emulator's own: given, or an account and app the
replay creates through the control API (a Business account with the webinar add-on and custom
live streaming, one user, an app with every scope; a new one for each replay).

What is compared: the status; for an error, Zoom's ``code`` and ``message``; and the body's
shape, its keys and their types, recursively (an array by the union of its items). With
``values``, scalar values too, except the volatile ones (ids, uuids, times, URLs, passwords,
tokens, and what the cassette redacted).
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import quote, unquote

import httpx

from zoomlive.parity.cassette import (
    PERSONAL_KEYS,
    REDACTED,
    Body,
    Cassette,
    Exchange,
    HostStep,
    is_secret,
)

INVALID_TOKEN = "zoomlive-parity-invalid-token"
_PERSON = re.compile(r"person\d+@example\.com")
_TIME_KEYS = re.compile(r"(^|_)(time|date|at|timestamp|created|expires?)($|_)|_time$|_at$")


class ReplayError(Exception):
    """The replay could not go on (the emulator unreachable, or refusing its credentials)."""


@dataclass(frozen=True)
class Credentials:
    account_id: str
    client_id: str
    client_secret: str


@dataclass
class Difference:
    """One way the emulator's answer differs from the recorded one."""

    entry: int
    """The entry's index in the cassette."""
    request: str
    """``METHOD /path`` as recorded."""
    what: str
    """``status``, ``code``, ``message``, ``missing``, ``extra``, ``type``, ``value`` or
    ``host``."""
    where: str
    """The field (dotted path; ``[]`` for an array's items), or ``""``."""
    recorded: str
    emulator: str


@dataclass
class Report:
    cassette: str
    exchanges: int = 0
    host_steps: int = 0
    differences: list[Difference] = field(default_factory=list)
    ids: dict[str, str] = field(default_factory=dict)
    """Recorded id -> the emulator's."""

    def to_json(self) -> dict[str, Any]:
        return {
            "cassette": self.cassette,
            "exchanges": self.exchanges,
            "host_steps": self.host_steps,
            "differences": [asdict(d) for d in self.differences],
            "ids": self.ids,
        }


# shapes -----------------------------------------------------------------------------------------


def kind_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _merged(items: list[Any]) -> Any:
    """An array's items as one value: objects' keys united (the first value of each key)."""
    objects = [i for i in items if isinstance(i, dict)]
    if objects and len(objects) == len(items):
        out: dict[str, Any] = {}
        for item in objects:
            for key, value in item.items():
                if key not in out or (out[key] is None and value is not None):
                    out[key] = value
                elif isinstance(out[key], list) and isinstance(value, list):
                    out[key] = out[key] + value
        return out
    return items[0]


def is_id_key(key: str) -> bool:
    low = key.lower()
    return low in ("id", "uuid") or low.endswith(("_id", "_uuid"))


def is_volatile(key: str, recorded: Any) -> bool:
    low = key.lower()
    return (
        is_id_key(low)
        or bool(_TIME_KEYS.search(low))
        or low.endswith("url")
        or is_secret(low)
        or low in PERSONAL_KEYS
        or (
            isinstance(recorded, str)
            and (REDACTED in recorded or _PERSON.search(recorded) is not None)
        )
    )


def shape_differences(
    recorded: Any, emulated: Any, *, values: bool = False
) -> list[tuple[str, str, str, str]]:
    """(what, where, recorded, emulator) for each way the two bodies' shapes differ."""
    out: list[tuple[str, str, str, str]] = []
    _walk(recorded, emulated, "", "", values, out)
    return out


def _walk(
    rec: Any, emu: Any, where: str, key: str, values: bool, out: list[tuple[str, str, str, str]]
) -> None:
    rk, ek = kind_of(rec), kind_of(emu)
    if rk != ek:
        out.append(("type", where or "(body)", rk, ek))
        return
    if rk == "object":
        for name in rec:
            path = f"{where}.{name}" if where else name
            if name not in emu:
                out.append(("missing", path, kind_of(rec[name]), "(absent)"))
            else:
                _walk(rec[name], emu[name], path, name, values, out)
        for name in emu:
            if name not in rec:
                path = f"{where}.{name}" if where else name
                out.append(("extra", path, "(absent)", kind_of(emu[name])))
    elif rk == "array":
        if rec and emu:
            _walk(_merged(rec), _merged(emu), f"{where}[]", key, values, out)
    elif values and rec != emu and not is_volatile(key, rec):
        out.append(("value", where or "(body)", json.dumps(rec), json.dumps(emu)))


# ids ------------------------------------------------------------------------------------------


def learn_ids(rec: Any, emu: Any, ids: dict[str, str], key: str = "") -> None:
    """Pairs of ids at the same place in the recorded and the emulator's answer."""
    if isinstance(rec, dict) and isinstance(emu, dict):
        for name, value in rec.items():
            if name in emu:
                learn_ids(value, emu[name], ids, name)
    elif isinstance(rec, list) and isinstance(emu, list):
        for a, b in zip(rec, emu, strict=False):
            learn_ids(a, b, ids, key)
    elif (
        key
        and is_id_key(key)
        and isinstance(rec, (str, int))
        and isinstance(emu, (str, int))
        and not isinstance(rec, bool)
        and not isinstance(emu, bool)
        and str(rec) not in ("", REDACTED)
        and str(rec) != str(emu)
    ):
        ids[str(rec)] = str(emu)


def mapped(value: Any, ids: dict[str, str]) -> Any:
    """A request's value with recorded ids replaced (same type where it can)."""
    if isinstance(value, dict):
        return {k: mapped(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [mapped(v, ids) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int) and str(value) in ids:
        new = ids[str(value)]
        return int(new) if new.isdigit() else new
    if isinstance(value, str) and value in ids:
        return ids[value]
    return value


def mapped_text(text: str, ids: dict[str, str]) -> str:
    """Free text (a path, an error message) with recorded ids replaced, word by word."""
    if not ids:
        return text
    pattern = re.compile(
        r"(?<![\w-])("
        + "|".join(re.escape(k) for k in sorted(ids, key=len, reverse=True))
        + r")(?![\w-])"
    )
    return pattern.sub(lambda m: ids[m.group(1)], text)


def mapped_path(path: str, ids: dict[str, str]) -> str:
    """The path as sent, its recorded ids replaced (an encoded UUID by the encoded new one)."""

    def segment(s: str) -> str:
        if s in ids:
            return quote(ids[s], safe="@:=+")
        if unquote(s) in ids:  # "abc%2Fdef==" for the UUID "abc/def==" (Zoom: double-encode)
            return quote(quote(ids[unquote(s)], safe=""), safe="@:=+")
        return quote(s, safe="@:=+")

    return "/".join(segment(s) for s in path.split("/"))


# the replay ---------------------------------------------------------------------------------


class Replayer:
    """Replays one cassette against one emulator (its root URL)."""

    def __init__(
        self,
        url: str,
        credentials: Credentials | None = None,
        *,
        admin_key: str | None = None,
        values: bool = False,
        timeout: float = 30.0,
    ) -> None:
        self.url = url.rstrip("/")
        self.values = values
        headers = {"X-Admin-Key": admin_key} if admin_key else {}
        self.control = httpx.Client(
            base_url=self.url + "/_emulator", headers=headers, timeout=timeout, trust_env=False
        )
        self.http = httpx.Client(base_url=self.url, timeout=timeout, trust_env=False)
        self._credentials = credentials
        self._token: str | None = None

    def close(self) -> None:
        self.control.close()
        self.http.close()

    def __enter__(self) -> Replayer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # set-up ---------------------------------------------------------------------------------
    @property
    def credentials(self) -> Credentials:
        if self._credentials is None:
            self._credentials = self._new_account()
        return self._credentials

    def _control(self, method: str, path: str, body: Any = None) -> httpx.Response:
        try:
            return self.control.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise ReplayError(f"cannot reach the emulator at {self.url}: {exc}") from None

    def _new_account(self) -> Credentials:
        body = {
            "plan": "business",
            "webinar_addon": True,
            "custom_live_streaming": True,
            "users": [
                {"email": f"parity-{secrets.token_hex(4)}@example.com", "first_name": "Parity"}
            ],
            "apps": [{}],
        }
        response = self._control("POST", "/accounts", body)
        if response.status_code >= 400:
            raise ReplayError(
                f"the emulator's control API refused a new account ({response.status_code}: "
                f"{response.text[:200]}); give --account-id, --client-id and --client-secret"
            )
        app = response.json()["credentials"][0]
        return Credentials(app["account_id"], app["client_id"], app["client_secret"])

    def token(self) -> str:
        if self._token is None:
            creds = self.credentials
            response = self._send(
                "POST",
                "/oauth/token",
                params=[("grant_type", "account_credentials"), ("account_id", creds.account_id)],
                auth=(creds.client_id, creds.client_secret),
            )
            if response.status_code != 200:
                raise ReplayError(
                    f"the emulator refused the credentials ({response.status_code}: "
                    f"{response.text[:200]})"
                )
            self._token = str(response.json()["access_token"])
        return self._token

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ReplayError(f"cannot reach the emulator at {self.url}: {exc}") from None

    # replay ---------------------------------------------------------------------------------
    def run(self, cassette: Cassette, name: str = "cassette") -> Report:
        report = Report(name)
        for index, entry in enumerate(cassette.entries):
            if isinstance(entry, HostStep):
                report.host_steps += 1
                self._host(index, entry, report)
            else:
                report.exchanges += 1
                self._exchange(index, entry, report)
        return report

    def _host(self, index: int, step: HostStep, report: Report) -> None:
        ident = report.ids.get(str(step.id), str(step.id))
        response = self._control("POST", f"/{step.session}s/{ident}/{step.action}")
        if response.status_code >= 400:
            report.differences.append(
                Difference(
                    index,
                    f"host {step.action} {step.session} {step.id}",
                    "host",
                    "",
                    "done",
                    f"{response.status_code} {response.text[:200]}",
                )
            )

    def _exchange(self, index: int, ex: Exchange, report: Report) -> None:
        ids = report.ids
        oauth = ex.path.rstrip("/") == "/oauth/token"
        kwargs: dict[str, Any] = {}
        headers: dict[str, str] = {}
        query = [(k, str(mapped(v, ids))) for k, v in ex.query]
        body = _mapped_body(ex.request, ids)
        if oauth:
            creds = self.credentials
            query = [(k, creds.account_id if k == "account_id" else v) for k, v in query]
            if isinstance(body.value, dict) and "account_id" in body.value:
                body.value = {**body.value, "account_id": creds.account_id}
            if ex.auth == "basic":
                secret = creds.client_secret
                if ex.status == 401 and _code(ex.response) == 4704:
                    secret = "not-" + secret  # recorded with a wrong secret: send one
                kwargs["auth"] = (creds.client_id, secret)
        elif ex.auth == "bearer":
            bad = ex.status == 401 and _code(ex.response) == 124
            headers["Authorization"] = f"Bearer {INVALID_TOKEN if bad else self.token()}"
        elif ex.auth in ("basic", "other"):
            headers["Authorization"] = "Basic " + INVALID_TOKEN
        if body.kind == "json":
            kwargs["content"] = json.dumps(body.value).encode()
            headers["Content-Type"] = ex.content_type or "application/json"
        elif body.kind == "form":
            if (ex.content_type or "").startswith("multipart/"):
                kwargs["files"] = {k: (None, v) for k, v in body.value.items()}
            else:
                kwargs["data"] = body.value
        elif body.kind == "text":
            kwargs["content"] = str(body.value).encode()
            if ex.content_type:
                headers["Content-Type"] = ex.content_type
        path = mapped_path(ex.path, ids)
        response = self._send(ex.method, path, params=query, headers=headers, **kwargs)
        if oauth and response.status_code == 200 and self._token is None:
            self._token = str(response.json().get("access_token") or "") or None
        self._compare(index, ex, response, report)

    def _compare(self, index: int, ex: Exchange, response: httpx.Response, report: Report) -> None:
        label = f"{ex.method} {ex.path}"
        found: list[tuple[str, str, str, str]] = []
        emulated: Any = None
        if response.content:
            try:
                emulated = response.json()
            except ValueError:
                emulated = response.text
        recorded = ex.response.value if ex.response.kind != "none" else None
        if response.status_code != ex.status:
            found.append(("status", "", str(ex.status), str(response.status_code)))
        # Zoom's code and message when both are errors (else the status says it all).
        error = ex.status >= 400 and response.status_code >= 400
        if error and isinstance(recorded, dict) and isinstance(emulated, dict):
            if recorded.get("code") != emulated.get("code"):
                found.append(
                    (
                        "code",
                        "code",
                        json.dumps(recorded.get("code")),
                        json.dumps(emulated.get("code")),
                    )
                )
            message = recorded.get("message")
            if isinstance(message, str):
                message = mapped_text(message, report.ids)
            if message != emulated.get("message"):
                found.append(
                    ("message", "message", json.dumps(message), json.dumps(emulated.get("message")))
                )
        if response.status_code == ex.status:
            found += [
                d
                for d in shape_differences(recorded, emulated, values=self.values)
                if not (error and d[1] in ("code", "message") and d[0] == "value")
            ]
            learn_ids(recorded, emulated, report.ids)
        report.differences += [Difference(index, label, *d) for d in found]


def _code(body: Body) -> Any:
    return body.value.get("code") if isinstance(body.value, dict) else None


def _mapped_body(body: Body, ids: dict[str, str]) -> Body:
    if body.kind == "json":
        return Body("json", mapped(body.value, ids))
    if body.kind == "form":
        return Body("form", {k: str(mapped(v, ids)) for k, v in body.value.items()})
    return Body(body.kind, body.value)
