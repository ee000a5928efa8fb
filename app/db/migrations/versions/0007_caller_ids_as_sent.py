"""caller IDs as the caller sent them: customer columns hold 255 characters, not 64

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 17:40:00.000000
"""

from __future__ import annotations

import sqlmodel
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_TABLES = ("calls", "callbacks", "complaints")


def upgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                "customer",
                type_=sqlmodel.sql.sqltypes.AutoString(length=255),
                existing_type=sqlmodel.sql.sqltypes.AutoString(length=64),
            )


def downgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                "customer",
                type_=sqlmodel.sql.sqltypes.AutoString(length=64),
                existing_type=sqlmodel.sql.sqltypes.AutoString(length=255),
            )
