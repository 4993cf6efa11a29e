"""The emulator's settings: one model for flags, ``ZOOMLIVE_*`` variables and the testing kit. A
bad value, from a flag or from the environment, stops ``zoomlive serve`` before it binds or opens
anything, with one line that names the flag, the variable and what they may be; a good one
reaches the app, and ``--workers`` children rebuild the very same settings."""

from __future__ import annotations

import concurrent.futures
import inspect
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from tests.conftest import DEMO_BASIC, Server, get_token
from tests.support.helpers import free_port
from zoomlive.cli import app as cli_app
from zoomlive.cli.emulator import SERVE_FLAGS, serve
from zoomlive.emulator import serving
from zoomlive.emulator.settings import Settings, env_var, explain
from zoomlive.testing import ZoomEmulator

ROOT = Path(__file__).resolve().parents[2]

# (setting, bad value, what the line says it may be). The other settings a rule names are
# named as the user of the CLI knows them.
BAD = [
    ("media", "bogus", "must be one of ffmpeg, fake, off, remote"),
    ("token_ttl", "abc", "must be a whole number, at least 1"),
    ("token_ttl", "0", "must be a whole number, at least 1"),
    ("port", "70000", "must be a whole number from 0 to 65535"),
    ("seed", "x", "must be a whole number"),
    ("demo", "maybe", "must be 1 or 0 (true or false)"),
    ("webhook_time_scale", "0", "must be a number, above 0"),
    ("history_events", "0", "must be a whole number, at least 1"),
    ("history_days", "nan", "must be a number, above 0, at most 36500"),
    ("header_timeout", "abc", "must be a number, above 0"),
    ("body_timeout", "abc", "must be a number, above 0"),
    ("keepalive_timeout", "-1", "must be a number, above 0"),
    ("max_connections", "0", "must be a whole number, at least 1"),
    ("log_level", "loud", "must be one of critical, error, warning, info, debug, trace"),
    ("workers", "0", "must be a whole number, at least 1"),
    ("workers", "2", "above 1 needs PostgreSQL: --db (ZOOMLIVE_DB) postgresql://..."),
    ("media", "remote", "remote needs PostgreSQL: --db (ZOOMLIVE_DB) postgresql://..."),
    ("rate_limits", "missing.json", "must be zoom, off, or a JSON file that exists"),
    ("media_profile", "huge", "must be one of 720p, 1080p, small, medium"),
    (
        "host",
        "0.0.0.0",
        "off loopback exposes the control API: give --admin-key (ZOOMLIVE_ADMIN_KEY)",
    ),
    ("max_body_bytes", "0", "must be a whole number, at least 1"),
    ("webinar_daily_cap", "-1", "must be a whole number, at least 0"),
    ("cheap_secrets", "maybe", "must be 1 or 0 (true or false)"),
    ("demo_receiver", "maybe", "must be 1 or 0 (true or false)"),
    ("extra", "x", "must be a JSON object of text values"),
]
CHEAP = {"ZOOMLIVE_CHEAP_SECRETS": "1"}  # as tests/conftest.py sets it, for test runs
SWITCHES = {"demo", "demo_receiver"}  # a flag without a value: only its variable can be bad


def expected_line(setting: str, value: str, rule: str) -> str:
    name = env_var(setting)
    if setting in SERVE_FLAGS:
        name = f"{SERVE_FLAGS[setting]} ({name})"
    return f"zoomlive serve: {name} {rule}; got {value!r}"


def serve_args(db: Path, setting: str, value: str | None) -> list[str]:
    """``serve`` with a good value for each flag but ``setting``'s (``value``, or none)."""
    good = {"db": str(db), "media": "fake", "rate_limits": "off", "port": str(free_port())}
    if value is not None:
        good[setting] = value
    elif setting in good:
        del good[setting]
    return ["serve"] + [a for k, v in good.items() for a in (SERVE_FLAGS[k], v)]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """This process's environment without any setting's variable (what subprocesses get)."""
    for name in Settings.model_fields:
        monkeypatch.delenv(env_var(name), raising=False)
    return dict(os.environ)


def cases() -> list[tuple[str, str, str, str]]:
    """Each bad value through its flag and through its variable."""
    out = []
    for setting, value, rule in BAD:
        if setting in SERVE_FLAGS and setting not in SWITCHES:
            out.append(("flag", setting, value, rule))
        out.append(("env", setting, value, rule))
    return out


# require_emulator() imports the extra's modules, python-multipart's old name among them.
@pytest.mark.filterwarnings("ignore:Please use `import python_multipart`")
@pytest.mark.parametrize(("via", "setting", "value", "rule"), cases())
def test_a_bad_setting_is_one_line_and_exit_2(
    via: str,
    setting: str,
    value: str,
    rule: str,
    tmp_path: Path,
    clean_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """In process, every setting (subprocesses below, one of each kind)."""

    def bound(*args: object) -> None:
        raise serving.BindError(0, "the bad value was let through")

    monkeypatch.setattr(serving, "bind", bound)
    monkeypatch.chdir(tmp_path)  # the file rate_limits names does not exist here
    db = tmp_path / "z.db"
    args = serve_args(db, setting, value if via == "flag" else None)
    env = {env_var(setting): value} if via == "env" else {}
    result = CliRunner().invoke(cli_app, args, env=env)
    assert (result.exit_code, result.stderr.splitlines()) == (
        2,
        [expected_line(setting, value, rule)],
    )
    assert result.stdout == "" and not db.exists()


def test_bad_flags_and_variables_stop_zoomlive_serve_at_once(
    tmp_path: Path, clean_env: dict[str, str]
) -> None:
    """Real processes, one for each kind of setting, through the flag and the variable: exit 2
    within seconds, one line on stderr, nothing opened (the store file is not created)."""
    kinds = {
        "media": "bogus",  # a choice (the issue's example)
        "token_ttl": "abc",  # a whole number (the issue's example)
        "body_timeout": "abc",  # a number
        "demo": "maybe",  # a switch
        "rate_limits": "missing.json",  # a file
        "workers": "2",  # a rule across settings
        "host": "0.0.0.0",  # a rule across settings
    }
    rules = {(s, v): r for s, v, r in BAD}
    runs = [
        (via, setting, value)
        for setting, value in kinds.items()
        for via in ("flag", "env")
        if via == "env" or setting not in SWITCHES
    ]

    def run(via: str, setting: str, value: str) -> tuple[str, Any, float, bool]:
        db = tmp_path / f"{via}-{setting}.db"
        args = serve_args(db, setting, value if via == "flag" else None)
        env = {**clean_env, **({env_var(setting): value} if via == "env" else {})}
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "zoomlive", *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=60,
        )
        return via, done, time.monotonic() - started, db.exists()

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda r: run(*r), runs))
    for (via, setting, value), (_, done, seconds, opened) in zip(runs, results, strict=True):
        expected = expected_line(setting, value, rules[setting, value])
        assert (done.returncode, done.stderr.splitlines()) == (2, [expected]), (via, done)
        assert done.stdout == "" and not opened and seconds < 20, (via, setting, seconds)


def test_zoomlive_seed_refuses_a_bad_variable_in_one_line(
    tmp_path: Path, clean_env: dict[str, str]
) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text("accounts: []\n")
    done = subprocess.run(
        [sys.executable, "-m", "zoomlive", "seed", str(seed), "--db", str(tmp_path / "s.db")],
        capture_output=True,
        text=True,
        env={**clean_env, "ZOOMLIVE_TOKEN_TTL": "abc"},
        timeout=60,
    )
    assert (done.returncode, done.stderr.splitlines()) == (
        2,
        ["zoomlive seed: ZOOMLIVE_TOKEN_TTL must be a whole number, at least 1; got 'abc'"],
    )
    assert not (tmp_path / "s.db").exists()


def test_the_issues_examples_through_from_env(
    clean_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZOOMLIVE_MEDIA", "bogus")
    with pytest.raises(ValidationError) as bad_media:
        Settings.from_env()
    assert [e["loc"] for e in bad_media.value.errors()] == [("media",)]
    assert explain(bad_media.value) == (
        "media (ZOOMLIVE_MEDIA) must be one of ffmpeg, fake, off, remote; got 'bogus'"
    )
    monkeypatch.setenv("ZOOMLIVE_MEDIA", "fake")
    monkeypatch.setenv("ZOOMLIVE_TOKEN_TTL", "abc")
    with pytest.raises(ValidationError) as bad_ttl:
        Settings.from_env()
    assert "token_ttl" in str(bad_ttl.value) and "invalid literal" not in str(bad_ttl.value)
    assert explain(bad_ttl.value) == (
        "token_ttl (ZOOMLIVE_TOKEN_TTL) must be a whole number, at least 1; got 'abc'"
    )


def test_arguments_win_over_the_environment_which_wins_over_defaults(
    clean_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZOOMLIVE_TOKEN_TTL", "120")
    monkeypatch.setenv("ZOOMLIVE_MEDIA", "off")
    monkeypatch.setenv("ZOOMLIVE_ALLOWED_HOSTS", "a.test, b.test")
    monkeypatch.setenv("ZOOMLIVE_ADMIN_KEY", "")  # empty is unset
    settings = Settings(db=":memory:", media="fake")
    assert (settings.media, settings.token_ttl, settings.admin_key) == ("fake", 120, None)
    assert settings.allowed_hosts == ["a.test", "b.test"]
    assert Settings.from_env(media=None).media == "off"  # None: not given
    assert Settings.without_env(db=":memory:").token_ttl == 3599
    settings.token_ttl = 60  # assignments are checked too
    with pytest.raises(ValidationError, match="token_ttl"):
        settings.token_ttl = "abc"  # type: ignore[assignment]
    with pytest.raises(ValidationError, match="media_profile"):
        Settings(media_profile="huge")


def test_to_env_rebuilds_the_same_settings(
    tmp_path: Path, clean_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What ``--workers`` children do: every setting, none at its default, makes the trip."""
    limits = tmp_path / "limits.json"
    limits.write_text("{}")
    settings = Settings.without_env(
        db="postgresql://zoomlive@127.0.0.1:5432/zoomlive",
        demo=False,
        admin_key="sesame",
        token_ttl=120,
        seed=7,
        max_body_bytes=2048,
        webinar_daily_cap=3,
        media="remote",
        media_profile="small",
        demo_receiver=False,
        watch_player="/opt/player/mpegts.js",
        rate_limits=str(limits),
        redis_url="redis://127.0.0.1:6390/0",
        webhook_time_scale=0.001,
        history_events=50,
        history_days=0.1,
        public_url="http://emulator.test:9000",
        host="0.0.0.0",
        port=9000,
        allowed_hosts=["a.test", "*"],
        cheap_secrets=True,
        extra={"team": "blue"},
        header_timeout=2.5,
        body_timeout=3.25,
        keepalive_timeout=1.5,
        max_connections=64,
        log_level="debug",
        workers=3,
    )
    defaults = Settings.without_env()
    unchanged = [f for f in Settings.model_fields if getattr(settings, f) == getattr(defaults, f)]
    assert unchanged == []
    for name, value in settings.to_env().items():
        monkeypatch.setenv(name, value)
    assert Settings.from_env() == settings


def test_good_variables_reach_the_app(tmp_path: Path, clean_env: dict[str, str]) -> None:
    env = {"ZOOMLIVE_TOKEN_TTL": "120", "ZOOMLIVE_MAX_BODY_BYTES": "200", **CHEAP}
    srv = Server(tmp_path / "z.db", env=env).start()
    try:
        with httpx.Client(base_url=srv.url) as http:
            assert_settings_in_force(http)
    finally:
        srv.stop()


def assert_settings_in_force(http: httpx.Client) -> None:
    """``ZOOMLIVE_TOKEN_TTL=120`` and ``ZOOMLIVE_MAX_BODY_BYTES=200`` are."""
    token = http.post(
        "/oauth/token",
        params={"grant_type": "account_credentials", "account_id": "demo-account"},
        headers={"Authorization": DEMO_BASIC},
    ).json()
    assert token["expires_in"] == 120
    big = http.post(
        "/v2/users/me/webinars",
        json={"topic": "big", "agenda": "x" * 300},
        headers={"Authorization": f"Bearer {token['access_token']}"},
    )
    assert big.status_code == 413, big.text


def test_workers_rebuild_the_same_settings(pg_url: str, clean_env: dict[str, str]) -> None:
    env = {"ZOOMLIVE_MAX_BODY_BYTES": "200", **CHEAP}
    srv = Server(pg_url, "--workers", "2", "--token-ttl", "120", env=env).start(timeout=40)
    try:
        pids: set[int] = set()
        deadline = time.monotonic() + 20
        while len(pids) < 2 and time.monotonic() < deadline:
            with httpx.Client(base_url=srv.url) as fresh:  # a new connection: either worker
                pids.add(fresh.get("/_emulator/health").json()["pid"])
                assert_settings_in_force(fresh)
        assert len(pids) == 2, "both workers should have answered"
    finally:
        srv.stop()


def test_the_testing_kit_checks_its_settings_and_reads_no_variable(
    clean_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ValidationError, match="media"):
        ZoomEmulator(media="bogus").start()  # type: ignore[arg-type]
    # A shell set up for zoomlive serve elsewhere: neither its mistakes nor its admin key and
    # URL reach a test suite's own emulator.
    monkeypatch.setenv("ZOOMLIVE_TOKEN_TTL", "abc")
    monkeypatch.setenv("ZOOMLIVE_ADMIN_KEY", "sesame")
    monkeypatch.setenv("ZOOMLIVE_PUBLIC_URL", "http://elsewhere.test")
    with ZoomEmulator() as emulator:
        emulator.reset()  # the control API, without an admin key
        with httpx.Client(base_url=emulator.url) as http:
            assert get_token(http)
            assert http.get("/_emulator/state").json()["accounts"][0]["id"] == "demo-account"


def test_serve_options_are_the_models(clean_env: dict[str, str]) -> None:
    """Each option of ``serve`` is a setting, None unless given (the model fills the rest),
    and its help names the setting's variable and the model's default."""
    defaults = Settings.without_env()

    def shown(setting: str) -> str | None:
        if setting in ("host", "port"):
            return {"host": "127.0.0.1", "port": "8080"}[setting]  # serve's own: none in process
        default = getattr(defaults, setting)
        if isinstance(default, bool):
            return setting if default else f"no-{setting}"
        return None if default in (None, []) else str(default)

    params = inspect.signature(serve).parameters
    assert {SERVE_FLAGS.get(n, "--allowed-host") for n in params} == set(SERVE_FLAGS.values())
    for name, param in params.items():
        assert param.default is None, name
    assert set(SERVE_FLAGS) <= set(Settings.model_fields)
    result = CliRunner().invoke(cli_app, ["serve", "--help"], env={"COLUMNS": "400"})
    text = re.sub(r"\s+", " ", result.stdout)
    for setting, flag in SERVE_FLAGS.items():
        default = shown(setting)
        where = env_var(setting) if default is None else f"{env_var(setting)}; default {default}"
        assert flag in text and f"({where})" in text, (setting, where)


def test_the_readme_lists_every_setting() -> None:
    """Its configuration table (one table: a line between rows would end it) names every
    variable and every flag of ``serve``."""
    readme = (ROOT / "README.md").read_text()
    table = readme.split("### Configuration", 1)[1].strip().split("\n\n", 1)[0]
    assert all(line.startswith("|") for line in table.splitlines())
    for setting in Settings.model_fields:
        if setting != "extra":  # for code built on the emulator, documented in the model
            assert f"`{env_var(setting)}`" in table, setting
    for flag in SERVE_FLAGS.values():
        assert f"`{flag}" in table, flag
