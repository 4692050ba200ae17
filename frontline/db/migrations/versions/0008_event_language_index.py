"""events: a partial index on the questions asked in a language the KB is not written in, for
the overview's "questions in other languages" figure (rare rows: read without scanning the
period's decisions)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 23:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

WHERE = sa.text("language IS NOT NULL")
# Kind and time, then the figure's columns, so the index alone answers its count (and SQLite, which
# keeps no statistics here, prefers it to the kind-and-time index over every decision).
COLUMNS = ["kind", "created_at", "channel", "simulated", "language"]


def upgrade() -> None:
    op.create_index("ix_events_language_created_at", "events", COLUMNS,
                    postgresql_where=WHERE, sqlite_where=WHERE)


def downgrade() -> None:
    op.drop_index("ix_events_language_created_at", "events")
