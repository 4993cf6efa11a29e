"""Zoom's error words live in one table (``zoomlive.api.errors``) that every rule uses."""

from __future__ import annotations

import ast
import string
from contextlib import nullcontext
from pathlib import Path

import pytest

from zoomlive.api.errors import ERRORS, E, ZoomError, ZoomErrorSpec, by_words, lookup
from zoomlive.api.sessions import KINDS
from zoomlive.emulator.faults import ERROR_BODIES
from zoomlive.emulator.rules import jointokens, registrants, webinars
from zoomlive.emulator.rules.sessions import RULES

ROOT = Path(__file__).resolve().parents[2]
EMULATOR = ROOT / "src" / "zoomlive" / "emulator"


def _zoom_error_calls(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name == "ZoomError":
                lines.append(node.lineno)
    return lines


def test_no_error_is_built_outside_the_table() -> None:
    sources = sorted(EMULATOR.rglob("*.py"))
    assert len(sources) > 30  # the scan sees the emulator
    found = {f"{p.relative_to(ROOT)}:{line}" for p in sources for line in _zoom_error_calls(p)}
    assert found == set()


def test_the_scan_finds_a_built_error(tmp_path: Path) -> None:
    sample = tmp_path / "rule.py"
    sample.write_text("raise ZoomError(404, 3001, 'x')\nraise errors.ZoomError(400, 300, 'y')\n")
    assert _zoom_error_calls(sample) == [1, 2]


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_every_template_formats_with_its_fields(name: str) -> None:
    spec = ERRORS[name]
    assert spec.name == name and getattr(E, name) is spec
    values = {field: f"<{field}>" for field in spec.fields}
    error = spec.error(**values)
    assert (error.status, error.code) == (spec.status, spec.code)
    for field in spec.fields:
        assert f"<{field}>" in error.message
    assert "{" not in error.message
    named = [f for _, f, _, _ in string.Formatter().parse(spec.template) if f is not None]
    assert all(f.isidentifier() for f in named)  # no positional or attribute fields
    with pytest.raises(KeyError) if spec.fields else nullcontext():
        spec.error()


def test_one_entry_per_wording() -> None:
    words = [(s.status, s.code, s.template) for s in ERRORS.values()]
    assert len(words) == len(set(words))


def test_the_table_can_be_listed_and_searched() -> None:
    assert len(ERRORS) >= 80
    assert all(isinstance(s, ZoomErrorSpec) for s in ERRORS.values())
    assert ERRORS["WEBINAR_NOT_FOUND"] == ZoomErrorSpec(
        "WEBINAR_NOT_FOUND", 404, 3001, "Webinar does not exist: {id}."
    )
    assert ERRORS["INVALID_TOKEN"] == ZoomErrorSpec(
        "INVALID_TOKEN", 401, 124, "Invalid access token."
    )
    assert ERRORS["VALIDATION_FAILED"].template == "Validation Failed."
    assert E.MISSING_SCOPES.fields == ("scopes",)
    assert {s.name for s in lookup(401, 124)} == {"INVALID_TOKEN", "TOKEN_EXPIRED"}
    assert by_words(404, 3001, "Meeting does not exist: {id}.") is E.MEETING_NOT_FOUND
    with pytest.raises(KeyError):
        by_words(404, 3001, "Not Zoom's words.")


def test_an_entry_raises_zooms_body() -> None:
    error = E.WEBINAR_NOT_FOUND.error(id=123, headers={"X-Test": "1"}, extra={"reason": "r"})
    assert isinstance(error, ZoomError)
    assert (error.status, error.headers) == (404, {"X-Test": "1"})
    assert error.to_json() == b'{"code":3001,"message":"Webinar does not exist: 123.","reason":"r"}'
    scopes = E.MISSING_SCOPES.error(scopes="meeting:read").message
    assert scopes == "Invalid access token, does not contain scopes:[meeting:read]."


def test_words_kept_per_kind_by_the_rules_are_in_the_table() -> None:
    """Rules that pick words per kind from their own tables find each in the error table."""
    for kind, rules in RULES.items():
        by_words(404, 3001, rules.not_found)
        by_words(rules.livestream_not_found_status, 3001, rules.not_found)
        by_words(400, 200, rules.feature_missing)
        by_words(400, 3000, rules.not_configured)
        by_words(429, 429, rules.daily_cap)
        by_words(400, 300, KINDS[kind].invalid_id)
        by_words(400, 3000, jointokens.NOT_ALLOWED[kind])
        for table in (registrants.NOT_ENABLED, registrants.NOT_REQUIRED):
            by_words(400, *table[kind])
        for code_words in registrants.BATCH_RULES[kind].values():
            by_words(400, *code_words)
    by_words(404, 3001, webinars.NOT_FOUND_OR_EXPIRED)
    for status, (code, message) in ERROR_BODIES.items():
        by_words(status, code, message)


def test_words_written_at_a_call_are_in_the_table() -> None:
    """``by_words(status, code, "...")`` and ``oauth_error(...)`` calls with literal words."""
    checked = 0
    for path in sorted(EMULATOR.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
                continue
            if node.func.id not in ("by_words", "oauth_error"):
                continue
            args = node.args[:3]
            if len(args) == 3 and all(isinstance(a, ast.Constant) for a in args):
                status, code, words = (a.value for a in args if isinstance(a, ast.Constant))
                assert isinstance(status, int) and isinstance(code, int)
                assert isinstance(words, str)
                by_words(status, code, words)
                checked += 1
    assert checked >= 10  # the OAuth endpoint's answers


def test_words_from_elsewhere_stay_where_they_are_quoted() -> None:
    """``as_given`` (words the emulator quotes or is handed) is used only for Zoom's document's
    404 texts and the web framework's HTTP errors, not as a way around the table."""
    users = set()
    for path in sorted(EMULATOR.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "as_given":
                users.add(str(path.relative_to(EMULATOR)))
    assert users == {"spec/memory.py", "routes.py"}
