"""Shared test fixtures: paths to the repository, the canonical strategy and ../shared/data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CANONICAL = REPO / "strategies" / "my_strategy_a.py"
SHARED_DATA = REPO.parent / "shared" / "data"

# No test reads or fills the user's decoded-data cache, nor starts its background builders (tests
# of the cache give their own directory); subprocesses the tests start inherit this.
os.environ["VIBETRADING_DATA_CACHE"] = "off"


@pytest.fixture
def repo() -> Path:
    return REPO


@pytest.fixture
def canonical_source() -> str:
    return CANONICAL.read_text()


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not beside the repository")
    return SHARED_DATA


if os.environ.get("VIBETRADING_LOOP") == "uvloop":
    import uvloop

    def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> dict[str, object]:
        """Every async test runs on uvloop when ``VIBETRADING_LOOP=uvloop`` (a CI matrix cell,
        docs/readiness.md), on asyncio otherwise. Tests that compare the two loops start their own."""
        return {"uvloop": uvloop.new_event_loop}
