""""Why did it change?" on the seeded example, against the decomposition computed by hand in
docs/metrics.md; the parts always add up to the change."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from frontline.analytics.breakdown import DIMENSIONS, Breakdowns, Unit, decompose
from frontline.analytics.metrics import Metrics
from frontline.analytics.periods import Period
from frontline.db import Database
from tests.frontline.analytics.seed import CATALOG, FIRST, LAST, seed

WEEK = Period(FIRST, LAST, ZoneInfo("UTC"))
approx = pytest.approx


@pytest.fixture
def breakdowns(database: Database) -> Breakdowns:
    seed(database)
    return Breakdowns(Metrics(database, catalog=lambda: CATALOG))


def parts(result, dim: str) -> dict[str, tuple[float, float, float | None]]:  # type: ignore[no-untyped-def]
    return {p.segment: (p.rate_effect, p.mix_effect, result.share(p))
            for p in result.parts[dim]}


def test_csat_fell_one_point_mostly_in_abstained_conversations(breakdowns: Breakdowns) -> None:
    result = breakdowns.explain("csat", WEEK)
    assert (result.before, result.now, result.n0, result.n1) == (
        approx(14 / 3), approx(11 / 3), 3, 3)
    assert result.change == approx(-1.0)
    assert parts(result, "priority") == {
        "(no ticket)": (approx(-1 / 3), approx(0), approx(1 / 3)),
        "high": (approx(-2 / 3), approx(0), approx(2 / 3)),
    }
    outcome = parts(result, "outcome")
    assert outcome["answer"] == (approx(-5 / 36), approx(-5 / 36), approx(5 / 18))
    assert outcome["abstain"] == (approx(0), approx(-13 / 18), approx(13 / 18))
    article = parts(result, "article")
    assert article["refund-policy"][1] == approx(-5 / 18)
    assert article["(no article)"][1] == approx(-13 / 18)
    topic = parts(result, "topic")
    assert topic["billing"][0] == approx(-1 / 3) and topic["account"] == (0, 0, 0)
    assert result.headline() == ("CSAT, mean (1–5) fell 1.00 (4.67 → 3.67); 72 % of the fall "
                                 "is decision outcome abstain.")
    for dim in DIMENSIONS:  # exact: the parts add up to the change
        assert sum(p.contribution for p in result.parts[dim]) == approx(-1.0)


def test_confirmed_deflection_by_decision_outcome(breakdowns: Breakdowns) -> None:
    result = breakdowns.explain("deflection_confirmed", WEEK)
    assert result.change == approx(2 / 9 - 1 / 3)
    outcome = {p.segment: p.contribution for p in result.parts["outcome"]}
    assert outcome == {"answer": approx(-0.0648148), "abstain": approx(0.0154321),
                       "clarify": approx(-0.0617284)}
    assert [p.segment for p in result.parts["channel"]] == ["webchat"]


def test_time_to_resolution_by_channel_and_priority(breakdowns: Breakdowns) -> None:
    result = breakdowns.explain("resolution", WEEK)
    assert (result.before, result.now) == (approx(2.5), approx(148 / 3))
    channel = {p.segment: (p.rate_effect, p.mix_effect) for p in result.parts["channel"]}
    assert channel == {"webchat": (approx(59.5 * 5 / 6), approx(-19 / 9)),
                       "email": (approx(0), approx(-23 / 36))}
    priority = {p.segment: p.contribution for p in result.parts["priority"]}
    assert priority == {"normal": approx(42.680556), "high": approx(4.152778)}
    article = {p.segment for p in result.parts["article"]}
    assert article == {"(no article)", "export-your-data", "cancel-subscription"}


def test_decompose_is_exact_for_any_mix() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)

    def unit(value: float, seg: str) -> Unit:
        return Unit("k", value, at, {"x": seg})

    before = [unit(1, "a")] * 3 + [unit(0, "b")] * 7
    now = [unit(1, "a")] * 8 + [unit(0, "b")] * 2 + [unit(1, "c")] * 5
    result = decompose(before, now, "x")
    change = 13 / 15 - 3 / 10
    assert sum(p.contribution for p in result) == approx(change)
    a = next(p for p in result if p.segment == "a")
    assert a.rate_effect == 0  # "a" always converts: its whole part is mix
    assert decompose([], now, "x") == []
