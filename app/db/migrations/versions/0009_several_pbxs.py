"""several PBXs: the PBX of each call, callback, incident and agent's phone

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


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("pbx", sa.String(length=40), nullable=False, server_default="default")
            )
    op.create_index("ix_calls_pbx_started_at", "calls", ["pbx", "started_at"])
    op.create_index("ix_callbacks_pbx_status", "callbacks", ["pbx", "status"])
    op.create_index("ix_incidents_pbx_location", "incidents", ["pbx", "location"])


def downgrade() -> None:
    op.drop_index("ix_incidents_pbx_location", table_name="incidents")
    op.drop_index("ix_callbacks_pbx_status", table_name="callbacks")
    op.drop_index("ix_calls_pbx_started_at", table_name="calls")
    for table in reversed(TABLES):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("pbx")
