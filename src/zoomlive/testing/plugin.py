"""zoomlive's pytest plugin (entry point ``pytest11: zoomlive``; ``-p no:zoomlive`` turns it off).

Fixtures:

* ``zoom_emulator``: a :class:`~zoomlive.testing.ZoomEmulator` on a free 127.0.0.1 port, with
  fresh state for each test (the demo account, or the marker's seed);
* ``zoom_client`` / ``async_zoom_client``: the SDK bound to it;
* ``zoom_mock``: :func:`~zoomlive.testing.mock_zoom` for the test, on the same emulator.

``@pytest.mark.zoomlive(media="ffmpeg", seed={...} or "seed.yaml", scope="module",
rate_limits="off", media_profile="small", state="state.json")`` on a test, class or module
changes how (``state``: start from a state file, ``zoomlive state export``); the
``--zoomlive-scope`` option (or the ``zoomlive_scope`` ini setting) sets the default scope of
the state: ``function`` (fresh for each test), ``module`` or ``session`` (shared, reset once).

The emulator is one per process and configuration, started by the first test that needs it and
stopped at the end of the session. This module imports nothing of the emulator: a project that
installed only the SDK runs its tests as before, and a test using these fixtures fails with one
line naming the extra to install.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import ssl

    from zoomlive import AsyncZoomClient, ZoomClient
    from zoomlive.testing._mock import MockZoom
    from zoomlive.testing._server import ZoomEmulator

SCOPES = ("function", "module", "session")
MARKER_OPTIONS = ("media", "media_profile", "rate_limits", "seed", "scope", "state")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("zoomlive", "zoomlive (the Zoom API emulator)")
    group.addoption(
        "--zoomlive-scope",
        choices=SCOPES,
        default=None,
        help="how long zoom_emulator's state lives: function (fresh for each test, the "
        "default), module or session",
    )
    parser.addini(
        "zoomlive_scope", "default for --zoomlive-scope (function, module, session)", "string"
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "zoomlive(media='fake'|'ffmpeg'|'off', seed=dict|'seed.yaml', scope='function'|'module'|"
        "'session', rate_limits='zoom'|'off', media_profile=None, state='state.json'): how the "
        "zoom_emulator, zoom_client and zoom_mock fixtures run (zoomlive.testing)",
    )


def pytest_unconfigure(config: pytest.Config) -> None:
    server = sys.modules.get("zoomlive.testing._server")
    if server is not None:  # only if a test started one
        server.stop_shared()


def _options(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The zoomlive markers' options, the closest marker winning, over the defaults."""
    options: dict[str, Any] = {}
    for marker in request.node.iter_markers("zoomlive"):  # closest first
        unknown = set(marker.kwargs) - set(MARKER_OPTIONS)
        if unknown or marker.args:
            pytest.fail(
                f"zoomlive marker takes only {', '.join(MARKER_OPTIONS)} as keywords; "
                f"got {', '.join(sorted(unknown)) or repr(marker.args)}",
                pytrace=False,
            )
        for key, value in marker.kwargs.items():
            options.setdefault(key, value)
    config = request.config
    scope = options.get("scope") or config.getoption("zoomlive_scope", None)
    scope = scope or config.getini("zoomlive_scope") or "function"
    if scope not in SCOPES:
        pytest.fail(f"zoomlive scope must be one of {', '.join(SCOPES)}: {scope!r}", pytrace=False)
    options["scope"] = scope
    seed = options.get("seed")
    if isinstance(seed, str | Path):  # a file next to the test, unless absolute
        options["seed"] = Path(request.node.path).parent / seed
    state = options.get("state")
    if isinstance(state, str | Path):  # a state file (zoomlive state export), the same way
        options["state"] = Path(request.node.path).parent / state
    return options


def _state_key(request: pytest.FixtureRequest, options: dict[str, Any]) -> Any:
    """Tests with the same key share the emulator's state; a new key resets it."""
    seed = options.get("seed"), options.get("state")
    seed_id = json.dumps(seed, sort_keys=True, default=str) if seed != (None, None) else None
    scope = options["scope"]
    if scope == "session":
        return ("session", seed_id)
    if scope == "module":
        return ("module", str(request.node.path), seed_id)
    return ("function", request.node.nodeid, id(request.node))


@pytest.fixture
def zoom_emulator(request: pytest.FixtureRequest) -> Iterator[ZoomEmulator]:
    """A running zoomlive emulator on 127.0.0.1 (``.base_url``, ``.oauth_base_url``,
    ``.credentials``, ``.control``), fresh for each test unless the scope says otherwise."""
    options = _options(request)
    from zoomlive.testing._server import shared_emulator

    try:
        emulator = shared_emulator(
            media=options.get("media", "fake"),
            media_profile=options.get("media_profile"),
            rate_limits=options.get("rate_limits", "zoom"),
        )
    except ImportError as exc:
        missing = str(exc)
    else:
        missing = ""
    if missing:  # outside the handler: the one line, without the import's traceback
        pytest.fail(missing, pytrace=False)
    key = _state_key(request, options)
    if emulator.state_key != key:
        emulator.reset(options.get("seed"))
        if options.get("state") is not None:
            emulator.load_state(options["state"])
        emulator.state_key = key
    yield emulator
    if emulator.media == "ffmpeg" and options["scope"] == "function":
        emulator.stop_streams()  # stop the pushes now, not at the next test


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context for every client the fixtures make (the emulator speaks plain HTTP, but
    httpx builds a context per client otherwise, loading the CA bundle: tens of ms a test)."""
    import httpx

    return httpx.create_ssl_context()


@pytest.fixture
def zoom_client(zoom_emulator: ZoomEmulator) -> Iterator[ZoomClient]:
    """A :class:`zoomlive.ZoomClient` bound to ``zoom_emulator``."""
    import httpx

    with (
        httpx.Client(timeout=30, trust_env=False, verify=_tls()) as http,
        zoom_emulator.client(http_client=http) as client,
    ):
        yield client


@pytest.fixture
def async_zoom_client(zoom_emulator: ZoomEmulator) -> Iterator[AsyncZoomClient]:
    """An :class:`zoomlive.AsyncZoomClient` bound to ``zoom_emulator``, for any event loop (an
    async test under pytest-asyncio or anyio's plugin)."""
    import httpx

    # No idle connection is kept: each closes on its event loop when its answer is read, so
    # nothing is left bound to a test's loop, which is gone when this fixture ends.
    http = httpx.AsyncClient(
        timeout=30,
        trust_env=False,
        verify=_tls(),
        limits=httpx.Limits(max_keepalive_connections=0),
    )
    yield zoom_emulator.async_client(http_client=http)


@pytest.fixture
def zoom_mock(request: pytest.FixtureRequest, zoom_emulator: ZoomEmulator) -> Iterator[MockZoom]:
    """:func:`zoomlive.testing.mock_zoom` for the test's duration, answered by
    ``zoom_emulator`` (its markers apply)."""
    from zoomlive.testing._mock import MockZoom

    mock = MockZoom(emulator=zoom_emulator, reset=False)
    mock._where = f"the zoom_mock fixture of {request.node.nodeid}"
    with mock:
        yield mock
