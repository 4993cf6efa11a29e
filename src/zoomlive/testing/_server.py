"""``ZoomEmulator``: a zoomlive emulator serving on a free 127.0.0.1 port from a background
thread of this process (uvicorn, the in-memory store), and the process-wide pool that
``mock_zoom()`` and the pytest fixtures share, so only the first use pays for the start.

Tuned for test suites (docs/testing.md): client secrets hashed cheaply, media ``fake`` unless
asked, webhook retries 1000 times sooner, and uvicorn told to leave the process's logging alone.
"""

from __future__ import annotations

import atexit
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import httpx

from zoomlive.testing._control import Control, Credentials, Seed, first_app

if TYPE_CHECKING:
    from zoomlive import AsyncZoomClient, ZoomClient

EXTRA_HINT = "zoomlive.testing needs the emulator: pip install 'zoomlive[emulator]'"

Media = Literal["fake", "ffmpeg", "off"]
DEMO = Credentials("demo-account", "demo-client-id", "demo-client-secret")
"""The demo account's app (README, "Demo account"; the emulator's ``control.seed.demo``)."""
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0


def _emulator_modules() -> Any:
    """The emulator's modules, or one ImportError that names the extra to install."""
    try:
        import uvicorn

        from zoomlive.emulator import app, serving, settings
    except ImportError as exc:
        raise ImportError(f"{EXTRA_HINT} (missing: {exc.name})") from exc
    return uvicorn, app, serving, settings


class ZoomEmulator:
    """A running zoomlive emulator on ``127.0.0.1``, in this process.

    ``base_url`` and ``oauth_base_url`` are what an SDK or any Zoom client takes instead of
    ``https://api.zoom.us/v2`` and ``https://zoom.us``; ``control`` drives the emulator;
    ``credentials`` are the app to authenticate with (the demo app, or the seed's first)."""

    def __init__(
        self,
        *,
        media: Media = "fake",
        media_profile: str | None = None,
        rate_limits: str = "zoom",
        webhook_time_scale: float = 0.001,
        seed_ids: int | None = None,
    ) -> None:
        self.media = media
        self.media_profile = media_profile
        self.rate_limits = rate_limits
        self.webhook_time_scale = webhook_time_scale
        self.seed_ids = seed_ids
        self.url = ""
        """The root URL, ``http://127.0.0.1:PORT`` (the dashboard is there)."""
        self.all_credentials: list[Credentials] = [DEMO]
        """Every app the current seed created (the demo app by default)."""
        self.state_key: Any = None
        """Who the current state is for (the pytest plugin's scopes); None after a reset."""
        self._control: Control | None = None
        self._forwarder: httpx.HTTPTransport | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # where it is -------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        """The API's base URL, ``http://127.0.0.1:PORT/v2`` (Zoom's: ``https://api.zoom.us/v2``)."""
        return self.url + "/v2"

    @property
    def oauth_base_url(self) -> str:
        """Where ``/oauth/token`` is, ``http://127.0.0.1:PORT`` (Zoom's: ``https://zoom.us``)."""
        return self.url

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    @property
    def credentials(self) -> Credentials:
        """The app to authenticate with: the demo app, or the first app of the seed."""
        return first_app(self.all_credentials)

    @property
    def control(self) -> Control:
        """The control API (``/_emulator``): seed, play the host, read stream states..."""
        if self._control is None:
            raise RuntimeError("the emulator is not running: start() it first")
        return self._control

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # life --------------------------------------------------------------------------------------
    def start(self) -> ZoomEmulator:
        """Bind a free port on 127.0.0.1 and serve until :meth:`stop` (or the process ends)."""
        with self._lock:
            if self.running:
                return self
            uvicorn, app_module, serving, settings_module = _emulator_modules()
            # Checked before anything starts (a bad value: a ValidationError naming it). Only
            # these values: the ZOOMLIVE_* variables a shell may set for zoomlive serve (its
            # admin key, public URL...) have no say over a test suite's own emulator.
            settings = settings_module.Settings.without_env(
                db=":memory:",
                host="127.0.0.1",
                media=self.media,
                media_profile=self.media_profile,
                rate_limits=self.rate_limits,
                webhook_time_scale=self.webhook_time_scale,
                seed=self.seed_ids,
                # A test suite's own emulator: secrets cost microseconds, not scrypt's tens of ms.
                cheap_secrets=True,
            )
            sock = serving.bind("127.0.0.1", 0)
            port = sock.getsockname()[1]
            settings.port = port
            config = uvicorn.Config(
                app_module.create_app(settings),
                http=serving.protocol_class(),
                lifespan="on",
                # The user's logging is theirs: no dictConfig, no levels set, no access log.
                log_config=None,
                log_level=None,
                access_log=False,
                timeout_graceful_shutdown=2,
                proxy_headers=False,
            )
            server = uvicorn.Server(config)
            thread = threading.Thread(
                target=server.run,
                kwargs={"sockets": [sock]},
                name=f"zoomlive-emulator-{port}",
                daemon=True,  # never holds up the end of the process; atexit stops it first
            )
            thread.start()
            deadline = time.monotonic() + START_TIMEOUT_S
            while not server.started:
                if not thread.is_alive() or time.monotonic() > deadline:
                    server.should_exit = True
                    thread.join(STOP_TIMEOUT_S)
                    sock.close()
                    raise RuntimeError("the zoomlive emulator did not start (see the log above)")
                time.sleep(0.002)
            self._sock = sock
            self._server, self._thread = server, thread
            self.url = f"http://127.0.0.1:{port}"
            self._control = Control(self.url)
            return self

    def stop(self) -> None:
        """Stop serving: the app's workers stop (and any ffmpeg it started), the port is freed."""
        with self._lock:
            if self._server is None or self._thread is None:
                return
            self._server.should_exit = True
            self._thread.join(STOP_TIMEOUT_S)
            if self._control is not None:
                self._control.close()
            if self._forwarder is not None:
                self._forwarder.close()
            self._sock.close()
            self._server = self._thread = self._control = self._forwarder = None

    @property
    def forwarder(self) -> httpx.HTTPTransport:
        """The loopback connections ``mock_zoom()`` forwards Zoom's requests on (closed with
        the emulator)."""
        if self._forwarder is None:
            self._forwarder = httpx.HTTPTransport(retries=1)
        return self._forwarder

    def __enter__(self) -> ZoomEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # state -------------------------------------------------------------------------------------
    def reset(self, seed: Seed | None = None) -> list[Credentials]:
        """Fresh state: everything wiped, then the demo account, or ``seed`` instead (a seed
        document, or the path of a YAML or JSON file). The credentials it created."""
        self.state_key = None
        self.all_credentials = []
        self.control.reset(demo=seed is None)
        self.all_credentials = [DEMO] if seed is None else self.control.seed(seed)
        return self.all_credentials

    def load_state(self, state: dict[str, Any] | str | Path) -> list[Credentials]:
        """Replace the state with an export (``zoomlive state export``, docs/state.md). Apps'
        secrets are kept hashed, so only the demo app's credentials are known afterwards (if
        the state has it); keep your own apps' secrets beside the file."""
        self.state_key = None
        self.control.import_state(state)
        doc = self.control.export_state()
        apps = {a["client_id"] for a in doc["tables"].get("apps", [])}
        self.all_credentials = [DEMO] if DEMO.client_id in apps else []
        return self.all_credentials

    def stop_streams(self) -> None:
        """Wipe the state, which stops every stream being pushed (real ffmpeg ones included);
        the next :meth:`reset` seeds it again."""
        self.state_key = None
        self.control.reset(demo=False)
        self.all_credentials = []

    # the SDK, bound here -----------------------------------------------------------------------
    def client(self, **options: Any) -> ZoomClient:
        """A :class:`zoomlive.ZoomClient` bound to this emulator with :attr:`credentials`."""
        from zoomlive import ZoomClient

        return ZoomClient(**self._client_options(options))

    def async_client(self, **options: Any) -> AsyncZoomClient:
        """An :class:`zoomlive.AsyncZoomClient` bound to this emulator."""
        from zoomlive import AsyncZoomClient

        return AsyncZoomClient(**self._client_options(options))

    def _client_options(self, options: dict[str, Any]) -> dict[str, Any]:
        creds = self.credentials
        return {
            "account_id": creds.account_id,
            "client_id": creds.client_id,
            "client_secret": creds.client_secret,
            "base_url": self.base_url,
            "oauth_base_url": self.oauth_base_url,
            **options,
        }

    def __repr__(self) -> str:
        state = self.url if self.running else "stopped"
        return f"<ZoomEmulator {state} media={self.media}>"


# one per configuration, per process ------------------------------------------------------------

_pool: dict[tuple[Any, ...], ZoomEmulator] = {}
_pool_lock = threading.Lock()
_atexit_registered = False


def shared_emulator(
    *, media: Media = "fake", media_profile: str | None = None, rate_limits: str = "zoom"
) -> ZoomEmulator:
    """The process's emulator for this configuration, started on first use. Callers reset it."""
    key = (media, media_profile, rate_limits)
    with _pool_lock:
        emulator = _pool.get(key)
        if emulator is None or not emulator.running:
            emulator = ZoomEmulator(
                media=media, media_profile=media_profile, rate_limits=rate_limits
            )
            emulator.start()
            global _atexit_registered
            if not _atexit_registered:
                atexit.register(stop_shared)
                _atexit_registered = True
            _pool[key] = emulator
        return emulator


def stop_shared() -> None:
    """Stop every shared emulator (the pytest plugin calls it at the end of the session)."""
    with _pool_lock:
        emulators = list(_pool.values())
        _pool.clear()
    for emulator in emulators:
        emulator.stop()
