"""Alembic environment: the URL comes from the caller (app.db.engine.upgrade)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text
from sqlmodel import SQLModel

from app.db import tables  # noqa: F401  (registers the tables on SQLModel.metadata)
from app.db.engine import make_engine

config = context.config
target_metadata = SQLModel.metadata
# Several instances started at once on an older schema (issue 16): on PostgreSQL the first
# to take this lock migrates, the others wait for its commit and then find nothing to do.
MIGRATION_LOCK = 0x63616C6C_6D696772  # "callmigr"


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url") or ""
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER much
        )
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                lock = text("SELECT pg_advisory_xact_lock(:key)")
                connection.execute(lock, {"key": MIGRATION_LOCK})
            context.run_migrations()
    engine.dispose()


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
