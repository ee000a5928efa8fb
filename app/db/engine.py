"""The database adapter: engine, sessions, health and schema upgrades (Alembic), for
SQLite and PostgreSQL alike. The rest of the app reaches the database only through here
and the feature stores (store.py)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from pathlib import Path
from typing import Annotated, Any, TypeVar, cast

from alembic import command
from alembic.config import Config
from fastapi import Depends
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import (
    DataError,
    IntegrityError,
    NotSupportedError,
    ProgrammingError,
    SQLAlchemyError,
)
from sqlmodel import Session
from starlette.requests import HTTPConnection

__all__ = [
    "Database",
    "DatabaseDep",
    "DatabaseError",
    "DatabaseUnavailable",
    "Session",
    "display_url",
    "upgrade",
]

MIGRATIONS = Path(__file__).parent / "migrations"
T = TypeVar("T")
_END = object()  # the end of a stream
# What the database says about the data itself, not about its own state: never transient.
REFUSALS = (DataError, IntegrityError, ProgrammingError, NotSupportedError)


class DatabaseUnavailable(Exception):
    """The database could not be reached or upgraded; the message holds no password."""


class DatabaseError(Exception):
    """A database failure (connection lost, a lock held too long): the library's errors
    become this at the adapter's edge, so no caller imports the library to catch them.

    ``transient`` says whether trying again may help: a lost connection or a full disk
    may pass; a value the schema refuses (too long, a constraint) never will, and a writer
    that retried it forever would block everything queued behind it.
    """

    def __init__(self, message: str, *, transient: bool = True) -> None:
        super().__init__(message)
        self.transient = transient


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
        """``work`` in a session of its own, off the event loop: the one way every route and
        desk reaches the database."""

        def in_session() -> T:
            try:
                with self.session() as session:
                    return work(session)
            except SQLAlchemyError as error:
                permanent = isinstance(error, REFUSALS)
                raise DatabaseError(self.explain(error), transient=not permanent) from error

        return await _off_the_loop(in_session)

    def explain(self, error: SQLAlchemyError) -> str:
        """Why the database refused, for a log and the status page: the error's kind and the
        driver's first line ("OperationalError: database or disk is full"); the URL's
        password, should a driver ever echo it, masked."""
        detail = str(getattr(error, "orig", None) or "").strip().splitlines()
        reason = f"{type(error).__name__}: {detail[0]}" if detail else type(error).__name__
        password = make_url(self.url).password
        return reason.replace(password, "***") if password else reason

    async def stream(self, work: Callable[[Session], Iterator[T]]) -> AsyncIterator[T]:
        """``work``'s items, made in a session of its own off the event loop, one at a time:
        for an export too large to hold (the CSV of every call)."""

        def produce() -> Generator[T]:
            with self.session() as session:
                yield from work(session)

        items = produce()
        try:
            while True:
                item = await _off_the_loop(lambda: next(items, _END))
                if item is _END:
                    return
                yield cast(T, item)
        finally:
            await _off_the_loop(items.close)

    async def reachable(self) -> bool:
        return await _off_the_loop(self._answers)

    def _answers(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return False
        return True

    def dispose(self) -> None:
        self.engine.dispose()


async def _off_the_loop(work: Callable[[], T]) -> T:
    """``work`` on a worker thread.

    A cancelled await would leave the thread running with its connection checked out,
    and the service's stop would dispose of the engine under it (psycopg then finds the
    connection deleted while open). So a cancelled caller still waits for the thread
    (the stop may cancel twice) before the cancellation goes on.
    """
    done = asyncio.ensure_future(asyncio.to_thread(work))
    try:
        return await asyncio.shield(done)
    except asyncio.CancelledError:
        while not done.done():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait({done})
        raise


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


def the_database(request: HTTPConnection) -> Database:
    """The running service's database (app/wiring.py puts the parts on the app)."""
    return cast(Database, request.app.state.parts.database)


DatabaseDep = Annotated[Database, Depends(the_database)]
