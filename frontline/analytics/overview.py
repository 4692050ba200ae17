"""The headline figures of a period, each with the previous period's value and a daily trend:
what the dashboard's overview shows and ``frontline report`` prints."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from frontline.analytics.metrics import (
    ALL,
    Answers,
    Csat,
    Deflection,
    Failures,
    Languages,
    Metrics,
    Nps,
    Scope,
    SlackAssist,
    Tickets,
    ratio,
)
from frontline.analytics.periods import Period

# unit: share (0-1, shown as %), count, hours, score (CSAT 1-5), nps (-100..100)
# better: up | down | none (which direction is good news)


@dataclass
class Figure:
    key: str
    label: str
    value: float | None
    previous: float | None
    unit: str
    better: str
    daily: list[tuple[date, float | None]]
    detail: str = ""  # what the value is made of, e.g. "12 of 40 conversations"
    drill: str = ""  # the drill-down listing the records behind it
    why: str | None = None  # the metric "why did it change?" breaks down

    @property
    def change(self) -> float | None:
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous

    @property
    def trend(self) -> str:
        """better / worse / same / n/a, for the arrow and its colour."""
        change = self.change
        if change is None:
            return "n/a"
        if abs(change) < 1e-9:
            return "same"
        if self.better == "none":
            return "up" if change > 0 else "down"
        good = (change > 0) == (self.better == "up")
        return "better" if good else "worse"

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key, "label": self.label, "value": self.value,
            "previous": self.previous, "change": self.change, "unit": self.unit,
            "better": self.better, "detail": self.detail,
            "daily": [{"day": d.isoformat(), "value": v} for d, v in self.daily],
        }


@dataclass
class PeriodData:
    period: Period
    deflection: Deflection
    answers: Answers
    csat: Csat
    nps: Nps
    tickets: Tickets
    slack: SlackAssist
    failures: Failures
    languages: Languages


@dataclass
class Overview:
    period: Period
    previous: Period
    figures: list[Figure]
    current: PeriodData
    before: PeriodData
    extra: dict[str, Any] = field(default_factory=dict)

    def figure(self, key: str) -> Figure:
        for figure in self.figures:
            if figure.key == key:
                return figure
        raise KeyError(key)

    def tables(self) -> dict[str, tuple[list[str], list[list[Any]]]]:
        """Every table the overview shows (the CSV exports)."""
        out: dict[str, tuple[list[str], list[list[Any]]]] = {}
        out["figures"] = (["figure", "value", "previous", "change", "unit", "detail"], [
            [f.label, f.value, f.previous, f.change, f.unit, f.detail] for f in self.figures])
        days = self.period.dates()
        out["daily"] = (["day", *[f.key for f in self.figures]], [
            [d.isoformat(), *[dict(f.daily).get(d) for f in self.figures]] for d in days])
        dist_now, dist_before = self.current.csat.distribution, self.before.csat.distribution
        out["csat_distribution"] = (["score", "ratings", "previous"], [
            [s, dist_now[s], dist_before[s]] for s in range(1, 6)])
        mix_now = self.current.answers.total().questions
        mix_before = self.before.answers.total().questions
        out["answer_mix"] = (["outcome", "questions", "share", "previous", "previous share"], [
            [o, mix_now[o], ratio(mix_now[o], sum(mix_now.values())), mix_before[o],
             ratio(mix_before[o], sum(mix_before.values()))] for o in ("answer", "clarify",
                                                                      "abstain")])
        for group in ("priority", "channel"):
            out[f"tickets_by_{group}"] = (
                [group, "opened", "first response median h", "first response p90 h",
                 "resolved", "resolution median h", "resolution p90 h"],
                ticket_groups(self.current.tickets, group))
        nps = self.current.nps
        out["nps"] = (["group", "answers"], [["promoters (9-10)", nps.promoters],
                                              ["passives (7-8)", nps.passives],
                                              ["detractors (0-6)", nps.detractors]])
        return out


def ticket_groups(tickets: Tickets, group: str) -> list[list[Any]]:
    index = 1 if group == "priority" else 2
    names = sorted(set(tickets.opened_by[group]) | set(tickets.first_response.groups(index))
                   | set(tickets.resolution.groups(index)))
    rows = []
    for name in names:
        fr, res = tickets.first_response, tickets.resolution
        if group == "priority":
            stats = [fr.median(priority=name), fr.p90(priority=name), res.count(priority=name),
                     res.median(priority=name), res.p90(priority=name)]
        else:
            stats = [fr.median(channel=name), fr.p90(channel=name), res.count(channel=name),
                     res.median(channel=name), res.p90(channel=name)]
        rows.append([name, tickets.opened_by[group][name], *stats])
    return rows


def collect(metrics: Metrics, period: Period, scope: Scope) -> PeriodData:
    with metrics.reading():  # one connection and transaction for the period's queries
        counts = metrics.day_counts(period, scope)
        deflection = metrics.deflection(period, scope)
        return PeriodData(period, deflection, metrics.answers(period, scope, counts),
                          metrics.csat(period, scope, counts, deflection),
                          metrics.nps(period, scope, counts), metrics.tickets(period, scope),
                          metrics.slack_assist(period, scope, counts),
                          metrics.failures(period, scope), metrics.languages(period, scope))


def build(metrics: Metrics, period: Period, scope: Scope = ALL) -> Overview:
    """Both periods' figures: about a dozen indexed aggregate queries per period, the two
    periods on two connections at once."""
    metrics.prepare(period.previous(), period)
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="overview") as pool:
        later = pool.submit(collect, metrics, period.previous(), scope)
        now = collect(metrics, period, scope)
        before = later.result()
    return Overview(period, before.period, figures(now, before), now, before)


def figures(now: PeriodData, before: PeriodData) -> list[Figure]:
    days = now.period.dates()
    out: list[Figure] = []

    def add(key: str, label: str, unit: str, better: str,
            value: Callable[[PeriodData], float | None],
            daily: Callable[[date], float | None], detail: str, drill: str,
            why: str | None = None) -> None:
        out.append(Figure(key, label, value(now), value(before), unit, better,
                          [(d, daily(d)) for d in days], detail, drill, why))

    def dday(d: date) -> Any:
        return now.deflection.days.get(d)

    defl = now.deflection.total()
    add("kb_conversations", "Conversations that asked the KB", "count", "none",
        lambda p: p.deflection.total().sessions,
        lambda d: dday(d).sessions if dday(d) else 0,
        f"{defl.answered} got an answer", "conversations")
    add("deflection_confirmed", "Deflection, confirmed", "share", "up",
        lambda p: ratio(p.deflection.total().confirmed, p.deflection.total().sessions),
        lambda d: ratio(dday(d).confirmed, dday(d).sessions) if dday(d) else None,
        f"{defl.confirmed} of {defl.sessions} conversations said an answer helped",
        "conversations?filter=confirmed", "deflection_confirmed")
    add("deflection_assumed", "Deflection, assumed", "share", "up",
        lambda p: ratio(p.deflection.total().assumed, p.deflection.total().sessions),
        lambda d: ratio(dday(d).assumed, dday(d).sessions) if dday(d) else None,
        f"{defl.assumed} of {defl.sessions} answered with no ticket, handoff or no in 24 h",
        "conversations?filter=assumed", "deflection_assumed")

    def aday(d: date) -> Any:
        return now.answers.days.get(d)

    ans = now.answers.total()
    questions = sum(ans.questions.values())
    for outcome, label, better in (("answer", "Questions answered", "up"),
                                   ("clarify", "Questions clarified", "none"),
                                   ("abstain", "Questions abstained on", "down")):
        add(f"{outcome}_rate", label, "share", better, _mix_share(outcome),
            _mix_day_share(now, outcome),
            f"{ans.questions[outcome]} of {questions} questions", f"decisions?outcome={outcome}")
    add("wrong_answer_rate", "Answers that got a no", "share", "down",
        lambda p: ratio(p.answers.total().no, p.answers.total().shown),
        lambda d: ratio(aday(d).no, aday(d).shown) if aday(d) else None,
        f"{ans.no} no of {ans.shown} answers shown", "decisions?outcome=no")
    langs = now.languages
    add("other_languages", "Questions in other languages", "count", "none",
        lambda p: p.languages.count(), langs.on,
        (", ".join(f"{code} {n}" for code, n in langs.total.most_common(5))
         or "none") + " (ISO 639-1); each was told so and offered a ticket or a person",
        "languages")

    csat = now.csat
    add("csat_mean", "CSAT, mean (1–5)", "score", "up", lambda p: p.csat.mean,
        csat.day_mean, f"{csat.count} ratings", "csat", "csat")
    add("csat_satisfied", "CSAT, satisfied (4–5)", "share", "up", lambda p: p.csat.satisfied,
        lambda d: _satisfied(csat.by_day.get(d)),
        f"{sum(csat.distribution[s] for s in (4, 5))} of {csat.count} ratings", "csat")
    add("csat_response_rate", "CSAT response rate", "share", "up",
        lambda p: p.csat.response_rate, lambda d: None,
        f"{csat.answered} of {csat.asked} conversations asked", "csat")
    if now.nps.count or before.nps.count:
        nps = now.nps
        add("nps", "NPS", "nps", "up", lambda p: p.nps.score,
            lambda d: Nps({d: nps.by_day.get(d, Counter())}).score,
            f"{nps.promoters} promoters, {nps.passives} passives, {nps.detractors} detractors "
            f"of {nps.count}", "nps")

    t = now.tickets
    backlog = t.backlog_by_day(now.period)
    add("tickets_opened", "Tickets opened", "count", "down", lambda p: p.tickets.opened_total,
        lambda d: t.opened.get(d, 0), _by_priority(t), "tickets?filter=opened")
    add("tickets_resolved", "Tickets resolved", "count", "up",
        lambda p: p.tickets.resolved_total, lambda d: t.resolved.get(d, 0),
        f"{t.resolution.count()} resolved", "tickets?filter=resolved")
    add("backlog", "Backlog (open at the end)", "count", "down",
        lambda p: p.tickets.backlog_end, lambda d: backlog.get(d),
        f"{t.backlog_start} open at the start", "tickets?filter=backlog")
    add("tickets_reopened", "Tickets reopened", "count", "down", lambda p: p.tickets.reopened,
        lambda d: None, "resolved, then opened again", "tickets?filter=reopened")
    add("first_response_median", "First response, median", "hours", "down",
        lambda p: p.tickets.first_response.median(),
        lambda d: t.first_response.median(day=d),
        f"{t.first_response.count()} tickets a rep answered; p90 "
        f"{_hours(t.first_response.p90())}", "tickets?filter=first_response")
    add("first_response_p90", "First response, 90th percentile", "hours", "down",
        lambda p: p.tickets.first_response.p90(), lambda d: t.first_response.p90(day=d),
        f"{t.first_response.count()} tickets", "tickets?filter=first_response")
    add("resolution_median", "Time to resolution, median", "hours", "down",
        lambda p: p.tickets.resolution.median(), lambda d: t.resolution.median(day=d),
        f"{t.resolution.count()} resolved; p90 {_hours(t.resolution.p90())}",
        "tickets?filter=resolved", "resolution")
    add("resolution_p90", "Time to resolution, 90th percentile", "hours", "down",
        lambda p: p.tickets.resolution.p90(), lambda d: t.resolution.p90(day=d),
        f"{t.resolution.count()} resolved", "tickets?filter=resolved")

    s = now.slack
    add("slack_questions", "Slack assist: reps' questions", "count", "none",
        lambda p: p.slack.questions_total, lambda d: s.questions.get(d, 0),
        f"{s.rated} suggestions rated", "slack")
    add("slack_helpful", "Slack assist: rated helpful", "share", "up",
        lambda p: p.slack.helpful_share, lambda d: None,
        f"{s.helpful} of {s.rated} ratings 👍", "slack")

    fails = now.failures
    add("assistant_failures", "Chat turns the assistant failed", "count", "down",
        lambda p: p.failures.count(), fails.on,
        f"{fails.count('chat_no_reply')} with no reply, {fails.count('chat_unavailable')} "
        f"while it was unreachable; the customer was offered a person", "failures")
    return out


def _mix_share(outcome: str) -> Callable[[PeriodData], float | None]:
    def share(p: PeriodData) -> float | None:
        mix = p.answers.total().questions
        return ratio(mix[outcome], sum(mix.values()))

    return share


def _mix_day_share(now: PeriodData, outcome: str) -> Callable[[date], float | None]:
    def share(d: date) -> float | None:
        day = now.answers.days.get(d)
        return ratio(day.questions[outcome], sum(day.questions.values())) if day else None

    return share


def _satisfied(scores: Counter[int] | None) -> float | None:
    if not scores:
        return None
    return ratio(scores[4] + scores[5], sum(scores.values()))


def _by_priority(tickets: Tickets) -> str:
    parts = [f"{n} {p}" for p, n in sorted(tickets.opened_by["priority"].items())]
    return ", ".join(parts) if parts else "none"


def _hours(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} h"
