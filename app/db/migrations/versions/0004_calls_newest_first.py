"""calls newest first: indexes in the order QA's list reads them (bench/qa_queries.py);
the connected agents on the call row, so that the CSV export needs no second query

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 13:40:00.000000

The list sorts descending with empty values last. PostgreSQL cannot read an ascending index
backwards in that order (backwards, NULLs come first), so it sorted all 100,000 calls for
every page; these indexes are in the list's own order. SQLite puts NULLs last in a
descending order anyway and does not accept NULLS LAST in an index: the same index there
is spelled without it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_calls_started_at_desc": "started_at",
    "ix_calls_talk_seconds_desc": "talk_seconds",
}


# The agents of calls recorded before, from the parties table, in order of connection.
BACKFILL = {
    "postgresql": "UPDATE calls SET connected_agents = COALESCE((SELECT string_agg(endpoint,"
    " ';' ORDER BY position) FROM call_parties WHERE call_pk = calls.id AND connected), '')",
    "sqlite": "UPDATE calls SET connected_agents = COALESCE((SELECT group_concat(endpoint, ';')"
    " FROM (SELECT endpoint FROM call_parties WHERE call_pk = calls.id AND connected"
    " ORDER BY position)), '')",
}


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    nulls_last = " NULLS LAST" if dialect == "postgresql" else ""
    for name, column in INDEXES.items():
        op.create_index(
            name, "calls", [sa.text(f"{column} DESC{nulls_last}"), sa.text("id DESC")]
        )
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("connected_agents", sa.String(), nullable=False, server_default="")
        )
    op.execute(BACKFILL[dialect])


def downgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_column("connected_agents")
    for name in INDEXES:
        op.drop_index(name, table_name="calls")
