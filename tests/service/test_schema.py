"""The migrations build exactly the schema the code's tables describe, on both databases, and
step down and up again: an operator's `callassist db upgrade` leaves nothing out."""

from __future__ import annotations

import os
import subprocess

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from app.db import tables  # noqa: F401  (registers the tables)
from app.db.engine import Database, alembic_config, upgrade
from tests.integration.serve_process import COMMAND


def _differences(url: str) -> list[object]:
    database = Database(url)
    try:
        with database.engine.connect() as connection:
            return list(compare_metadata(MigrationContext.configure(connection), SQLModel.metadata))
    finally:
        database.dispose()


def test_the_migrations_build_the_tables_the_code_uses(database_url: str) -> None:
    assert _differences(database_url) == []


def test_the_migrations_step_down_and_up_again(database_url: str) -> None:
    command.downgrade(alembic_config(database_url), "0001")  # through every migration
    upgrade(database_url)
    assert _differences(database_url) == []


def test_instances_started_together_on_an_older_schema_migrate_it_once(database_url: str) -> None:
    """Several instances of a new version start at once (compose, a rolling restart): on
    PostgreSQL one migrates and the others wait for it, so none fails on a table the first
    has just made. SQLite has no second instance."""
    if not database_url.startswith("postgresql"):
        pytest.skip("several instances run on PostgreSQL only")
    command.downgrade(alembic_config(database_url), "0001")
    env = {**os.environ, "CALLASSIST_DATABASE_URL": database_url}
    starts = [
        subprocess.Popen([*COMMAND, "db", "upgrade"], env=env, stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    said = [start.communicate(timeout=120)[1] for start in starts]
    assert [start.returncode for start in starts] == [0, 0, 0], said
    assert _differences(database_url) == []
