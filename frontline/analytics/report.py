"""The report: the overview's figures with their changes, the top KB gaps, the articles that
need review and the new process feedback — as text, JSON or CSV (``frontline report``), and
as the data of the Slack digest."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from frontline.analytics.formatting import fmt
from frontline.analytics.gaps import Cluster
from frontline.analytics.metrics import ArticleRow, FeedbackSummary
from frontline.analytics.overview import Figure, Overview


def fmt_change(figure: Figure) -> str:
    change = figure.change
    if change is None:
        return "—" if figure.value is None or figure.previous is not None else "new"
    if figure.unit == "share":
        return f"{100 * change:+.1f} pts"
    if figure.unit == "hours":
        return f"{change:+.1f} h"
    if figure.unit == "score":
        return f"{change:+.2f}"
    return f"{change:+,.0f}"


@dataclass
class Report:
    overview: Overview
    gaps: list[Cluster]
    review: list[ArticleRow]
    feedback: FeedbackSummary
    hide_simulated: bool = False

    @property
    def period(self) -> str:
        return self.overview.period.label()

    def to_dict(self) -> dict[str, Any]:
        o = self.overview
        return {
            "period": {"first": o.period.first.isoformat(), "last": o.period.last.isoformat(),
                       "timezone": o.period.zone.key},
            "previous": {"first": o.previous.first.isoformat(),
                         "last": o.previous.last.isoformat()},
            "simulated_hidden": self.hide_simulated,
            "figures": [f.to_dict() for f in o.figures],
            "csat_distribution": {str(s): o.current.csat.distribution[s] for s in range(1, 6)},
            "kb_gaps": [c.to_dict() for c in self.gaps],
            "articles_needing_review": [
                {"id": a.article_id, "title": a.title, "helpfulness": a.helpfulness,
                 "votes": a.votes, "shown": a.shown, "reasons": dict(a.reasons)}
                for a in self.review],
            "process_feedback": {
                "count": self.feedback.count,
                "by_area": dict(self.feedback.by_area),
                "by_impact": dict(self.feedback.by_impact),
                "by_status": dict(self.feedback.by_status),
                "new": [{"id": i.id, "area": i.area, "impact": i.impact, "status": i.status,
                         "what_happened": i.what_happened} for i in self.feedback.items],
            },
        }

    def to_text(self) -> str:
        o = self.overview
        lines = [f"Frontline report {o.period.label()} ({o.period.zone.key}), compared with "
                 f"{o.previous.label()}" + (" — simulated records hidden"
                                            if self.hide_simulated else ""), ""]
        width = max(len(f.label) for f in o.figures)
        for f in o.figures:
            lines.append(f"  {f.label:<{width}}  {fmt(f.value, f.unit):>9}  "
                         f"{fmt_change(f):>10}   {f.detail}")
        lines += ["", f"Top KB gaps ({len(self.gaps)})"]
        if not self.gaps:
            lines.append("  none: every question found an answer")
        for i, c in enumerate(self.gaps, 1):
            closest = f"; closest article: {c.closest[0]}" if c.closest else ""
            noun = "question" if c.count == 1 else "questions"
            lines.append(f"  {i}. {c.title} — {c.count} {noun} ({c.trend}){closest}")
            for question, n in c.examples[:3]:
                lines.append(f"       “{question}”" + (f" ×{n}" if n > 1 else ""))
        lines += ["", f"Articles needing review ({len(self.review)})"]
        for a in self.review:
            lines.append(f"  {a.article_id}: helpfulness {fmt(a.helpfulness, 'share')} of "
                         f"{a.votes} vote{'' if a.votes == 1 else 's'}")
        if not self.review:
            lines.append("  none")
        fb = self.feedback
        lines += ["", f"Process feedback from reps: {fb.count} new"]
        for item in fb.items[:10]:
            lines.append(f"  #{item.id} [{item.area}, {item.impact}, {item.status}] "
                         f"{_one_line(item.what_happened)}")
        return "\n".join(lines) + "\n"

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["section", "name", "value", "previous", "change", "unit", "detail"])
        for f in self.overview.figures:
            writer.writerow(["figure", f.key, f.value, f.previous, f.change, f.unit, f.detail])
        for c in self.gaps:
            writer.writerow(["kb_gap", c.title, c.count, c.previous, c.count - c.previous,
                             "questions", c.closest[0] if c.closest else ""])
        for a in self.review:
            writer.writerow(["needs_review", a.article_id, a.helpfulness, "", "", "share",
                             f"{a.votes} votes"])
        for item in self.feedback.items:
            writer.writerow(["process_feedback", f"#{item.id}", item.area, item.impact,
                             item.status, "", _one_line(item.what_happened)])
        return out.getvalue()


def _one_line(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
