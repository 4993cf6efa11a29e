"""``mock_zoom()``: Zoom's API hosts answered by a zoomlive emulator in this process.

While a mock is active, every request that a common Python HTTP client sends to ``api.zoom.us``
or to ``zoom.us/oauth/token`` goes to the process's shared emulator on 127.0.0.1 instead, with
the client unchanged: httpx (sync and async, whatever the client and however old), requests
(sessions and module functions), urllib3 (``PoolManager``, connection pools, ``urllib3.request``),
aiohttp (any ``ClientSession``, ``aiohttp.request``) and urllib (``urlopen``, any opener). Each
patch sits where that client's request passes last on its way out, on a class, so nothing is
rewired and clients created before the mock are caught too:

* httpx: ``HTTPTransport.handle_request``, ``AsyncHTTPTransport.handle_async_request``;
* requests: ``requests.adapters.HTTPAdapter.send``;
* urllib3: ``urllib3.connectionpool.HTTPConnectionPool.urlopen`` (what ``PoolManager`` and
  requests call too), answered with a ``urllib3.HTTPResponse`` and urllib3's own ``Retry``;
* aiohttp: ``aiohttp.BaseConnector.connect``, which hands aiohttp a real connection (a socket
  pair) whose far end answers one request as Zoom would, so aiohttp writes the request and
  parses the answer itself (streaming, ``json()``, ``raise_for_status()``, redirects, cookies);
* urllib: ``urllib.request.AbstractHTTPHandler.do_open``, where every HTTP(S) handler, custom
  ones included, opens its connection: an ``http.client.HTTPConnection`` on such a socket pair,
  so ``http.client`` writes and parses, and urllib raises its own ``HTTPError``.

Only a client that is installed is patched (aiohttp, requests and urllib3 are the caller's own).
Requests to other hosts pass through untouched.

Nothing reaches Zoom while a mock is active: another ``*.zoom.us`` host raises
:class:`MockZoomError`, a path of Zoom's hosts outside ``/v2`` and ``/oauth/token`` gets Zoom's
404 here, and the names of Zoom's hosts do not resolve for any other client (raw sockets,
``http.client``, pycurl...). A call the emulator does not implement gets Zoom's 404 (or 405) and
a warning on the ``zoomlive.testing`` logger naming the method and path.

Leaving the mock restores the classes, except for one case: a thread other than the one that
left it, which called Zoom during the mock (or was started during it), gets
:class:`MockZoomError` if it calls Zoom afterwards, rather than silently reaching the real Zoom.
The patches come off once those threads have ended.
"""

from __future__ import annotations

import asyncio
import functools
import http.client
import inspect
import io
import json
import logging
import socket
import sys
import threading
import urllib.request
import uuid
import weakref
from collections.abc import Callable
from http import HTTPStatus
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, BinaryIO, Literal, TypeVar, cast, overload
from urllib.parse import urlsplit

import httpx

from zoomlive.testing._control import Control, Credentials, Seed, first_app

if TYPE_CHECKING:
    from zoomlive.testing._server import Media, ZoomEmulator

log = logging.getLogger("zoomlive.testing")

F = TypeVar("F", bound=Callable[..., Any])
Route = Literal["forward", "not_found", "blocked"]

ZOOM_API_HOST = "api.zoom.us"
ZOOM_OAUTH_HOST = "zoom.us"
ZOOM_API_URL = "https://api.zoom.us"
"""What Zoom's token endpoint answers as ``api_url``; the emulator's own address is put back."""
# The emulator's own threads: they never call Zoom, and must not keep the patches in place.
INTERNAL_THREADS = ("AnyIO worker thread", "asyncio_", "zoomlive-")


class MockZoomError(RuntimeError):
    """``mock_zoom()`` misused, or a request it refuses to let through: nested mocks, a thread
    still calling Zoom after the mock ended, a Zoom host the emulator does not stand in for."""


def route(host: str, path: str) -> Route | None:
    """What the mock does with a request to ``host``/``path``; None: not Zoom's, let it go."""
    host = host.lower().rstrip(".")
    if host == ZOOM_API_HOST:
        # Only /v2 reaches the emulator: its control API and dashboard are not Zoom's.
        return "forward" if path.startswith("/v2/") else "not_found"
    if host == ZOOM_OAUTH_HOST:
        return "forward" if path == "/oauth/token" else "not_found"
    if host.endswith(".zoom.us"):
        return "blocked"
    return None


def is_zoom_host(host: str) -> bool:
    host = host.lower().rstrip(".")
    return host == ZOOM_OAUTH_HOST or host.endswith(".zoom.us")


def _not_found() -> httpx.Response:
    """Zoom's answer to a path it does not serve: the emulator's own 404, written here for the
    paths of Zoom's hosts that must not reach it (its control API, its dashboard)."""
    from zoomlive.emulator.gateway import JSON, NOT_FOUND

    headers = {"content-type": JSON.decode(), "x-zm-trackingid": f"v=2.0;rid={uuid.uuid4().hex}"}
    return httpx.Response(404, headers=headers, content=NOT_FOUND.to_json())


@functools.lru_cache(maxsize=1)
def _routes() -> Any:
    from zoomlive.api.catalog import OPERATIONS
    from zoomlive.emulator.gateway import Routes

    return Routes(OPERATIONS)


@functools.lru_cache(maxsize=1)
def _spec_routes() -> Any:
    from zoomlive.emulator.rules import HANDLERS
    from zoomlive.emulator.spec import stateful_ids, table

    return table(stateful_ids(HANDLERS)).routes


def implemented(method: str, host: str, path: str) -> bool:
    """Whether the emulator implements this call (the operation catalog, the spec tier's
    operations of Zoom's documents, and OAuth)."""
    if host.lower().rstrip(".") == ZOOM_OAUTH_HOST:
        return path == "/oauth/token" and method == "POST"
    wanted = "GET" if method == "HEAD" else method
    for routes in (_routes(), _spec_routes()):
        found = routes.match(path)
        if found is not None and wanted in found[0]:
            return True
    return False


# the registry: which mock is active, which threads must not call Zoom any more ------------------


class _Registry:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.active: MockZoom | None = None
        self.lingering: weakref.WeakSet[threading.Thread] = weakref.WeakSet()
        self.originals: dict[tuple[Any, str], Any] = {}

    @property
    def installed(self) -> bool:
        return bool(self.originals)

    def install(self) -> None:
        with self.lock:
            if self.originals:
                return
            targets: list[tuple[Any, str, Any]] = [
                (httpx.HTTPTransport, "handle_request", _httpx_handle_request),
                (httpx.AsyncHTTPTransport, "handle_async_request", _httpx_handle_async_request),
                (socket, "getaddrinfo", _getaddrinfo),
            ]
            adapter = _requests_adapter()
            if adapter is not None:
                targets.append((adapter, "send", _requests_send))
            pool = _urllib3_pool()
            if pool is not None:
                targets.append((pool, "urlopen", _urllib3_urlopen))
            connector = _aiohttp_connector()
            if connector is not None:
                targets.append((connector, "connect", _aiohttp_connect))
            targets.append((urllib.request.AbstractHTTPHandler, "do_open", _urllib_do_open))
            for owner, name, patched in targets:
                self.originals[(owner, name)] = owner.__dict__[name]
                setattr(owner, name, patched)

    def uninstall(self) -> None:
        with self.lock:
            for (owner, name), original in self.originals.items():
                setattr(owner, name, original)
            self.originals.clear()

    def original(self, owner: Any, name: str) -> Any:
        found = self.originals.get((owner, name))
        return found if found is not None else owner.__dict__[name]

    def current(self, method: str, url: str) -> MockZoom | None:
        """The active mock; None if there is none and this thread may reach the network;
        MockZoomError for a thread that took part in a mock that has ended."""
        mock = self.active
        if mock is not None:
            mock._note_caller()
            return mock
        thread = threading.current_thread()
        if thread in self.lingering:
            raise MockZoomError(
                f"{method} {url}: thread {thread.name!r} calls Zoom after mock_zoom() ended "
                "(it called Zoom, or was started, while the mock was active). Refused rather "
                "than sent to the real Zoom: stop the thread before the mock ends."
            )
        self.release_if_done()
        return None

    def release_if_done(self) -> None:
        """Take the patches off once no mock is active and no lingering thread is alive."""
        if self.active is None and self.originals:
            with self.lock:
                if self.active is None and not any(t.is_alive() for t in self.lingering):
                    self.lingering = weakref.WeakSet()
                    self.uninstall()


_registry = _Registry()


def _requests_adapter() -> Any:
    try:
        from requests.adapters import HTTPAdapter
    except ImportError:  # requests is not installed: nothing of it to catch
        return None
    return HTTPAdapter


def _urllib3_pool() -> Any:
    try:
        from urllib3.connectionpool import HTTPConnectionPool
    except ImportError:  # urllib3 is not installed: nothing of it to catch
        return None
    return HTTPConnectionPool


def _aiohttp_connector() -> Any:
    try:
        from aiohttp import BaseConnector
    except ImportError:  # aiohttp is not installed: nothing of it to catch
        return None
    return BaseConnector


def _caller_location() -> str:
    """file:line of the code that entered the mock (outside this package and contextlib)."""
    frame = sys._getframe(1)
    here = str(Path(__file__).parent)
    while frame is not None:
        name = frame.f_code.co_filename
        if not name.startswith(here) and not name.endswith(("contextlib.py", "functools.py")):
            return f"{name}:{frame.f_lineno}"
        frame = frame.f_back  # type: ignore[assignment]
    return "?"


# the mock ------------------------------------------------------------------------------------


class MockZoom:
    """An active (or ready) ``mock_zoom()``: the handle a test uses.

    ``credentials`` authenticate against the mocked Zoom (the demo app, or the seed's first);
    ``control`` drives the emulator (play the host, read stream states...); ``base_url`` and
    ``oauth_base_url`` are Zoom's own, the ones being answered; ``emulator`` is the emulator
    behind them, on 127.0.0.1."""

    base_url = "https://api.zoom.us/v2"
    """Zoom's API base URL, the one being answered (the SDK's default)."""
    oauth_base_url = "https://zoom.us"
    """Zoom's OAuth base URL (``/oauth/token``)."""

    def __init__(
        self,
        seed: Seed | None = None,
        *,
        media: Media = "fake",
        rate_limits: str = "zoom",
        emulator: ZoomEmulator | None = None,
        reset: bool = True,
    ) -> None:
        self.seed = seed
        self.reset = reset
        """Start from fresh state (the pytest fixture leaves that to ``zoom_emulator``)."""
        self.media: Media = media
        self.rate_limits = rate_limits
        self._emulator = emulator
        self._where = ""
        self._owner: threading.Thread | None = None
        self._threads_before: set[int] = set()
        self._callers: weakref.WeakSet[threading.Thread] = weakref.WeakSet()
        self._callers_lock = threading.Lock()
        self._transport: httpx.HTTPTransport | None = None
        self.all_credentials: list[Credentials] = []

    # the handle --------------------------------------------------------------------------------
    @property
    def emulator(self) -> ZoomEmulator:
        """The emulator answering for Zoom (its own URLs are on 127.0.0.1)."""
        if self._emulator is None:
            raise MockZoomError("mock_zoom() is not active")
        return self._emulator

    @property
    def credentials(self) -> Credentials:
        """The app to authenticate with: the demo app, or the first app of the seed."""
        return first_app(self.all_credentials)

    @property
    def control(self) -> Control:
        """The emulator's control API: seed, play the host, read live-stream states..."""
        return self.emulator.control

    @property
    def active(self) -> bool:
        return _registry.active is self

    # enter and leave ---------------------------------------------------------------------------
    def start(self) -> MockZoom:
        """Activate (what ``with`` does on entering): fresh emulator state, patches on."""
        with _registry.lock:
            if _registry.active is not None:
                raise MockZoomError(
                    f"mock_zoom() is already active (entered at {_registry.active._where}); "
                    "nested mocks are not supported: use the handle of the active one"
                )
            if self._emulator is None:
                from zoomlive.testing._server import shared_emulator

                self._emulator = shared_emulator(media=self.media, rate_limits=self.rate_limits)
            if self.reset:
                self.all_credentials = self._emulator.reset(self.seed)
            else:
                self.all_credentials = list(self._emulator.all_credentials)
            self._where = self._where or _caller_location()
            self._owner = threading.current_thread()
            self._threads_before = {t.ident for t in threading.enumerate() if t.ident}
            self._callers = weakref.WeakSet()
            self._transport = self._emulator.forwarder
            _registry.install()
            _registry.active = self
        return self

    def stop(self) -> None:
        """Deactivate (what ``with`` does on leaving): the patches come off (see the module's
        note on threads still calling), nothing more reaches the emulator through Zoom's URLs."""
        with _registry.lock:
            if _registry.active is not self:
                return
            _registry.active = None
            for thread in threading.enumerate():
                if thread is self._owner or not thread.is_alive():
                    continue
                started_here = thread.ident not in self._threads_before
                internal = thread.name.startswith(INTERNAL_THREADS)
                if thread in self._callers or (started_here and not internal):
                    _registry.lingering.add(thread)
            _registry.release_if_done()
        if self.reset and self._emulator is not None and self._emulator.media == "ffmpeg":
            self._emulator.stop_streams()  # real ffmpeg pushes end with the mock

    def __enter__(self) -> MockZoom:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    async def __aenter__(self) -> MockZoom:
        return self.start()

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __call__(self, func: F) -> F:
        """As a decorator: each call of ``func`` (a function or coroutine function) runs in a
        fresh mock with this one's arguments."""
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                async with self._fresh():
                    return await func(*args, **kwargs)

            return cast(F, run_async)

        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            with self._fresh():
                return func(*args, **kwargs)

        return cast(F, run)

    def _fresh(self) -> MockZoom:
        return MockZoom(
            self.seed,
            media=self.media,
            rate_limits=self.rate_limits,
            emulator=self._emulator,
            reset=self.reset,
        )

    def __repr__(self) -> str:
        where = f" (entered at {self._where})" if self.active else ""
        return f"<MockZoom {'active' if self.active else 'inactive'}{where}>"

    # answering ---------------------------------------------------------------------------------
    def _note_caller(self) -> None:
        thread = threading.current_thread()
        if thread is not self._owner and thread not in self._callers:
            with self._callers_lock:
                self._callers.add(thread)

    def _exchange(
        self, method: str, url: httpx.URL, headers: list[tuple[str, str]], body: bytes
    ) -> httpx.Response:
        """Answer one request to Zoom's hosts (buffered): forwarded to the emulator, or Zoom's
        404 here, or refused."""
        what = route(url.host, url.path)
        if what == "blocked":
            raise _blocked(method, str(url), url.host)
        if not implemented(method, url.host, url.path):
            log.warning(
                "mock_zoom: %s %s is not implemented by the zoomlive emulator; answered as Zoom "
                "answers an unknown path (docs/testing.md lists what can be mocked)",
                method,
                url.copy_with(query=None),
            )
        if what == "not_found":
            return _not_found()
        assert self._transport is not None and self._emulator is not None
        target = httpx.URL(self._emulator.url).copy_with(
            raw_path=url.raw_path  # path and query as sent, byte for byte
        )
        keep = [(k, v) for k, v in headers if k.lower() not in _HOP_HEADERS]
        forward = httpx.Request(method, target, headers=keep, content=body)
        send = _registry.original(httpx.HTTPTransport, "handle_request")
        answer = send(self._transport, forward)
        try:
            content = b"".join(answer.iter_raw())
        finally:
            answer.close()
        out_headers = answer.headers.raw
        if url.host == ZOOM_OAUTH_HOST and answer.status_code == 200:
            content = _zoom_api_url(content)
            out_headers = [(k, v) for k, v in out_headers if k.lower() != b"content-length"]
            out_headers.append((b"content-length", str(len(content)).encode()))
        extensions = {k: answer.extensions[k] for k in _KEPT if k in answer.extensions}
        # The emulator's status, headers and body, as they were sent (a stream adds no header).
        return httpx.Response(
            answer.status_code,
            headers=out_headers,
            stream=httpx.ByteStream(content),
            extensions=extensions,
        )


def _blocked(method: str, url: str, host: str) -> MockZoomError:
    return MockZoomError(
        f"{method} {url}: mock_zoom() is active, and zoomlive does not stand in for "
        f"{host} (only api.zoom.us/v2 and zoom.us/oauth/token); nothing was sent"
    )


_HOP_HEADERS = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "expect", "keep-alive"}
)
_KEPT = ("http_version", "reason_phrase")


def _zoom_api_url(content: bytes) -> bytes:
    """A token answer says where the API is: Zoom's own host, as the real one says."""
    try:
        data = json.loads(content)
    except ValueError:
        return content
    if isinstance(data, dict) and "api_url" in data:
        data["api_url"] = ZOOM_API_URL
        return json.dumps(data, separators=(",", ":")).encode()
    return content


@overload
def mock_zoom(seed: F, *, media: Media = "fake", rate_limits: str = "zoom") -> F: ...


@overload
def mock_zoom(
    seed: Seed | None = None, *, media: Media = "fake", rate_limits: str = "zoom"
) -> MockZoom: ...


def mock_zoom(
    seed: Seed | Callable[..., Any] | None = None,
    *,
    media: Media = "fake",
    rate_limits: str = "zoom",
) -> Any:
    """Answer Zoom's API (``https://api.zoom.us/v2``, ``https://zoom.us/oauth/token``) with a
    zoomlive emulator in this process, for httpx and requests clients, unchanged.

    A context manager (``with`` or ``async with``) yielding a :class:`MockZoom`, or a decorator
    (``@mock_zoom()`` or ``@mock_zoom``) for functions and coroutine functions. Each use starts
    from fresh state: the demo account, or ``seed`` (a seed document, or the path of a YAML or
    JSON file) instead. ``media``: ``fake`` (stream states without ffmpeg) or ``ffmpeg`` (real
    RTMP pushes); ``rate_limits``: ``zoom`` (Zoom's, by plan) or ``off``.

    The first use in a process starts the emulator (about a second); later ones cost a reset.
    """
    if callable(seed) and not isinstance(seed, dict | str | Path):
        return MockZoom(media=media, rate_limits=rate_limits)(seed)
    return MockZoom(seed, media=media, rate_limits=rate_limits)


def current_mock() -> MockZoom:
    """The active mock (for decorated functions, which are not handed one)."""
    mock = _registry.active
    if mock is None:
        raise MockZoomError("mock_zoom() is not active")
    return mock


# the patches ---------------------------------------------------------------------------------


def _httpx_handle_request(self: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
    url = request.url
    if route(url.host, url.path) is not None:
        mock = _registry.current(request.method, str(url))
        if mock is not None:
            body = request.read()
            return mock._exchange(request.method, url, list(request.headers.multi_items()), body)
    elif _registry.active is None:
        _registry.release_if_done()
    original = _registry.original(httpx.HTTPTransport, "handle_request")
    response: httpx.Response = original(self, request)
    return response


async def _httpx_handle_async_request(
    self: httpx.AsyncHTTPTransport, request: httpx.Request
) -> httpx.Response:
    url = request.url
    if route(url.host, url.path) is not None:
        mock = _registry.current(request.method, str(url))
        if mock is not None:
            import anyio.to_thread

            body = await request.aread()
            headers = list(request.headers.multi_items())
            # The emulator is reached with blocking I/O, off this event loop (whichever it is).
            return await anyio.to_thread.run_sync(
                mock._exchange, request.method, url, headers, body
            )
    original = _registry.original(httpx.AsyncHTTPTransport, "handle_async_request")
    response: httpx.Response = await original(self, request)
    return response


def _requests_send(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
    url = httpx.URL(request.url)
    if route(url.host, url.path) is not None:
        mock = _registry.current(request.method, request.url)
        if mock is not None:
            return _requests_answer(self, mock, request, url)
    elif _registry.active is None:
        _registry.release_if_done()
    original = _registry.original(_requests_adapter(), "send")
    return original(self, request, *args, **kwargs)


def _requests_answer(adapter: Any, mock: MockZoom, request: Any, url: httpx.URL) -> Any:
    from requests import exceptions
    from urllib3 import HTTPResponse

    data = _body_bytes(request.body)
    try:
        answer = mock._exchange(request.method, url, list(request.headers.items()), data)
    except httpx.TimeoutException as exc:
        raise exceptions.ReadTimeout(exc, request=request) from exc
    except httpx.TransportError as exc:
        raise exceptions.ConnectionError(exc, request=request) from exc
    # (name, value) pairs, repeated names kept: urllib3 1.x and 2.x both build their header
    # dict from them (its class is public only from 2.0).
    headers: Any = answer.headers.multi_items()
    raw = HTTPResponse(
        body=io.BytesIO(answer.read()),
        headers=headers,
        status=answer.status_code,
        reason=_reason(answer.status_code),
        preload_content=False,
        decode_content=False,
        request_method=request.method,
        request_url=request.url,
    )
    return adapter.build_response(request, raw)


def _body_bytes(body: Any) -> bytes:
    """A request body as requests and urllib3 accept it, read whole."""
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, bytes | bytearray | memoryview):
        return bytes(body)
    if hasattr(body, "read"):
        data = body.read()
        return data.encode("utf-8") if isinstance(data, str) else bytes(data)
    # an iterable of chunks
    return b"".join(c.encode("utf-8") if isinstance(c, str) else bytes(c) for c in body)


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if isinstance(host, bytes):
        name = host.decode("ascii", "replace")
    else:
        name = host if isinstance(host, str) else ""
    if name and is_zoom_host(name):
        thread = threading.current_thread()
        if _registry.active is not None or thread in _registry.lingering:
            raise socket.gaierror(
                socket.EAI_NONAME,
                f"mock_zoom() is active: {name} does not resolve (only httpx, requests, "
                "urllib3, aiohttp and urllib calls to Zoom are answered by the emulator; "
                "nothing else may reach Zoom)",
            )
    return _registry.original(socket, "getaddrinfo")(host, *args, **kwargs)


# urllib3 ------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _urlopen_signature() -> inspect.Signature:
    return inspect.signature(_registry.original(_urllib3_pool(), "urlopen"))


def _urllib3_urlopen(self: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
    target = _urllib3_target(self, url)
    if target is not None:
        mock = _registry.current(method, str(target))
        if mock is not None:
            bound = _urlopen_signature().bind(self, method, url, *args, **kwargs)
            bound.apply_defaults()
            # urllib3 1.x takes the response's options as **response_kw
            arguments = {**bound.arguments.get("response_kw", {}), **bound.arguments}
            return _urllib3_answer(self, mock, method, target, arguments)
    elif _registry.active is None:
        _registry.release_if_done()
    return _registry.original(_urllib3_pool(), "urlopen")(self, method, url, *args, **kwargs)


def _urllib3_target(pool: Any, url: str) -> httpx.URL | None:
    """Where a pool's request goes, if that is one of Zoom's hosts (a proxied request names it
    in full; otherwise the pool's host does)."""
    if url.startswith(("http://", "https://")):
        return httpx.URL(url) if is_zoom_host(urlsplit(url).hostname or "") else None
    host = pool.host or ""
    if not is_zoom_host(host):
        return None
    path = url if url.startswith("/") else "/" + url
    port = f":{pool.port}" if pool.port else ""
    return httpx.URL(f"{pool.scheme}://{host}{port}{path}")


def _urllib3_answer(
    pool: Any, mock: MockZoom, method: str, url: httpx.URL, arguments: dict[str, Any]
) -> Any:
    """What ``urlopen`` returns for a request to Zoom: the emulator's answer as an
    ``HTTPResponse``, after the retries the caller's ``Retry`` asks for (on a dropped
    connection, or on a status in its list or answered with ``Retry-After``)."""
    from urllib3 import HTTPResponse
    from urllib3.exceptions import MaxRetryError, ProtocolError, ReadTimeoutError
    from urllib3.util.retry import Retry

    headers = arguments["headers"]
    headers = list((pool.headers if headers is None else headers).items())
    body = _body_bytes(arguments["body"])
    redirect = arguments["redirect"]
    retries = Retry.from_int(arguments["retries"], redirect=redirect, default=pool.retries)
    shown = str(url)
    while True:
        try:
            answer = mock._exchange(method, url, headers, body)
        except httpx.TransportError as exc:
            error: Exception
            if isinstance(exc, httpx.TimeoutException):
                error = ReadTimeoutError(pool, shown, f"Read timed out. ({exc})")
            else:
                error = ProtocolError("Connection aborted.", exc)
            # urllib3's own decision: raise now, or count the error and try again
            retries = retries.increment(method, shown, error=error, _pool=pool)
            retries.sleep()
            continue
        response = HTTPResponse(
            body=io.BytesIO(answer.read()),
            headers=cast(Any, answer.headers.multi_items()),
            status=answer.status_code,
            version=11,
            reason=_reason(answer.status_code),
            preload_content=arguments.get("preload_content", True),
            decode_content=arguments.get("decode_content", True),
            retries=retries,
            request_method=method,
            request_url=shown,
        )
        has_retry_after = bool(response.headers.get("Retry-After"))
        if not retries.is_retry(method, response.status, has_retry_after):
            return response
        try:
            retries = retries.increment(method, shown, response=response, _pool=pool)
        except MaxRetryError:
            if retries.raise_on_status:
                raise
            return response
        retries.sleep(response)


# the front: one of Zoom's hosts, for clients that open their own connections ----------------


def _front(mock: MockZoom, scheme: str, host: str) -> socket.socket:
    """One end of a connected socket pair; a thread at the other end reads one HTTP/1.1
    request, answers it as Zoom's ``host`` (through the emulator) and closes. A request the
    emulator drops (a fault) gets no answer: the connection just closes, as a dropped one does."""
    near, far = socket.socketpair()
    far.settimeout(_FRONT_IDLE_S)
    threading.Thread(
        target=_serve_one, args=(mock, far, scheme, host), name="zoomlive-front", daemon=True
    ).start()
    return near


_FRONT_IDLE_S = 300.0  # a client that opened a connection and never wrote to it


def _serve_one(mock: MockZoom, sock: socket.socket, scheme: str, host: str) -> None:
    with sock, sock.makefile("rb") as reader:
        try:
            request = _read_request(reader, sock)
        except (OSError, ValueError, http.client.HTTPException):
            return  # the client went away, or sent no HTTP
        if request is None:
            return
        method, target, headers, body = request
        if target.startswith(("http://", "https://")):  # absolute form (a proxied http request)
            url = httpx.URL(target)
        else:
            raw = target.encode("latin-1")  # the bytes as sent
            url = httpx.URL(f"{scheme}://{host}").copy_with(raw_path=raw)
        try:
            answer = mock._exchange(method, url, headers, body)
        except (httpx.TransportError, MockZoomError):
            return
        try:
            sock.sendall(_response_bytes(answer, method))
        except OSError:
            return  # the client went away


def _read_request(
    reader: BinaryIO, sock: socket.socket
) -> tuple[str, str, list[tuple[str, str]], bytes] | None:
    line = reader.readline(65537)
    if not line:
        return None
    method, target, _version = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
    message = http.client.parse_headers(reader)
    headers = [(k, v) for k, v in message.items() if k.lower() not in _HOP_HEADERS]
    if message.get("expect", "").lower() == "100-continue":
        sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
    if "chunked" in message.get("transfer-encoding", "").lower():
        body = _read_chunked(reader)
    else:
        body = reader.read(int(message.get("content-length") or 0))
    return method, target, headers, body


def _read_chunked(reader: BinaryIO) -> bytes:
    out = bytearray()
    while True:
        size = int(reader.readline(65537).split(b";")[0].strip(), 16)
        if size == 0:
            while reader.readline(65537).strip():  # trailers, up to the blank line
                pass
            return bytes(out)
        out += reader.read(size)
        reader.readline(65537)


def _response_bytes(answer: httpx.Response, method: str) -> bytes:
    """The emulator's answer as it went on the wire, buffered: its status line, headers and
    body (with a length where it streamed)."""
    body = answer.read()
    reason = answer.extensions.get("reason_phrase") or _reason(answer.status_code).encode()
    head = [b"HTTP/1.1 %d %s" % (answer.status_code, reason)]
    sized = False
    for name, value in answer.headers.raw:
        if name.lower() == b"transfer-encoding":
            continue
        sized = sized or name.lower() == b"content-length"
        head.append(name + b": " + value)
    if not sized and answer.status_code not in (204, 304) and method != "HEAD":
        head.append(b"content-length: %d" % len(body))
    return b"\r\n".join(head) + b"\r\n\r\n" + (b"" if method == "HEAD" else body)


# aiohttp ------------------------------------------------------------------------------------


async def _aiohttp_connect(self: Any, req: Any, traces: Any, *args: Any, **kwargs: Any) -> Any:
    url = req.url
    host = url.host or ""
    if is_zoom_host(host):
        mock = _registry.current(req.method, str(url))
        if mock is not None:
            if route(host, url.path) == "blocked":
                raise _blocked(req.method, str(url), host)
            return await _aiohttp_connection(self, req, traces or (), mock)
    elif _registry.active is None:
        _registry.release_if_done()
    connect = _registry.original(_aiohttp_connector(), "connect")
    return await connect(self, req, traces, *args, **kwargs)


async def _aiohttp_connection(connector: Any, req: Any, traces: Any, mock: MockZoom) -> Any:
    """A connection for one request to Zoom, on a socket pair whose far end answers it; never
    pooled, so nothing of it is reused once the mock has ended."""
    from aiohttp.client_proto import ResponseHandler
    from aiohttp.connector import Connection

    if connector.closed:
        from aiohttp import ClientConnectionError

        raise ClientConnectionError("Connector is closed.")
    for trace in traces:
        await trace.send_connection_create_start()
    loop = asyncio.get_running_loop()
    sock = _front(mock, req.url.scheme, req.url.host)
    try:
        _, protocol = await loop.create_connection(lambda: ResponseHandler(loop), sock=sock)
    except BaseException:
        sock.close()
        raise
    protocol.force_close()
    for trace in traces:
        await trace.send_connection_create_end()
    return Connection(connector, req.connection_key, protocol, loop)


# urllib -------------------------------------------------------------------------------------


def _urllib_do_open(
    self: urllib.request.AbstractHTTPHandler,
    http_class: type[http.client.HTTPConnection],
    req: urllib.request.Request,
    **http_conn_args: Any,
) -> http.client.HTTPResponse:
    parts = urlsplit(req.full_url)
    host = parts.hostname or ""
    original = _registry.original(urllib.request.AbstractHTTPHandler, "do_open")
    if is_zoom_host(host):
        method = req.get_method()
        mock = _registry.current(method, req.full_url)
        if mock is not None:
            if route(host, parts.path) == "blocked":
                raise _blocked(method, req.full_url, host)
            response: http.client.HTTPResponse = original(
                self, _front_connection(mock, parts.scheme, host), req
            )
            return response
    elif _registry.active is None:
        _registry.release_if_done()
    response = original(self, http_class, req, **http_conn_args)
    return response


def _front_connection(mock: MockZoom, scheme: str, host: str) -> type[http.client.HTTPConnection]:
    """An ``http.client`` connection class whose connections reach the front, not the network
    (urllib builds one per request and closes it after)."""

    class ZoomConnection(http.client.HTTPConnection):
        def connect(self) -> None:
            self.sock = _front(mock, scheme, host)

    return ZoomConnection
