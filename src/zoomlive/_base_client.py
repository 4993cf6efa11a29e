"""What ZoomClient and AsyncZoomClient share: configuration, request building, token state,
retry decisions, rate-limit pacing, error mapping. The two clients only send and sleep.

Retries never duplicate (Zoom offers no idempotency key). A failed try is sent again when it
cannot have taken effect: the connection was never made (:data:`NOT_SENT`), or Zoom answered
429. When it may have taken effect (the answer was lost after the request went out: a reset, a
read timeout; or a 5xx, 503 included), it is sent again only if the catalog marks the operation
``idempotent``; a create is not, and raises :class:`AmbiguousResultError` (or its 5xx) with a
hint on how to check. Once a try may have taken effect, an answer the catalog lists in the
operation's ``already_done`` (a delete that finds the session gone, a meeting's live-stream start
that finds the start throttled) counts as success.
"""

from __future__ import annotations

import base64
import os
import random
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

import httpx

from zoomlive._exceptions import (
    AmbiguousResultError,
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    ZoomAPIError,
    make_status_error,
)
from zoomlive._version import __version__

if TYPE_CHECKING:
    from pydantic import BaseModel

    from zoomlive.api.catalog import Label, Operation

DEFAULT_BASE_URL = "https://api.zoom.us/v2"
DEFAULT_OAUTH_BASE_URL = "https://zoom.us"
EMULATOR_BASE_URL = "http://127.0.0.1:8080"  # zoomlive serve's default, named in hints
RENEW_BEFORE_S = 60.0
MAX_RETRY_WAIT_S = 60.0

# Per-second limits by plan (Zoom's table); the client paces itself under them.
PLAN_RATES: dict[str, dict[str, float]] = {
    "free": {"Light": 4, "Medium": 2, "Heavy": 1, "Resource-intensive": 10 / 60},
    "pro": {"Light": 30, "Medium": 20, "Heavy": 10, "Resource-intensive": 10 / 60},
    "business": {"Light": 80, "Medium": 60, "Heavy": 40, "Resource-intensive": 20 / 60},
}
PACE = 0.97  # just under the limit: Zoom counts in fixed one-second windows

NOT_SENT: tuple[type[httpx.TransportError], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.ProxyError,
    httpx.UnsupportedProtocol,
)
"""Transport failures before the request left: no connection (refused, DNS, TLS handshake),
none free in the pool, no proxy tunnel, no such scheme. Such a try cannot have taken effect.
Every other failure (a reset or a read timeout after sending, an answer cut short, a write that
failed part-way) may have."""


T = TypeVar("T")


@dataclass(frozen=True)
class PreparedCall(Generic[T]):
    """One API call, ready to send: built once by the resources, sent by either client.

    Its method, rate-limit label and response model are the catalog's for ``operation_id``;
    ``path`` is the catalog's path with its parameters filled in (see :meth:`of`). ``T`` is what
    sending it returns, for the type checker: the catalog's ``response_model``, or ``None``
    (tests/sdk/test_typing.py checks that the two agree).
    """

    operation_id: str
    path: str
    """Under the base URL (``/v2``), parameters filled in."""
    json: dict[str, Any] | None = None
    form: dict[str, str] | None = None
    params: dict[str, Any] | None = None
    path_params: dict[str, str] = field(default_factory=dict)
    """The values filled into ``path`` (``userId``, ``webinarId``...), for hints."""

    @classmethod
    def of(
        cls,
        operation_id: str,
        path_params: Mapping[str, str | int],
        *,
        json: dict[str, Any] | None = None,
        form: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
    ) -> PreparedCall[Any]:
        """The call to ``operation_id`` with the catalog's path, ``path_params`` filled in."""
        path = _operation(operation_id).format_path(**path_params)
        filled = {name: str(value) for name, value in path_params.items()}
        return cls(operation_id, path, json=json, form=form, params=params, path_params=filled)

    @property
    def operation(self) -> Operation:
        return _operation(self.operation_id)

    @property
    def method(self) -> str:
        return self.operation.method

    @property
    def label(self) -> Label:
        return self.operation.label

    @property
    def response_model(self) -> type[BaseModel] | None:
        return self.operation.response_model


def _operation(operation_id: str) -> Operation:
    # The catalog and its pydantic models load on the first call, not in `import zoomlive`.
    from zoomlive.api.catalog import BY_ID

    return BY_ID[operation_id]


def body_of(model: BaseModel) -> dict[str, Any]:
    """A request model as JSON, without the fields the caller left unset."""
    data: dict[str, Any] = model.model_dump(mode="json", exclude_none=True, exclude_unset=True)
    return data


def as_form(data: dict[str, Any]) -> dict[str, str]:
    """Multipart fields as the reference page sends them: objects as JSON strings."""
    import json

    return {
        key: json.dumps(value, separators=(",", ":")) if isinstance(value, dict) else str(value)
        for key, value in data.items()
    }


@dataclass
class Tries:
    """One call's tries so far."""

    count: int = 0
    uncertain: bool = False
    """Was a try sent whose answer was lost, or a 5xx: may an earlier try have taken effect?"""


@dataclass
class TokenState:
    token: str | None = None
    expires_at: float = 0.0  # time.monotonic()
    static: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def valid(self) -> bool:
        if self.token is None:
            return False
        return self.static or time.monotonic() < self.expires_at - RENEW_BEFORE_S


class Pacer:
    """Spaces requests of one rate-limit label evenly under the account's per-second limit.
    The rate comes from the plan, or is learned from ``X-RateLimit-Limit`` answers."""

    def __init__(self, plan: str | None) -> None:
        self.rates: dict[str, float] = dict(PLAN_RATES.get(plan or "", {}))
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    def reserve(self, label: str) -> float:
        """Seconds to wait before sending (0 when the label's rate is unknown)."""
        rate = self.rates.get(label)
        if not rate:
            return 0.0
        interval = 1.0 / (rate * PACE)
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next.get(label, now))
            self._next[label] = slot + interval
            return slot - now

    def learn(self, headers: httpx.Headers) -> None:
        if headers.get("x-ratelimit-type", "").upper() != "QPS":
            return
        label, limit = headers.get("x-ratelimit-category"), headers.get("x-ratelimit-limit")
        if label and limit and limit.isdigit() and int(limit) > 0:
            self.rates[label] = float(limit)


class BaseZoomClient:
    """Configuration resolved once: argument, then environment, then default."""

    def __init__(
        self,
        *,
        account_id: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        token: str | None = None,
        base_url: str | None = None,
        oauth_base_url: str | None = None,
        max_retries: int = 3,
        timeout: float = 30.0,
        plan: str | None = None,
        pace: bool = True,
        retry_wait_scale: float = 1.0,
    ) -> None:
        env = os.environ
        self.account_id = account_id or env.get("ZOOM_ACCOUNT_ID")
        self.client_id = client_id or env.get("ZOOM_CLIENT_ID")
        self.client_secret = client_secret or env.get("ZOOM_CLIENT_SECRET")
        self.base_url = (base_url or env.get("ZOOM_API_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        self.oauth_base_url = (
            oauth_base_url or env.get("ZOOM_OAUTH_BASE_URL") or DEFAULT_OAUTH_BASE_URL
        ).rstrip("/")
        self.max_retries = max_retries
        self.timeout = timeout
        self.retry_wait_scale = retry_wait_scale
        self.pacer = Pacer(plan) if pace else None
        self._token = TokenState(token=token, static=token is not None)
        if token is None and not (self.account_id and self.client_id and self.client_secret):
            raise ValueError(
                "give account_id, client_id and client_secret (or ZOOM_ACCOUNT_ID, "
                "ZOOM_CLIENT_ID, ZOOM_CLIENT_SECRET), or a token"
            )

    # building ----------------------------------------------------------------------------------
    def _token_request(self) -> httpx.Request:
        basic = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        return httpx.Request(
            "POST",
            f"{self.oauth_base_url}/oauth/token",
            data={"grant_type": "account_credentials", "account_id": self.account_id or ""},
            headers={"Authorization": f"Basic {basic}", "User-Agent": self._user_agent},
        )

    def _store_token(self, response: httpx.Response) -> None:
        if response.status_code != 200:
            error = make_status_error(response)
            hint = self._token_error_hint(error)
            raise error if hint is None else make_status_error(response, hint=hint)
        from zoomlive.api.wire import TokenResponse

        data = TokenResponse.model_validate(response.json())
        self._token.token = data.access_token
        self._token.expires_at = time.monotonic() + data.expires_in

    def _request(self, call: PreparedCall[Any]) -> httpx.Request:
        headers = {
            "Authorization": f"Bearer {self._token.token}",
            "Accept": "application/json",
            "User-Agent": self._user_agent,
        }
        url = self.base_url + call.path
        if call.form is not None:
            files = {key: (None, value) for key, value in call.form.items()}
            return httpx.Request(call.method, url, files=files, headers=headers)
        return httpx.Request(call.method, url, json=call.json, params=call.params, headers=headers)

    @property
    def _user_agent(self) -> str:
        return f"zoomlive/{__version__}"

    # deciding ---------------------------------------------------------------------------------
    def _after_failure(
        self,
        call: PreparedCall[Any],
        tries: Tries,
        exc: httpx.TransportError,
        request: httpx.Request,
    ) -> float:
        """Seconds before sending ``call`` again after ``exc``; raises the SDK's error instead
        when it is not to be sent again."""
        tries.count += 1
        if not isinstance(exc, NOT_SENT):  # sent: it may have taken effect
            if not call.operation.idempotent:
                raise self._ambiguous_error(call, exc, request) from exc
            tries.uncertain = True
        delay = self._retry_delay(tries.count, None)
        if delay is None:
            raise self._connection_error(exc, request) from exc
        return delay

    def _after_answer(
        self, call: PreparedCall[Any], tries: Tries, response: httpx.Response
    ) -> float | None:
        """Seconds before sending ``call`` again, or None when ``response`` is the one to return
        (:meth:`_result`). A 429 is sent again (Zoom did nothing); a 5xx only when the operation
        is idempotent (Zoom may have done it: a 503 too, as Zoom documents no 503 and a gateway
        answers 503 when its backend's answer was lost)."""
        status = response.status_code
        if status != 429 and status < 500:
            return None
        if tries.uncertain and self._already_done(call, response):
            return None
        if status >= 500 and not call.operation.idempotent:
            return None
        tries.count += 1
        delay = self._retry_delay(tries.count, response)
        if delay is not None and status >= 500:
            tries.uncertain = True
        return delay

    def _retry_delay(self, attempt: int, response: httpx.Response | None) -> float | None:
        """Seconds before retry ``attempt`` (1-based), or None to give up."""
        if attempt > self.max_retries:
            return None
        delay = min(8.0, 0.5 * 2 ** (attempt - 1)) * random.uniform(0.75, 1.25)
        if response is not None:
            hinted = _hinted_delay(response.headers)
            if hinted is not None:
                if hinted > MAX_RETRY_WAIT_S:
                    return None  # a daily limit: waiting hours is the caller's decision
                delay = hinted
        return float(delay * self.retry_wait_scale)

    @staticmethod
    def _already_done(call: PreparedCall[Any], response: httpx.Response) -> bool:
        """Is this error answer, to a call sent again, the catalog's "already as asked"?"""
        done = call.operation.already_done
        if not done or response.status_code < 400:
            return False
        error = make_status_error(response)
        return any(d.matches(error.status_code, error.code, error.message) for d in done)

    def _result(self, call: PreparedCall[T], response: httpx.Response, tries: Tries) -> T:
        if self.pacer is not None:
            self.pacer.learn(response.headers)
        if response.status_code >= 400:
            if tries.uncertain and self._already_done(call, response):
                return cast(T, None)  # an earlier try did it
            raise make_status_error(response, hint=self._api_error_hint(call, response))
        model = call.response_model
        if model is None or response.status_code == 204:
            return cast(T, None)
        return cast(T, model.model_validate(response.json()))

    @staticmethod
    def _is_expired_token(response: httpx.Response) -> bool:
        if response.status_code != 401:
            return False
        error = make_status_error(response)
        return isinstance(error, AuthenticationError) and error.code == 124

    def _connection_error(
        self, exc: httpx.TransportError, request: httpx.Request
    ) -> APIConnectionError:
        message = connection_message(
            exc, request, base_url=self.base_url, oauth_base_url=self.oauth_base_url
        )
        if isinstance(exc, httpx.TimeoutException):
            return APITimeoutError(message, request=request)
        return APIConnectionError(message, request=request)

    @staticmethod
    def _ambiguous_error(
        call: PreparedCall[Any], exc: httpx.TransportError, request: httpx.Request
    ) -> AmbiguousResultError:
        timed_out = isinstance(exc, httpx.TimeoutException)
        reason = str(exc) or type(exc).__name__
        message = (
            f"no answer{' in time' if timed_out else ''} to {request.method} {request.url} "
            f"({reason}): it was sent, so it may have taken effect, and it is not sent twice"
        )
        return AmbiguousResultError(message, hint=check_hint(call), request=request)

    # hinting ----------------------------------------------------------------------------------
    def _api_error_hint(self, call: PreparedCall[Any], response: httpx.Response) -> str | None:
        """A 404 from a base URL without ``/v2`` is almost always the base URL's fault; a 5xx
        to a call that is not sent twice may have taken effect all the same."""
        if response.status_code == 404 and not httpx.URL(self.base_url).path.endswith("/v2"):
            return (
                f"the API base URL {self.base_url} does not end in /v2, where Zoom's API is: "
                f"did you mean {self.base_url}/v2?"
            )
        if response.status_code >= 500 and not call.operation.idempotent:
            return f"not sent again; {check_hint(call)}"
        return None

    def _token_error_hint(self, error: ZoomAPIError) -> str | None:
        if error.code == 4735:
            return (
                f"wrong account id? {self.account_id!r} is not the account of the app "
                f"{self.client_id!r}: check ZOOM_ACCOUNT_ID or account_id="
            )
        if error.status_code == 404:
            url = f"{self.oauth_base_url}/oauth/token"
            if httpx.URL(self.oauth_base_url).path.endswith("/v2"):
                return (
                    f"no token endpoint at {url}: the OAuth base URL is the host without /v2, "
                    f"e.g. {self.oauth_base_url.removesuffix('/v2')}"
                )
            return f"no token endpoint at {url}: check ZOOM_OAUTH_BASE_URL or oauth_base_url="
        return None


def check_hint(call: PreparedCall[Any]) -> str:
    """How to see whether ``call``, which may have taken effect, did: for a create, the list."""
    from zoomlive.api.sessions import KINDS

    for spec in KINDS.values():
        if call.operation_id == spec.operation("create"):
            user = call.path_params.get("userId", "me")
            return (
                f"the {spec.kind} may have been created all the same: look for it in "
                f"client.{spec.plural}.list({user!r}) before creating it again"
            )
    return "it may have taken effect all the same: check before sending it again"


def is_zoom_host(host: str) -> bool:
    """Zoom's own hosts: ``zoom.us`` (OAuth) and ``api.zoom.us`` (the API)."""
    host = host.lower().rstrip(".")
    return host == "zoom.us" or host.endswith(".zoom.us")


def connection_message(
    exc: httpx.TransportError, request: httpx.Request, *, base_url: str, oauth_base_url: str
) -> str:
    """``could not reach the server: METHOD URL: reason`` (or ``timed out: ...``), with a hint
    when the URL is Zoom's own host (the SDK's defaults) or a loopback one."""
    what = "timed out" if isinstance(exc, httpx.TimeoutException) else "could not reach the server"
    reason = str(exc) or type(exc).__name__
    message = f"{what}: {request.method} {request.url}: {reason}"
    hint = _unreachable_hint(exc, request.url, base_url=base_url, oauth_base_url=oauth_base_url)
    return f"{message} ({hint})" if hint else message


def _unreachable_hint(
    exc: httpx.TransportError, url: httpx.URL, *, base_url: str, oauth_base_url: str
) -> str | None:
    if is_zoom_host(url.host):
        api = httpx.URL(base_url)
        if url.host == httpx.URL(oauth_base_url).host and not is_zoom_host(api.host):
            return (
                f"the API is {base_url} but tokens are fetched from {oauth_base_url}: "
                f"to use the emulator, set ZOOM_OAUTH_BASE_URL={base_url.removesuffix('/v2')} "
                "or pass oauth_base_url="
            )
        return (
            f"to use the emulator, set ZOOM_API_BASE_URL={EMULATOR_BASE_URL}/v2 and "
            f"ZOOM_OAUTH_BASE_URL={EMULATOR_BASE_URL}, or pass base_url= and oauth_base_url="
        )
    if isinstance(exc, httpx.ConnectError) and url.host in ("127.0.0.1", "localhost", "::1"):
        port = url.port or (443 if url.scheme == "https" else 80)
        return f"is the emulator running? zoomlive serve --port {port}"
    return None


def _hinted_delay(headers: httpx.Headers) -> float | None:
    """``Retry-After`` (seconds, an HTTP date, or Zoom's ISO date-time for daily limits), else
    ``X-RateLimit-Reset`` (a unix time)."""
    retry_after = headers.get("retry-after")
    now = datetime.now(UTC)
    if retry_after:
        value = retry_after.strip()
        if value.isdigit():
            return float(value)
        try:
            when = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            try:
                when = parsedate_to_datetime(value)
            except (TypeError, ValueError):
                when = None
        if when is not None:
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            return max(0.0, (when - now).total_seconds())
    reset = headers.get("x-ratelimit-reset")
    if reset and reset.isdigit():
        return max(0.0, int(reset) - now.timestamp())
    return None


__all__ = ["BaseZoomClient", "PreparedCall", "ZoomAPIError", "as_form", "body_of"]
