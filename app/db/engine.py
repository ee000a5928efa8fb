"""The database adapter: engine, sessions, health and schema upgrades (Alembic), for
SQLite and PostgreSQL alike. The rest of the app reaches the database only through here
and the feature stores (store.py)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

__all__ = ["Database", "DatabaseUnavailable", "Session", "display_url", "upgrade"]

MIGRATIONS = Path(__file__).parent / "migrations"
T = TypeVar("T")


class DatabaseUnavailable(Exception):
    """The database could not be reached or upgraded; the message holds no password."""


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    def session(self) -> Session:
        return Session(self.engine)

    async def run(self, work: Callable[[Session], T]) -> T:
        """``work`` in a session of its own, off the event loop.

        A cancelled await would leave the thread running with its connection checked out,
        and the service's stop would dispose of the engine under it (psycopg then finds the
        connection deleted while open). So a cancelled caller still waits for the thread
        (the stop may cancel twice) before the cancellation goes on.
        """

        def in_session() -> T:
            with self.session() as session:
                return work(session)

        done = asyncio.ensure_future(asyncio.to_thread(in_session))
        try:
            return await asyncio.shield(done)
        except asyncio.CancelledError:
            while not done.done():
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait({done})
            raise

    def reachable(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return False
        return True

    def dispose(self) -> None:
        self.engine.dispose()


def make_engine(url: str) -> Engine:
    """An engine tuned per database: SQLite gets WAL and a busy timeout so the writer and
    the API's readers do not trip over each other; PostgreSQL gets pre-ping for restarts."""
    if make_url(url).get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def display_url(url: str) -> str:
    """The URL fit for a terminal or a log: any password masked."""
    return make_url(url).render_as_string(hide_password=True)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str) -> None:
    """Bring the schema to the newest migration (`callassist db upgrade`)."""
    try:
        command.upgrade(alembic_config(url), "head")
    except SQLAlchemyError as error:
        reason = str(getattr(error, "orig", None) or type(error).__name__).splitlines()[0]
        raise DatabaseUnavailable(f"{display_url(url)}: {reason}") from None
