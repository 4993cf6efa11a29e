"""schemathesis against the emulator's own /openapi.json, over a real socket: for every
live-stream operation, no 5xx and no response that breaks the documented schema."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx

from tests.conftest import Server, get_token
from tests.support.engines import tool


def test_livestream_operations_hold_their_schema(tmp_path: Path) -> None:
    binary = tool("schemathesis", "the schemathesis command (the test extra)")
    srv = Server(tmp_path / "st.db").start()
    try:
        with httpx.Client(base_url=srv.url) as http:
            token = get_token(http)
        result = subprocess.run(
            [
                binary,
                "run",
                f"{srv.url}/openapi.json",
                "--header",
                f"Authorization: Bearer {token}",
                "--include-path-regex",
                "livestream",
                "--checks",
                "not_a_server_error,response_schema_conformance,content_type_conformance",
                "--max-examples",
                "40",
                "--seed",
                "20261126",
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=tmp_path,
        )
    finally:
        srv.stop()
    summary = result.stdout[-3000:]
    assert result.returncode == 0, summary
    assert "Tested: 6" in result.stdout, summary
    assert " failed" not in result.stdout.split("SUMMARY", 1)[-1], summary
