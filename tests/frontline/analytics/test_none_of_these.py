""""None of these" after a clarify is a KB gap of its own: the KB feedback action records it
(``clarify_none``), and the gaps tell it apart from a customer who left without choosing —
the real action, the real retriever and the real gaps query."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.actions.knowledge import ActionAnswerFromKB, ActionKBFeedback
from frontline.analytics.gaps import SOURCES, GapFinder
from frontline.analytics.metrics import Metrics
from frontline.analytics.periods import last_days
from frontline.db import Database
from frontline.knowledge import KnowledgeBase
from frontline.services import Services
from tests.bot.test_actions import run, slot, tracker
from tests.conftest import make_settings


@pytest.fixture
def services(sample_index: Path, real_embedder, tmp_path: Path) -> Services:  # type: ignore[no-untyped-def]
    settings = make_settings(sample_index, sample_index / "kb",
                             database_url=f"sqlite:///{tmp_path / 'db.sqlite'}")
    db = Database(settings.database_url)
    db.migrate()
    return Services.build(settings, knowledge=KnowledgeBase(settings, real_embedder), db=db)


def test_none_of_these_is_recorded_and_told_apart_from_leaving(
        services: Services, real_embedder) -> None:  # type: ignore[no-untyped-def]
    # One customer says "None of these" to the options, another leaves without choosing.
    for sender in ("said-none", "left"):
        _, events = run(ActionAnswerFromKB(services), tracker("login problems", sender=sender))
        assert slot(events, "kb_state") == "clarify"
    messages, _ = run(ActionKBFeedback(services), tracker(
        "None of these", intent="deny", slots={"kb_state": "clarify"}, sender="said-none"))
    assert messages and "ticket" in messages[-1]["text"]  # a ticket or a person is offered
    recorded = services.events.for_session("said-none", "clarify_none")
    assert [(e.query, e.decision) for e in recorded] == [("login problems", "clarify")]
    assert services.events.for_session("said-none", "feedback") == []  # not a wrong answer
    assert services.events.for_session("left", "clarify_none") == []

    finder = GapFinder(Metrics(services.db), real_embedder.embed)
    now = datetime.now(UTC) + timedelta(minutes=1)
    gaps = finder.questions(last_days(1, UTC, now))  # type: ignore[arg-type]
    assert sorted((q.source, q.session_id) for q in gaps) == [
        ("clarify_left", "left"), ("none_of_these", "said-none")]
    assert SOURCES["none_of_these"] != SOURCES["clarify_left"]
    cluster = finder.cluster(gaps, last_days(1, UTC, now))  # type: ignore[arg-type]
    assert sum(c.sources["none_of_these"] for c in cluster) == 1
