"""The writer's journal: record jobs the service took but could not store before it stopped.

A stop during a database outage must not lose a call: what the writer still holds goes to
this file, and the next start stores it before anything else (app/records/desk.py). The
file is kept until its jobs are stored, so a start that finds the database down still loses
nothing; storing one twice is harmless (the recorder's writes are idempotent).

The format is JSON lines, one record job a line, appended and fsynced per batch. Each value
says what it is: a dataclass as ``{"$type": "module.Name", "fields": {...}}``, an enum as
``{"$enum": ..., "value": ...}``, tuples and frozensets tagged too, so that two update types
with the same fields (CallHeld, CallUnheld) read back as what they were. Reading builds only
the dataclasses and enums a RecordJob can hold, found by walking its type hints: a field
added to a job later is journalled with no change here, and no line can make the reader
build anything else (pickle would run whatever the file named). A line that cannot be read
(a crash mid-write, a job type since renamed) is moved aside to ``<journal>.unreadable``
and logged, never silently dropped.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import logging
import os
import typing
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from app.records.store import RecordJob

log = logging.getLogger("callassist.writer")
TYPE, FIELDS, ENUM, VALUE = "$type", "fields", "$enum", "value"
TUPLE, FROZENSET, DICT = "$tuple", "$frozenset", "$dict"


class Journal:
    """An append-only file of record jobs, next to the database (CALLASSIST_JOURNAL_PATH)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, jobs: Sequence[RecordJob]) -> None:
        """Add ``jobs`` at the end and fsync: once this returns, they survive a power cut."""
        if not jobs:
            return
        lines = "".join(json.dumps(encode(job), ensure_ascii=False) + "\n" for job in jobs)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        created = not self.path.exists()
        with self.path.open("a", encoding="utf-8") as file:
            file.write(lines)
            file.flush()
            os.fsync(file.fileno())
        if created:
            _sync_directory(self.path.parent)

    def read(self) -> list[RecordJob]:
        """Every job in the file, in order; unreadable lines are moved aside and logged."""
        if not self.path.exists():
            return []
        jobs: list[RecordJob] = []
        unreadable: list[str] = []
        for line in self.path.read_text(encoding="utf-8", errors="replace").splitlines():
            if not line.strip():
                continue
            try:
                jobs.append(decode(json.loads(line)))
            except (ValueError, TypeError, KeyError) as error:
                log.error("a line of the journal %s cannot be read (%s)", self.path, error)
                unreadable.append(line)
        if unreadable:
            self._set_aside(unreadable)
        return jobs

    def clear(self) -> None:
        """Its jobs are stored: empty the file (fsynced, so they are not stored again)."""
        if not self.path.exists():
            return
        with self.path.open("w", encoding="utf-8") as file:
            file.flush()
            os.fsync(file.fileno())

    def _set_aside(self, lines: list[str]) -> None:
        aside = self.path.with_name(self.path.name + ".unreadable")
        with aside.open("a", encoding="utf-8") as file:
            file.write("".join(line + "\n" for line in lines))
            file.flush()
            os.fsync(file.fileno())
        log.error("%d unreadable journal line(s) kept in %s", len(lines), aside)


def _sync_directory(directory: Path) -> None:
    """A new file's name is durable once its directory is synced (POSIX)."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


# -- the encoding ------------------------------------------------------------------------


def encode(value: Any) -> Any:
    """A record job (or any value in one) as JSON-ready data that says what it was."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, enum.Enum):
        return {ENUM: _name(type(value)), VALUE: value.value}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {TYPE: _name(type(value)), FIELDS: fields}
    if isinstance(value, tuple):
        return {TUPLE: [encode(item) for item in value]}
    if isinstance(value, frozenset | set):
        return {FROZENSET: [encode(item) for item in sorted(value, key=repr)]}
    if isinstance(value, list):
        return [encode(item) for item in value]
    if isinstance(value, dict):
        return {DICT: [[encode(k), encode(v)] for k, v in value.items()]}
    raise TypeError(f"a record job holds a {type(value).__name__}, which the journal cannot keep")


def decode(data: Any) -> Any:
    """The value ``encode`` gave ``data`` for; only the types a RecordJob can hold."""
    if isinstance(data, list):
        return [decode(item) for item in data]
    if not isinstance(data, dict):
        return data
    if TYPE in data:
        cls = _known()[data[TYPE]]
        return cls(**{name: decode(item) for name, item in data[FIELDS].items()})
    if ENUM in data:
        return _known()[data[ENUM]](data[VALUE])
    if TUPLE in data:
        return tuple(decode(item) for item in data[TUPLE])
    if FROZENSET in data:
        return frozenset(decode(item) for item in data[FROZENSET])
    if DICT in data:
        return {decode(key): decode(item) for key, item in data[DICT]}
    raise ValueError(f"not a journalled value: {sorted(data)}")


def _name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


_KNOWN: dict[str, type] = {}


def _known() -> dict[str, type]:
    """The dataclasses and enums a RecordJob can hold, by name (found once, on first use)."""
    if not _KNOWN:
        _KNOWN.update((_name(cls), cls) for cls in _reachable(typing.get_args(RecordJob)))
    return _KNOWN


def _reachable(roots: Iterable[Any]) -> set[type]:
    """Every dataclass and enum named in ``roots``' type hints, and in theirs, and so on."""
    found: set[type] = set()
    waiting = list(roots)
    while waiting:
        hint = waiting.pop()
        if isinstance(hint, type) and issubclass(hint, enum.Enum):
            found.add(hint)
        elif isinstance(hint, type) and dataclasses.is_dataclass(hint):
            if hint not in found:
                found.add(hint)
                waiting.extend(typing.get_type_hints(hint).values())
        elif typing.get_origin(hint) is not typing.Literal:
            waiting.extend(typing.get_args(hint))  # unions, tuples, dicts, Optional
    return found
