"""The desks' fixtures: one schema per session, a copy of it per test (copying a file is
much faster than creating the tables, and each test gets a database of its own)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.live.hub import Hub
from tests.desks.fakes import FakeLink, TestDatabase, make_template


@pytest.fixture(scope="session", autouse=True)
def _libraries_left_out_of_full_collections() -> Iterator[None]:
    """The objects made so far (FastAPI, SQLAlchemy, pydantic, the captures) are set aside
    from the garbage collector: a full collection walks every one of them (about 0.1 s), and
    would land in whichever test happened to trigger it, hiding that test's own time."""
    gc.freeze()
    yield
    gc.unfreeze()


@pytest.fixture(scope="session")
def template_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_template(tmp_path_factory.mktemp("desks") / "template.db")


@pytest.fixture
def database(template_database: Path, tmp_path: Path) -> Iterator[TestDatabase]:
    database = TestDatabase(template_database, tmp_path)
    yield database
    database.dispose()


@pytest.fixture
def hub() -> Hub:
    return Hub()


@pytest.fixture
def link() -> FakeLink:
    return FakeLink()
