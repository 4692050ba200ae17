"""ops analytics: records made by `frontline simulate` are marked simulated; indexes for the
reports (events by kind and time, tickets by creation and resolution time)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SIMULATED = ("events", "tickets", "messages", "chat_sessions", "ratings", "process_feedback")


def upgrade() -> None:
    for table in SIMULATED:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("simulated", sa.Boolean(), nullable=False,
                                       server_default=sa.false()))
    op.create_index("ix_events_kind_created_at", "events", ["kind", "created_at"])
    op.create_index("ix_tickets_created_at", "tickets", ["created_at"])
    op.create_index("ix_tickets_resolved_at", "tickets", ["resolved_at"])


def downgrade() -> None:
    op.drop_index("ix_tickets_resolved_at", "tickets")
    op.drop_index("ix_tickets_created_at", "tickets")
    op.drop_index("ix_events_kind_created_at", "events")
    for table in SIMULATED:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("simulated")
