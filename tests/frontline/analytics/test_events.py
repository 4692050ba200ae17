"""The event log on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from frontline.analytics import EventLog
from frontline.db import Database


def test_events_record_outcomes(database: Database) -> None:
    log = EventLog(database)
    log.record("decision", session_id="s1-abcdef", query="refund for jane@example.com",
               hits=[{"article_id": "refund-policy", "score": 0.8, "certainty": 0.6}],
               decision="answer", certainty=0.6, thresholds={"answer": 0.5}, ambiguous=False,
               article_id="refund-policy")
    log.record("csat", session_id="s1-abcdef", csat=5)
    events = log.for_session("s1-abcdef")
    assert [e.kind for e in events] == ["decision", "csat"]
    assert events[0].query == "refund for [email]" and events[0].certainty == 0.6
    assert events[0].thresholds == {"answer": 0.5} and events[0].ambiguous is False
    with pytest.raises(ValueError, match="unknown event kind"):
        log.record("nonsense")
