"""Fixtures of the testing kit's tests: a mock_zoom() around the test, and a plain server on
127.0.0.1 for what the mock must let through."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.helpers import LocalServer
from zoomlive.testing import MockZoom, mock_zoom


@pytest.fixture
def zoom() -> Iterator[MockZoom]:
    with mock_zoom() as mock:
        yield mock


@pytest.fixture
def local() -> Iterator[LocalServer]:
    server = LocalServer()
    yield server
    server.close()
