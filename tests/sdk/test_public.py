"""The public surface, generated docs, OpenAPI document and CLI help."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

import zoomlive
from zoomlive.api.catalog import OPERATIONS
from zoomlive.api.docs import render_operations
from zoomlive.cli import app as cli_app

ROOT = Path(__file__).resolve().parents[2]


def test_exported_members() -> None:
    assert zoomlive.__all__ == sorted(zoomlive.__all__)
    assert zoomlive.__all__ == [
        "APIConnectionError",
        "APITimeoutError",
        "AmbiguousResultError",
        "AsyncZoomClient",
        "AuthenticationError",
        "BadRequestError",
        "ConflictError",
        "ErrorBody",
        "FieldError",
        "InternalServerError",
        "NotFoundError",
        "OPERATIONS",
        "Operation",
        "PermissionDeniedError",
        "RateLimitError",
        "ZoomAPIError",
        "ZoomClient",
        "ZoomError",
        "ZoomliveError",
        "__version__",
    ]
    from zoomlive import emulator

    assert emulator.__all__ == ["Settings", "create_app"]
    assert zoomlive.create_app is emulator.create_app  # the old names still work


EMULATOR_ONLY = (
    "starlette",
    "anyio",
    "uvicorn",
    "sqlalchemy",
    "alembic",
    "python_multipart",
    "yaml",
    "av",
    "psycopg",
    "redis",
)


def test_importing_the_sdk_loads_nothing_of_the_emulator() -> None:
    """``import zoomlive`` (and the CLI's entry module) is the SDK only: no server, store or
    media module, and none of their dependencies."""
    code = "import sys, zoomlive, zoomlive.cli;print('\\n'.join(sorted(m for m in sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    loaded = [m for m in out if m.startswith(("zoomlive.emulator.", "zoomlive.receiver"))]
    allowed = {
        "zoomlive.emulator.settings",
        "zoomlive.emulator.media",
        "zoomlive.emulator.media.command",
    }
    assert set(loaded) <= allowed, loaded  # the CLI reads the serve defaults, nothing more
    assert not [m for m in out if m.split(".")[0] in EMULATOR_ONLY]


def test_the_sdk_install_needs_none_of_the_emulator() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {re.split(r"[<>=\[ ;]", d, maxsplit=1)[0].lower() for d in project["dependencies"]}
    assert names == {"httpx", "pydantic", "typer", "rich"}


def test_serve_without_the_emulator_extra_says_which_extra() -> None:
    code = (
        "import sys; sys.modules['starlette'] = None;"
        "sys.argv = ['zoomlive', 'serve']; from zoomlive.cli import main; main()"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert "pip install 'zoomlive[emulator]'" in line


def test_operations_doc_is_generated_from_the_catalog() -> None:
    assert (ROOT / "docs" / "operations.md").read_text() == render_operations(), (
        "docs/operations.md is stale: python -m zoomlive.api.docs > docs/operations.md"
    )


def test_openapi_describes_every_operation_with_zooms_ids(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    found = {
        (method.upper(), path): op["operationId"]
        for path, ops in doc["paths"].items()
        for method, op in ops.items()
    }
    assert found == {(op.method, op.full_path): op.operation_id for op in OPERATIONS}
    create = doc["paths"]["/v2/users/{userId}/webinars"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/WebinarCreate"
    )
    assert "WebinarCreate" in doc["components"]["schemas"]
    assert all(not p.startswith("/_emulator") for p in doc["paths"])


def commands() -> list[str]:
    """Every command, nested groups included (``webinar livestream start``...)."""
    import typer.main

    def walk(group: Any, prefix: list[str]) -> list[str]:
        out = []
        for name, command in getattr(group, "commands", {}).items():
            if hasattr(command, "commands"):
                out += walk(command, [*prefix, name])
            else:
                out.append(" ".join([*prefix, name]))
        return out

    return walk(typer.main.get_command(cli_app), [])


def test_the_cli_has_every_operation_group() -> None:
    found = set(commands())
    for kind in ("webinar", "meeting"):
        for action in ("create", "get", "list", "update", "delete", "end"):
            assert f"{kind} {action}" in found
        for action in ("get", "configure", "start", "stop"):
            assert f"{kind} livestream {action}" in found
    assert "meeting livestream mode" in found
    assert {"serve", "seed", "receive", "demo"} <= found


@pytest.mark.parametrize("command", commands())
def test_every_command_has_help(command: str) -> None:
    result = CliRunner().invoke(cli_app, [*command.split(), "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output and len(result.output) > 100


def test_fidelity_doc_lists_every_operation() -> None:
    text = (ROOT / "docs" / "fidelity.md").read_text()
    for op in OPERATIONS:
        assert op.operation_id in text, op.operation_id
