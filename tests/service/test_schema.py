"""The migrations build exactly the schema the code's tables describe, on both databases, and
step down and up again: an operator's `callassist db upgrade` leaves nothing out."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from app.db import tables  # noqa: F401  (registers the tables)
from app.db.engine import Database, alembic_config, upgrade


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
