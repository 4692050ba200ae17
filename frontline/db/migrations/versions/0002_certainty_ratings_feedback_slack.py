"""events carry certainty, thresholds and ambiguity; rep ratings; process feedback; the Slack
app's thread map, retry queue and seen events

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 15:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.alter_column("top_score", new_column_name="certainty")
        batch.add_column(sa.Column("thresholds", sa.JSON(), nullable=False,
                                   server_default=sa.text("'{}'")))
        batch.add_column(sa.Column("ambiguous", sa.Boolean(), nullable=True))
    # top_score held the cosine score; certainty is what the decision compared. Older rows
    # have no certainty recorded: clear it rather than chart a number the product never used.
    op.execute("UPDATE events SET certainty = NULL")
    op.create_table(
        "ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rep", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("article_id", sa.String(length=200), nullable=False),
        sa.Column("helpful", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_ratings_rep", "ratings", ["rep"])
    op.create_index("ix_ratings_article_id", "ratings", ["article_id"])
    op.create_index("ix_ratings_created_at", "ratings", ["created_at"])
    op.create_table(
        "process_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rep", sa.String(length=64), nullable=False),
        sa.Column("rep_name", sa.String(length=128), nullable=False),
        sa.Column("area", sa.String(length=32), nullable=False),
        sa.Column("what_happened", sa.Text(), nullable=False),
        sa.Column("what_would_help", sa.Text(), nullable=False),
        sa.Column("impact", sa.String(length=16), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reply", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_process_feedback_rep", "process_feedback", ["rep"])
    op.create_index("ix_process_feedback_area", "process_feedback", ["area"])
    op.create_index("ix_process_feedback_status", "process_feedback", ["status"])
    op.create_index("ix_process_feedback_created_at", "process_feedback", ["created_at"])
    op.create_table(
        "slack_threads",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("ts", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"]),
        sa.PrimaryKeyConstraint("ticket_id"),
    )
    op.create_index("ix_slack_threads_ts", "slack_threads", ["ts"])
    op.create_table(
        "slack_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("method", sa.String(length=64), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_slack_outbox_key", "slack_outbox", ["key"])
    op.create_index("ix_slack_outbox_status", "slack_outbox", ["status"])
    op.create_table(
        "slack_events_seen",
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
    )
    op.create_index("ix_slack_events_seen_created_at", "slack_events_seen", ["created_at"])


def downgrade() -> None:
    for table in ("slack_events_seen", "slack_outbox", "slack_threads", "process_feedback",
                  "ratings"):
        op.drop_table(table)
    with op.batch_alter_table("events") as batch:
        batch.drop_column("ambiguous")
        batch.drop_column("thresholds")
        batch.alter_column("certainty", new_column_name="top_score")
