"""ops analytics: each ticket's status history (exact backlog and reopened tickets), and
covering indexes for the reports (events by kind and time with the columns the figures read,
a ticket's first rep reply)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# What the overview's event queries read besides kind and time: an index holding them answers
# those queries from the index alone (PostgreSQL: INCLUDE columns; SQLite: trailing ones).
REPORT_COLUMNS = ["session_id", "channel", "decision", "ambiguous", "deflected", "csat",
                  "simulated"]


def upgrade() -> None:
    op.create_table(
        "ticket_status_changes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ticket_id", sa.Integer(), sa.ForeignKey("tickets.id"), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("author", sa.String(length=128), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_ticket_status_changes_ticket_id", "ticket_status_changes",
                    ["ticket_id", "id"])
    op.create_index("ix_ticket_status_changes_created_at", "ticket_status_changes",
                    ["created_at"])
    if op.get_bind().dialect.name == "postgresql":
        op.create_index("ix_events_report", "events", ["kind", "created_at"],
                        postgresql_include=REPORT_COLUMNS)
    else:
        op.create_index("ix_events_report", "events", ["kind", "created_at", *REPORT_COLUMNS])
    op.create_index("ix_messages_ticket_sender_created_at", "messages",
                    ["ticket_id", "sender", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_messages_ticket_sender_created_at", "messages")
    op.drop_index("ix_events_report", "events")
    op.drop_index("ix_ticket_status_changes_created_at", "ticket_status_changes")
    op.drop_index("ix_ticket_status_changes_ticket_id", "ticket_status_changes")
    op.drop_table("ticket_status_changes")
