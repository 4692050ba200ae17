"""privacy: the email tokens that stand in for customers' addresses in Rasa's tracker store

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "email_tokens",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("token", sa.String(64), nullable=False, unique=True),
        sa.Column("session_id", sa.String(128), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("session_id", "email", name="uq_email_tokens_session_email"),
    )
    op.create_index("ix_email_tokens_email", "email_tokens", ["email"])
    op.create_index("ix_email_tokens_created_at", "email_tokens", ["created_at"])


def downgrade() -> None:
    op.drop_table("email_tokens")
