"""Two weeks of support activity whose every figure is computed by hand in
``docs/metrics.md`` ("Worked example") and asserted in the tests next to this file.

The period is 2026-03-09 … 2026-03-15 (UTC), compared with 2026-03-02 … 2026-03-08.
Conversations s1…s9 are this week's, p1…p6 last week's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from frontline.analytics.metrics import ArticleInfo
from frontline.db import Database, Event, Message, ProcessFeedback, Rating, Ticket

FIRST, LAST = date(2026, 3, 9), date(2026, 3, 15)
PREV_FIRST, PREV_LAST = date(2026, 3, 2), date(2026, 3, 8)
NOW = datetime(2026, 3, 15, 23, 0, tzinfo=UTC)

CATALOG = {
    "reset-password": ArticleInfo("Reset your password", ("account",)),
    "refund-policy": ArticleInfo("Refund policy", ("billing",)),
    "cancel-subscription": ArticleInfo("Cancel your subscription", ("billing",)),
    "export-your-data": ArticleInfo("Export your data", ("data",)),
    "refund-exceptions": ArticleInfo("Refund exceptions", ("billing",), "internal"),
}


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """March 2026, UTC."""
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


@dataclass
class Seeded:
    tickets: dict[str, int] = field(default_factory=dict)  # name -> ticket number
    sessions: list[str] = field(default_factory=list)


def seed(db: Database, *, simulated: frozenset[str] = frozenset()) -> Seeded:
    """Write the example; sessions named in ``simulated`` (and their tickets) are marked as
    made by ``frontline simulate``."""
    out = Seeded()
    rows: list[Any] = []

    def ev(kind: str, session: str | None, when: datetime, **fields: Any) -> None:
        rows.append(Event(kind=kind, session_id=session, created_at=when,
                          simulated=session in simulated, **fields))

    def question(session: str, when: datetime, query: str, outcome: str,
                 article: str | None = None, channel: str = "webchat") -> None:
        ev("decision", session, when, query=query, decision=outcome, ambiguous=False,
           article_id=article if outcome == "answer" else None, channel=channel,
           certainty=0.5, audience="internal" if channel == "slack" else "public")

    def follow_up(session: str, when: datetime, query: str, article: str) -> None:
        """An article picked after a clarify, or the next-best one after a "no"."""
        ev("decision", session, when, query=query, decision="answer", article_id=article)

    def feedback(session: str, when: datetime, article: str, helped: bool) -> None:
        ev("feedback", session, when, article_id=article, deflected=helped)

    # -- this week ---------------------------------------------------------------------------
    question("s1", at(10, 9), "I forgot my password", "answer", "reset-password")
    feedback("s1", at(10, 9, 1), "reset-password", True)
    ev("csat", "s1", at(10, 9, 2), csat=5)
    ev("nps", "s1", at(10, 9, 3), csat=9)

    question("s2", at(10, 10), "how do refunds work", "answer", "refund-policy")
    feedback("s2", at(10, 10, 1), "refund-policy", False)
    follow_up("s2", at(10, 10, 1), "how do refunds work", "cancel-subscription")
    feedback("s2", at(10, 10, 2), "cancel-subscription", True)
    ev("csat", "s2", at(10, 10, 3), csat=4)
    ev("nps", "s2", at(10, 10, 4), csat=6)

    question("s3", at(11, 9), "refund for annual plan", "answer", "refund-policy")

    question("s4", at(11, 12), "can I get a refund after 30 days", "answer", "refund-policy")
    feedback("s4", at(11, 12, 1), "refund-policy", False)
    ev("ticket", "s4", at(11, 12, 5))
    ev("csat_asked", "s4", at(12, 10))  # the chat ticket was resolved …

    question("s5", at(12, 9), "do you integrate with SAP", "abstain")
    ev("handoff", "s5", at(12, 9, 2), deflected=False)
    ev("handoff_end", "s5", at(12, 13, 2))
    ev("csat_asked", "s5", at(12, 13, 2))
    ev("csat", "s5", at(12, 13, 10), csat=2)
    ev("nps", "s5", at(12, 13, 11), csat=10)

    question("s6", at(12, 15), "billing question", "clarify")
    ev("clarify_none", "s6", at(12, 15, 1), query="billing question")  # "None of these"

    question("s7", at(13, 9), "export data", "clarify")
    follow_up("s7", at(13, 9, 1), "export data", "export-your-data")  # picked

    question("s8", at(14, 23), "password reset link expired", "answer", "reset-password")
    ev("ticket", "s8", at(15, 22))  # 23 h after the answer: not assumed deflected

    question("s9", at(15, 20), "change my password", "answer", "reset-password")
    ev("ticket", "s9", at(16, 21))  # 25 h after: outside the 24 h window

    # Reps in Slack: assist questions, ratings, a flagged gap.
    question("slack-U1-1", at(10, 11), "how do I approve a goodwill refund", "answer",
             "refund-exceptions", channel="slack")
    question("slack-U1-2", at(11, 11), "can we connect Tasklane to SAP", "abstain",
             channel="slack")
    ev("gap_flag", None, at(13, 11), query="SAP integration?", channel="slack")

    # -- last week ---------------------------------------------------------------------------
    question("p1", at(3, 9), "reset my password", "answer", "reset-password")
    feedback("p1", at(3, 9, 1), "reset-password", True)
    ev("csat", "p1", at(3, 9, 2), csat=5)

    question("p2", at(3, 10), "refund policy", "answer", "refund-policy")
    feedback("p2", at(3, 10, 1), "refund-policy", True)
    ev("csat", "p2", at(3, 10, 2), csat=5)

    question("p3", at(4, 8), "are refunds possible", "answer", "refund-policy")

    question("p4", at(4, 9), "is there an SAP integration?", "abstain")
    ev("ticket", "p4", at(4, 9, 2))

    question("p5", at(6, 9), "export my projects", "answer", "export-your-data")
    ev("handoff", "p5", at(6, 9, 5), deflected=False)
    ev("csat_asked", "p5", at(6, 12, 5))
    ev("csat", "p5", at(6, 12, 10), csat=4)

    question("p6", at(5, 9, 58), "how do I cancel", "answer", "cancel-subscription")
    feedback("p6", at(5, 9, 59), "cancel-subscription", False)
    ev("ticket", "p6", at(5, 10))

    with db.session() as session:
        session.add_all(rows)
        session.add_all([
            Rating(rep="U1", query="goodwill refund", article_id="refund-exceptions",
                   helpful=True, created_at=at(10, 11, 1)),
            Rating(rep="U2", query="refund after 14 days", article_id="refund-policy",
                   helpful=False, reason="outdated", created_at=at(11, 11, 5)),
            ProcessFeedback(rep="U1", area="tooling", what_happened="Backstage times out",
                            impact="high", status="new", created_at=at(11, 14),
                            updated_at=at(11, 14)),
            ProcessFeedback(rep="U2", area="knowledge_base",
                            what_happened="Refund article is outdated", impact="medium",
                            status="planned", created_at=at(12, 14), updated_at=at(12, 14)),
            ProcessFeedback(rep="U3", area="process", what_happened="Escalation unclear",
                            impact="low", status="done", created_at=at(4, 14),
                            updated_at=at(5, 14)),
        ])

        def ticket(name: str, session_id: str | None, created: datetime, *,
                   priority: str = "normal", channel: str = "webchat",
                   resolved: datetime | None = None, reply_after_h: float | None = None,
                   tried: tuple[str, ...] = ()) -> None:
            t = Ticket(email="customer@example.com", summary=f"ticket {name}",
                       session_id=session_id, channel=channel, priority=priority,
                       handoff=priority == "high", created_at=created, updated_at=created,
                       status="resolved" if resolved else "open", resolved_at=resolved,
                       tried_articles=list(tried), simulated=session_id in simulated)
            session.add(t)
            session.flush()
            t.number = 10000 + t.id
            out.tickets[name] = t.number
            if reply_after_h is not None:
                session.add(Message(session_id=session_id or "", ticket_id=t.id, sender="rep",
                                    text="Hi, Maria here", data={"author": "Maria"},
                                    created_at=created + timedelta(hours=reply_after_h),
                                    simulated=session_id in simulated))

        ticket("T0", "p6", at(5, 10), resolved=at(10, 10), reply_after_h=2,
               tried=("cancel-subscription",))
        ticket("Tp1", "p4", at(4, 9, 2), resolved=at(4, 11, 2))
        ticket("Tp2", "p5", at(6, 9, 5), priority="high", resolved=at(6, 12, 5),
               reply_after_h=0.25, tried=("export-your-data",))
        ticket("T4", "s4", at(11, 12, 5), tried=("refund-policy",))  # resolved, reopened
        session.add(Event(kind="reopen", session_id="s4", created_at=at(13, 9),
                          ticket_id=out.tickets["T4"] - 10000, simulated="s4" in simulated))
        ticket("T5", "s5", at(12, 9, 2), priority="high", resolved=at(12, 13, 2),
               reply_after_h=1)
        ticket("T8", "s8", at(15, 22), reply_after_h=0.5, tried=("reset-password",))
        ticket("T9", "s9", at(16, 21))
        ticket("T11", None, at(13, 14), channel="email", resolved=at(14, 14))
        # A transcript for the drill-down.
        for sender, text, minute in (("customer", "I forgot my password, I'm ann@example.com",
                                      0), ("bot", "**Reset your password** …", 0),
                                     ("customer", "Yes, that helped", 1)):
            session.add(Message(session_id="s1", sender=sender, text=text,
                                created_at=at(10, 9, minute), simulated="s1" in simulated))
    out.sessions = sorted({r.session_id for r in rows if r.session_id})
    return out
