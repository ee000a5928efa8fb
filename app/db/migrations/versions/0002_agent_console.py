"""agent console: call-script sessions and their actions, shift checks, missed pops

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 12:04:14.861797

The 0001 call_script_sessions table was never written to (no release used it), so it is
replaced rather than altered: sessions are now keyed by the call's Linkedid.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Text = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    with op.batch_alter_table("call_script_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_call_script_sessions_call_pk"))
    op.drop_table("call_script_sessions")
    op.create_table(
        "call_script_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", Text(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("agent", Text(length=128), nullable=False),
        sa.Column("call_script", Text(length=128), nullable=False),
        sa.Column("language", Text(length=16), nullable=False),
        sa.Column("status", Text(length=8), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("disposition", Text(length=64), nullable=True),
        sa.Column("handed_over_from", Text(length=128), nullable=True),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("call_id", "user_id"),
    )
    with op.batch_alter_table("call_script_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_call_script_sessions_call_id"), ["call_id"])
        batch_op.create_index(batch_op.f("ix_call_script_sessions_user_id"), ["user_id"])
        batch_op.create_index(batch_op.f("ix_call_script_sessions_disposition"), ["disposition"])

    op.create_table(
        "call_script_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("action_id", Text(length=64), nullable=False),
        sa.Column("kind", Text(length=16), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("received_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["call_script_sessions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("session_id", "action_id"),
    )
    with op.batch_alter_table("call_script_actions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_call_script_actions_session_id"), ["session_id"])

    op.create_table(
        "shift_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("endpoint", Text(length=128), nullable=True),
        sa.Column("checked_at", sa.Float(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("registered", sa.Boolean(), nullable=True),
        sa.Column("reachable", sa.Boolean(), nullable=True),
        sa.Column("contact_status", Text(length=32), nullable=True),
        sa.Column("contact_roundtrip_ms", sa.Float(), nullable=True),
        sa.Column("link_up", sa.Boolean(), nullable=False),
        sa.Column("link_status", Text(length=32), nullable=False),
        sa.Column("rtt_ms", sa.Float(), nullable=True),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("shift_checks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shift_checks_user_id"), ["user_id"])

    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("pops_missed", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.add_column(sa.Column("call_id", Text(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_complaints_call_id"), ["call_id"])


def downgrade() -> None:
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complaints_call_id"))
        batch_op.drop_column("call_id")
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_column("pops_missed")
    op.drop_table("shift_checks")
    op.drop_table("call_script_actions")
    op.drop_table("call_script_sessions")
    op.create_table(
        "call_script_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_pk", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("call_script", Text(length=128), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["call_pk"], ["calls.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("call_pk", "user_id"),
    )
    with op.batch_alter_table("call_script_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_call_script_sessions_call_pk"), ["call_pk"])
