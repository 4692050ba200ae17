"""ops analytics: an exact daily rollup of the overview's event figures (answer mix, surveys,
deflection), kept by local day of the dashboard's time zone, and the triggers that mark the
hours whose events changed so the rollup is refreshed for them (``frontline.analytics.rollup``)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# The event kinds the rollup reads; a change to another kind (a help-centre view) marks nothing.
KINDS = "('decision', 'feedback', 'csat', 'nps', 'ticket', 'handoff', 'csat_asked')"
# The columns whose change can change a figure (not the query text a purge clears).
COLUMNS = "kind, session_id, channel, decision, ambiguous, deflected, csat, created_at, simulated"

# PostgreSQL: one mark per hour of each statement's rows (a bulk insert of 1,000 rows marks a
# few hours). Marks are plain rows, never merged: a refresh deletes only those it took, so an
# event committed while it runs keeps its mark.
PG_HOUR = "floor(extract(epoch FROM created_at) / 3600)::bigint"
PG_STATEMENT = f"""
CREATE FUNCTION analytics_mark_{{rows}}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO analytics_dirty (hour)
    SELECT DISTINCT {PG_HOUR} FROM {{rows}} WHERE kind IN {KINDS};
    RETURN NULL;
END $$
"""
PG_UPDATE = f"""
CREATE FUNCTION analytics_mark_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.kind IN {KINDS} THEN
        INSERT INTO analytics_dirty (hour)
        VALUES (floor(extract(epoch FROM OLD.created_at) / 3600)::bigint);
    END IF;
    IF NEW.kind IN {KINDS} THEN
        INSERT INTO analytics_dirty (hour)
        VALUES (floor(extract(epoch FROM NEW.created_at) / 3600)::bigint);
    END IF;
    RETURN NULL;
END $$
"""
PG_TRUNCATE = """
CREATE FUNCTION analytics_forget() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM analytics_days;
    DELETE FROM analytics_spans;
    DELETE FROM analytics_day_counts;
    DELETE FROM analytics_day_sessions;
    DELETE FROM analytics_dirty;
    RETURN NULL;
END $$
"""


def _sqlite_hour(row: str) -> str:
    return f"CAST(strftime('%s', {row}.created_at) AS INTEGER) / 3600"


def upgrade() -> None:
    op.create_table(
        "analytics_dirty",  # epoch hours (UTC) whose events changed since the last refresh
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("hour", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "analytics_rollup_zone",  # the one time zone the rollup's days are in
        sa.Column("zone", sa.String(64), primary_key=True),
    )
    op.create_table(
        "analytics_days",  # the local days rolled up (and still exact)
        sa.Column("zone", sa.String(64), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
    )
    op.create_table(
        "analytics_day_counts",  # Metrics.day_counts per day, by the simulated flag
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("zone", sa.String(64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("decision", sa.String(16), nullable=True),
        sa.Column("question", sa.Boolean(), nullable=False),
        sa.Column("deflected", sa.Boolean(), nullable=True),
        sa.Column("csat", sa.Integer(), nullable=True),
        sa.Column("rep", sa.Boolean(), nullable=False),
        sa.Column("simulated", sa.Boolean(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
    )
    op.create_index("ix_analytics_day_counts_zone_day", "analytics_day_counts", ["zone", "day"])
    op.create_table(
        "analytics_day_sessions",  # deflection and CSAT asks of the conversations of one day
        sa.Column("zone", sa.String(64), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("hide_simulated", sa.Boolean(), primary_key=True),
        sa.Column("sessions", sa.Integer(), nullable=False),
        sa.Column("answered", sa.Integer(), nullable=False),
        sa.Column("confirmed", sa.Integer(), nullable=False),
        sa.Column("assumed", sa.Integer(), nullable=False),
        sa.Column("csat_asked", sa.Integer(), nullable=False),
        sa.Column("csat_rated", sa.Integer(), nullable=False),
    )
    op.create_table(
        "analytics_spans",  # conversations whose events are on more than one local day
        sa.Column("zone", sa.String(64), primary_key=True),
        sa.Column("session_id", sa.String(128), primary_key=True),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_analytics_spans_zone_last_at", "analytics_spans", ["zone", "last_at"])
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(PG_STATEMENT.format(rows="new_rows"))
        op.execute(PG_STATEMENT.format(rows="old_rows"))
        op.execute(PG_UPDATE)
        op.execute(PG_TRUNCATE)
        op.execute("CREATE TRIGGER analytics_events_insert AFTER INSERT ON events "
                   "REFERENCING NEW TABLE AS new_rows "
                   "FOR EACH STATEMENT EXECUTE FUNCTION analytics_mark_new_rows()")
        op.execute("CREATE TRIGGER analytics_events_delete AFTER DELETE ON events "
                   "REFERENCING OLD TABLE AS old_rows "
                   "FOR EACH STATEMENT EXECUTE FUNCTION analytics_mark_old_rows()")
        op.execute(f"CREATE TRIGGER analytics_events_update AFTER UPDATE OF {COLUMNS} ON events "
                   f"FOR EACH ROW EXECUTE FUNCTION analytics_mark_update()")
        op.execute("CREATE TRIGGER analytics_events_truncate AFTER TRUNCATE ON events "
                   "FOR EACH STATEMENT EXECUTE FUNCTION analytics_forget()")
    else:
        # SQLite: one mark per hour. A refresh holds the one write lock from taking the marks
        # to its commit, so no event can be written in between and its mark merged away.
        op.create_index("ux_analytics_dirty_hour", "analytics_dirty", ["hour"], unique=True)
        new, old = _sqlite_hour("NEW"), _sqlite_hour("OLD")
        op.execute(f"CREATE TRIGGER analytics_events_insert AFTER INSERT ON events "
                   f"WHEN NEW.kind IN {KINDS} BEGIN "
                   f"INSERT OR IGNORE INTO analytics_dirty (hour) VALUES ({new}); END")
        op.execute(f"CREATE TRIGGER analytics_events_delete AFTER DELETE ON events "
                   f"WHEN OLD.kind IN {KINDS} BEGIN "
                   f"INSERT OR IGNORE INTO analytics_dirty (hour) VALUES ({old}); END")
        op.execute(f"CREATE TRIGGER analytics_events_update AFTER UPDATE OF {COLUMNS} ON events "
                   f"WHEN OLD.kind IN {KINDS} OR NEW.kind IN {KINDS} BEGIN "
                   f"INSERT OR IGNORE INTO analytics_dirty (hour) VALUES ({old}); "
                   f"INSERT OR IGNORE INTO analytics_dirty (hour) VALUES ({new}); END")
    # The events already there: every hour they fall in is to be rolled up.
    hour = (PG_HOUR if bind.dialect.name == "postgresql"
            else "CAST(strftime('%s', created_at) AS INTEGER) / 3600")
    op.execute(f"INSERT INTO analytics_dirty (hour) SELECT DISTINCT {hour} FROM events "
               f"WHERE kind IN {KINDS}")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for name in ("analytics_events_insert", "analytics_events_delete",
                     "analytics_events_update", "analytics_events_truncate"):
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON events")
        for function in ("analytics_mark_new_rows", "analytics_mark_old_rows",
                         "analytics_mark_update", "analytics_forget"):
            op.execute(f"DROP FUNCTION IF EXISTS {function}()")
    else:
        for name in ("analytics_events_insert", "analytics_events_delete",
                     "analytics_events_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    for name in ("analytics_spans", "analytics_day_sessions", "analytics_day_counts",
                 "analytics_days", "analytics_rollup_zone", "analytics_dirty"):
        op.drop_table(name)
