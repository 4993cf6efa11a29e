"""Cassettes: what ``zoomlive record`` wrote down, as a versioned JSON file (docs/parity.md).

A cassette is one JSON object::

    {"format": "zoomlive-cassette", "version": 1, "upstream": "https://api.zoom.us",
     "recorded_at": "2026-12-04T16:00:00Z", "entries": [ENTRY, ...]}

Each entry is an exchange (a request and the upstream's answer) or a host step (something the
host did in the Zoom app between two calls, which a proxy cannot see)::

    {"kind": "exchange", "method": "POST", "path": "/v2/users/me/webinars",
     "query": [["page_size", "30"]], "auth": "bearer",
     "request": {"content_type": "application/json", "json": {...}},
     "response": {"status": 201, "headers": {"content-type": "..."}, "json": {...}},
     "violations": ["response: start_time: Invalid field."]}
    {"kind": "host", "action": "start", "session": "webinar", "id": 81234567890}

A request or answer body is ``json`` (any JSON value), ``form`` (the fields of an urlencoded or
multipart body), ``text``, or absent (no body). ``auth`` says how the request authenticated
(``bearer``, ``basic``, ``none``, ``other``), never with what.

Redaction happens before anything is written: credentials and tokens (the ``Authorization``
header is never kept; ``access_token``, ``client_secret``, passwords, stream keys, ZAK and join
tokens in bodies and in URLs' queries), and personal data (e-mail addresses anywhere, names,
phone numbers, addresses). A redacted string becomes ``REDACTED`` (an e-mail address
``personN@example.com``, the same N for the same address), so the cassette keeps each field's
type and the replay can still send it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from zoomlive._atomic import write_atomically

FORMAT = "zoomlive-cassette"
VERSION = 1
REDACTED = "REDACTED"

Auth = Literal["bearer", "basic", "none", "other"]
AUTHS: tuple[str, ...] = ("bearer", "basic", "none", "other")
HOST_ACTIONS = ("start", "end")
SESSION_KINDS = ("webinar", "meeting")

KEPT_HEADERS = (
    "content-type",
    "retry-after",
    "x-ratelimit-category",
    "x-ratelimit-type",
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
)
"""The answer's headers a cassette keeps (no cookies, no tracking ids)."""

SECRET_KEYS = frozenset(
    {
        "access_token",
        "refresh_token",
        "client_secret",
        "secret",
        "secret_token",
        "token",
        "zak",
        "tk",
        "pwd",
        "stream_key",
        "account_id",
        "authorization",
        "verification_token",
        "plain_token",
        "plaintoken",
        "encrypted_token",
        "encryptedtoken",
    }
)
"""Keys (in bodies, forms and queries) whose value is a credential or token."""
SECRET_PARTS = ("password", "passcode", "secret")
"""A key that contains one of these is a credential too (``h323_password``, ...)."""
PERSONAL_KEYS = frozenset(
    {
        "email",
        "host_email",
        "first_name",
        "last_name",
        "display_name_of_user",
        "phone",
        "phone_number",
        "phone_numbers",
        "address",
        "city",
        "zip",
        "state",
        "country",
        "company",
        "job_title",
        "org",
        "industry",
        "pmi",
        "personal_meeting_url",
        "vanity_url",
        "pic_url",
        "user_name",
        "name",
        "host_name",
        "alternative_hosts",
        "contact_name",
        "contact_email",
        "comments",
        "account_number",
        "employee_unique_id",
        "cms_user_id",
        "manager",
        "dept",
        "location",
    }
)
"""Keys whose value is personal data."""
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=\-]+")
_URL_SECRETS = frozenset({"pwd", "tk", "zak", "token", "access_token", "signature", "uname"})


class CassetteError(ValueError):
    """A cassette file that cannot be read: its one-line reason."""


@dataclass
class Body:
    """A request's or an answer's body as kept: ``json``, ``form`` or ``text``, or none."""

    kind: Literal["json", "form", "text", "none"] = "none"
    value: Any = None

    def to_json(self) -> dict[str, Any]:
        return {} if self.kind == "none" else {self.kind: self.value}

    @classmethod
    def from_json(cls, data: dict[str, Any], where: str) -> Body:
        kinds = [k for k in ("json", "form", "text") if k in data]
        if len(kinds) > 1:
            raise CassetteError(f"{where}: a body is one of json, form or text")
        if not kinds:
            return cls()
        kind = kinds[0]
        value = data[kind]
        if kind == "form" and not (
            isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
        ):
            raise CassetteError(f"{where}.form: an object of strings")
        if kind == "text" and not isinstance(value, str):
            raise CassetteError(f"{where}.text: a string")
        return cls(kind, value)


@dataclass
class Exchange:
    """One request and the upstream's answer."""

    method: str
    path: str
    query: list[tuple[str, str]]
    auth: str
    content_type: str | None
    request: Body
    status: int
    headers: dict[str, str]
    response: Body
    violations: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        request: dict[str, Any] = {"content_type": self.content_type, **self.request.to_json()}
        return {
            "kind": "exchange",
            "method": self.method,
            "path": self.path,
            "query": [list(pair) for pair in self.query],
            "auth": self.auth,
            "request": request,
            "response": {"status": self.status, "headers": self.headers, **self.response.to_json()},
            "violations": self.violations,
        }


@dataclass
class HostStep:
    """The host did something in the Zoom app (started or ended a webinar or meeting)."""

    action: str
    session: str
    id: int

    def to_json(self) -> dict[str, Any]:
        return {"kind": "host", "action": self.action, "session": self.session, "id": self.id}


Entry = Exchange | HostStep


@dataclass
class Cassette:
    upstream: str
    recorded_at: str
    entries: list[Entry] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "upstream": self.upstream,
            "recorded_at": self.recorded_at,
            "entries": [e.to_json() for e in self.entries],
        }

    def save(self, path: Path) -> None:
        """Write the whole cassette atomically: a crash leaves the previous file whole."""
        text = json.dumps(self.to_json(), indent=1, ensure_ascii=False) + "\n"
        write_atomically(path, text)

    @property
    def exchanges(self) -> list[Exchange]:
        return [e for e in self.entries if isinstance(e, Exchange)]


# reading --------------------------------------------------------------------------------------


def load(path: Path) -> Cassette:
    """The cassette in ``path``, or :class:`CassetteError` saying in one line what is wrong."""
    try:
        raw = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CassetteError(
            f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}"
        ) from None
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise CassetteError(f"{path} is not JSON: {exc}") from None
    return parse(data, str(path))


def parse(data: Any, name: str = "cassette") -> Cassette:
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CassetteError(f'{name} is not a zoomlive cassette (no "format": "{FORMAT}")')
    version = data.get("version")
    if version != VERSION:
        raise CassetteError(f"{name}: cassette version {version!r} (this zoomlive reads {VERSION})")
    entries = data.get("entries")
    if not isinstance(entries, list):
        raise CassetteError(f'{name}: "entries" must be a list')
    out = Cassette(str(data.get("upstream", "")), str(data.get("recorded_at", "")))
    for i, entry in enumerate(entries):
        out.entries.append(_entry(entry, f"{name}: entries[{i}]"))
    return out


def _entry(data: Any, where: str) -> Entry:
    if not isinstance(data, dict):
        raise CassetteError(f"{where}: an object")
    kind = data.get("kind")
    if kind == "host":
        action, session, ident = data.get("action"), data.get("session"), data.get("id")
        if action not in HOST_ACTIONS:
            raise CassetteError(f"{where}.action: one of {', '.join(HOST_ACTIONS)}")
        if session not in SESSION_KINDS:
            raise CassetteError(f"{where}.session: one of {', '.join(SESSION_KINDS)}")
        if not isinstance(ident, int) or isinstance(ident, bool):
            raise CassetteError(f"{where}.id: an integer")
        return HostStep(action, session, ident)
    if kind != "exchange":
        raise CassetteError(f"{where}.kind: exchange or host")
    method, path = data.get("method"), data.get("path")
    if not isinstance(method, str) or not method.isalpha():
        raise CassetteError(f"{where}.method: an HTTP method")
    if not isinstance(path, str) or not path.startswith("/"):
        raise CassetteError(f"{where}.path: a path starting with /")
    query = data.get("query", [])
    if not isinstance(query, list) or not all(
        isinstance(p, list) and len(p) == 2 and all(isinstance(s, str) for s in p) for p in query
    ):
        raise CassetteError(f"{where}.query: a list of [name, value] strings")
    auth = data.get("auth", "none")
    if auth not in AUTHS:
        raise CassetteError(f"{where}.auth: one of {', '.join(AUTHS)}")
    request, response = data.get("request", {}), data.get("response")
    if not isinstance(request, dict):
        raise CassetteError(f"{where}.request: an object")
    if not isinstance(response, dict):
        raise CassetteError(f"{where}.response: an object")
    status = response.get("status")
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise CassetteError(f"{where}.response.status: an HTTP status")
    headers = response.get("headers", {})
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise CassetteError(f"{where}.response.headers: an object of strings")
    content_type = request.get("content_type")
    if content_type is not None and not isinstance(content_type, str):
        raise CassetteError(f"{where}.request.content_type: a string")
    violations = data.get("violations", [])
    if not isinstance(violations, list):
        raise CassetteError(f"{where}.violations: a list")
    return Exchange(
        method=method.upper(),
        path=path,
        query=[(p[0], p[1]) for p in query],
        auth=auth,
        content_type=content_type,
        request=Body.from_json(request, f"{where}.request"),
        status=status,
        headers={k.lower(): v for k, v in headers.items()},
        response=Body.from_json(response, f"{where}.response"),
        violations=[str(v) for v in violations],
    )


# redaction ------------------------------------------------------------------------------------


class Redactor:
    """Redacts one recording: the same e-mail address gets the same ``personN@example.com``."""

    def __init__(self) -> None:
        self.emails: dict[str, str] = {}

    def email(self, address: str) -> str:
        key = address.lower()
        if key not in self.emails:
            self.emails[key] = f"person{len(self.emails) + 1}@example.com"
        return self.emails[key]

    def text(self, text: str) -> str:
        """Free text: e-mail addresses, ``Bearer``/``Basic`` credentials, URLs' tokens."""
        text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
        text = _EMAIL.sub(lambda m: self.email(m.group(0)), text)
        if "://" in text and "?" in text:
            text = re.sub(r"https?://[^\s\"'<>]+", lambda m: self.url(m.group(0)), text)
        return text

    def url(self, url: str) -> str:
        """A URL with its query's tokens and passwords redacted."""
        try:
            parts = urlsplit(url)
        except ValueError:
            return url
        if not parts.query:
            return url
        pairs = [
            (k, REDACTED if is_secret(k) or k.lower() in _URL_SECRETS else v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
        ]
        return urlunsplit(parts._replace(query=urlencode(pairs, safe=REDACTED)))

    def value(self, value: Any, key: str | None = None) -> Any:
        """A JSON value, recursively: secrets and personal data by key, e-mail addresses and
        URL tokens wherever they are."""
        if isinstance(value, dict):
            return {k: self.value(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v, key) for v in value]
        if key is not None and (is_secret(key) or key.lower() in PERSONAL_KEYS):
            return self._blank(value, key)
        if isinstance(value, str):
            return self.text(value)
        return value

    def _blank(self, value: Any, key: str) -> Any:
        if isinstance(value, str):
            if _EMAIL.fullmatch(value):
                return self.email(value)
            return REDACTED if value else value
        if isinstance(value, bool) or value is None:
            return value
        if isinstance(value, int):
            return 0
        if isinstance(value, float):
            return 0.0
        return self.value(value)  # an object or list under a personal key: walk it

    def pairs(self, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
        return [(k, str(self.value(v, k))) for k, v in pairs]


def is_secret(key: str) -> bool:
    low = key.lower()
    return low in SECRET_KEYS or any(part in low for part in SECRET_PARTS)
