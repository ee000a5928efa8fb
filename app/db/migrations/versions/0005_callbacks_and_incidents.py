"""callbacks with attempts, incidents with timelines, trunk and callback link on calls

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 14:41:25.615228
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_text = sqlmodel.sql.sqltypes.AutoString
_EMPTY_JSON = sa.text("'{}'")


def upgrade() -> None:
    op.create_table(
        "callback_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("callback_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("channel_id", _text(length=64), nullable=False),
        sa.Column("agent", _text(length=128), nullable=False),
        sa.Column("status", _text(length=24), nullable=False),
        sa.Column("result", _text(length=24), nullable=True),
        sa.Column("hangup_cause", sa.Integer(), nullable=True),
        sa.Column("originate_reason", sa.Integer(), nullable=True),
        sa.Column("detail", _text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("sent_at", sa.Float(), nullable=True),
        sa.Column("answered_at", sa.Float(), nullable=True),
        sa.Column("ended_at", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["callback_id"], ["callbacks.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel_id", name="uq_callback_attempts_channel_id"),
    )
    with op.batch_alter_table("callback_attempts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_callback_attempts_callback_id"), ["callback_id"], unique=False
        )

    with op.batch_alter_table("callbacks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("call_id", _text(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("auto", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("queue", _text(length=128), nullable=True))
        batch_op.add_column(sa.Column("hangup_cause", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("last_result", _text(length=24), nullable=True))
        batch_op.add_column(sa.Column("waiting_for", _text(length=160), nullable=True))
        batch_op.add_column(sa.Column("note", _text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("closed_by", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("closed_at", sa.Float(), nullable=True))
        batch_op.create_index("ix_callbacks_status_due", ["status", "next_attempt_at"])
        batch_op.create_unique_constraint("uq_callbacks_call_id", ["call_id"])
        batch_op.create_foreign_key("fk_callbacks_closed_by_users", "users", ["closed_by"], ["id"])

    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("trunk", _text(length=128), nullable=True))
        batch_op.add_column(sa.Column("callback_for", _text(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_calls_callback_for"), ["callback_for"], unique=False)
        batch_op.create_index("ix_calls_trunk_ended_at", ["trunk", "ended_at"], unique=False)

    with op.batch_alter_table("incident_events", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("detail", sa.JSON(), nullable=False, server_default=_EMPTY_JSON)
        )

    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("detail", sa.JSON(), nullable=False, server_default=_EMPTY_JSON)
        )
        batch_op.add_column(sa.Column("signals", sa.Integer(), nullable=False, server_default="1"))
        for name in (
            "last_signal_at",
            "acknowledged_at",
            "last_progress_at",
            "reminded_at",
            "recovered_at",
            "resolved_at",
            "reviewed_at",
        ):
            batch_op.add_column(sa.Column(name, sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("owner_id", sa.Integer(), nullable=True))
        for name in ("cause", "review_summary", "review_actions"):
            batch_op.add_column(sa.Column(name, _text(), nullable=False, server_default=""))
        batch_op.create_index("ix_incidents_status_location", ["status", "location"])
        batch_op.create_foreign_key("fk_incidents_owner_id_users", "users", ["owner_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_constraint("fk_incidents_owner_id_users", type_="foreignkey")
        batch_op.drop_index("ix_incidents_status_location")
        for name in (
            "review_actions",
            "review_summary",
            "cause",
            "owner_id",
            "reviewed_at",
            "resolved_at",
            "recovered_at",
            "reminded_at",
            "last_progress_at",
            "acknowledged_at",
            "last_signal_at",
            "signals",
            "detail",
        ):
            batch_op.drop_column(name)

    with op.batch_alter_table("incident_events", schema=None) as batch_op:
        batch_op.drop_column("detail")

    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_index("ix_calls_trunk_ended_at")
        batch_op.drop_index(batch_op.f("ix_calls_callback_for"))
        batch_op.drop_column("callback_for")
        batch_op.drop_column("trunk")

    with op.batch_alter_table("callbacks", schema=None) as batch_op:
        batch_op.drop_constraint("fk_callbacks_closed_by_users", type_="foreignkey")
        batch_op.drop_constraint("uq_callbacks_call_id", type_="unique")
        batch_op.drop_index("ix_callbacks_status_due")
        for name in (
            "closed_at",
            "closed_by",
            "note",
            "waiting_for",
            "last_result",
            "hangup_cause",
            "queue",
            "auto",
            "call_id",
        ):
            batch_op.drop_column(name)

    with op.batch_alter_table("callback_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_callback_attempts_callback_id"))
    op.drop_table("callback_attempts")
