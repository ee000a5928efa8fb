"""several PBXs: the PBX of each call, callback, incident and agent's phone; an endpoint is
unique per PBX

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 23:00:00.000000

What was recorded before had one PBX: it becomes the ``default`` one, whose calls keep their
bare Linkedid as their id (app/pbxes/config.py).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TABLES = ("calls", "callbacks", "incidents", "users")
PER_PBX = "uq_users_pbx_endpoint"
CONVENTION = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("pbx", sa.String(length=40), nullable=False, server_default="default")
            )
    _endpoint_unique_per_pbx()
    op.create_index("ix_calls_pbx_started_at", "calls", ["pbx", "started_at"])
    op.create_index("ix_callbacks_pbx_status", "callbacks", ["pbx", "status"])
    op.create_index("ix_incidents_pbx_location", "incidents", ["pbx", "location"])


def _endpoint_unique_per_pbx() -> None:
    """PJSIP/1001 may be a phone on each PBX: unique (pbx, endpoint), not endpoint. The old
    constraint has no name of ours: PostgreSQL calls it users_endpoint_key; on SQLite the
    batch copy names it by the convention given here, so that it can be dropped."""
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("users_endpoint_key", "users", type_="unique")
        op.create_unique_constraint(PER_PBX, "users", ["pbx", "endpoint"])
        return
    with op.batch_alter_table("users", naming_convention=CONVENTION) as batch:
        batch.drop_constraint("uq_users_endpoint", type_="unique")
        batch.create_unique_constraint(PER_PBX, ["pbx", "endpoint"])


def _endpoint_unique_again() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(PER_PBX, "users", type_="unique")
        op.create_unique_constraint("users_endpoint_key", "users", ["endpoint"])
        return
    with op.batch_alter_table("users", naming_convention=CONVENTION) as batch:
        batch.drop_constraint(PER_PBX, type_="unique")
        batch.create_unique_constraint("uq_users_endpoint", ["endpoint"])


def downgrade() -> None:
    op.drop_index("ix_incidents_pbx_location", table_name="incidents")
    op.drop_index("ix_callbacks_pbx_status", table_name="callbacks")
    op.drop_index("ix_calls_pbx_started_at", table_name="calls")
    _endpoint_unique_again()
    for table in reversed(TABLES):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("pbx")
