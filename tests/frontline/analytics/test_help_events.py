"""The help centre's events in the ops figures: "Was this article helpful?" votes count as the
customers' yes / no of the article (not as a deflection: a page vote belongs to no chat), and a
help-centre search with no good result is a KB gap like an abstained chat question."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from frontline.analytics import EventLog
from frontline.analytics.gaps import SOURCES, GapFinder
from frontline.analytics.metrics import Metrics
from frontline.analytics.periods import last_days
from frontline.db import Database


def test_help_votes_and_empty_searches_reach_helpfulness_and_gaps(database: Database) -> None:
    events = EventLog(database)
    # A chat: refund-policy answered, then a "yes" — one deflected conversation.
    events.record("decision", session_id="chat-1", query="how do refunds work",
                  decision="answer", article_id="refund-policy", ambiguous=False)
    events.record("feedback", session_id="chat-1", article_id="refund-policy", deflected=True)
    # Help-centre page votes: two yes and one no (with what was missing) on the same article.
    for vote in ("yes", "yes", "no"):
        events.record("help_vote", channel="help", article_id="refund-policy", decision=vote,
                      hits=[{"missing": "steps"}] if vote == "no" else [])
    events.record("help_vote", channel="help", article_id="reset-password", decision="no")
    # A help-centre search that found nothing good enough, and a chat question abstained on.
    events.record("help_search", channel="help", query="invoice in japanese yen",
                  decision="abstain")
    events.record("decision", session_id="chat-2", query="do you sell gift cards",
                  decision="abstain", ambiguous=False)

    period = last_days(1, UTC, datetime.now(UTC) + timedelta(minutes=1))
    rows = {row.article_id: row for row in Metrics(database).articles(period)}
    refund = rows["refund-policy"]
    assert (refund.shown, refund.yes, refund.no) == (1, 3, 1)  # 1 chat yes + 2 page yes
    assert refund.deflected_sessions == 1  # the page votes are not deflections
    assert (rows["reset-password"].yes, rows["reset-password"].no) == (0, 1)

    finder = GapFinder(Metrics(database), lambda texts: None)  # type: ignore[arg-type,return-value]
    gaps = sorted((q.source, q.text) for q in finder.questions(period))
    assert gaps == [("abstain", "do you sell gift cards"),
                    ("help_search", "invoice in japanese yen")]
    assert "help-centre" in SOURCES["help_search"]
