"""Values on their way into a table."""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import Table


def fitted(table: Table, values: dict[str, Any]) -> dict[str, Any]:
    """Text the PBX sent, cut to what its column holds. A caller chooses their caller ID
    and the PBX names channels and queues: PostgreSQL refuses a value over a column's
    length (SQLite keeps it), and the call must be stored either way. Identities (call_id)
    are never cut: a refused one is set aside whole by the writer."""
    lengths = _lengths(table)
    return {
        name: value[: lengths[name]]
        if isinstance(value, str) and name in lengths and name not in IDENTITIES
        else value
        for name, value in values.items()
    }


IDENTITIES = frozenset(("call_id", "callback_for"))


@functools.cache
def _lengths(table: Table) -> dict[str, int]:
    lengths = {column.name: getattr(column.type, "length", None) for column in table.columns}
    return {name: length for name, length in lengths.items() if isinstance(length, int)}
