"""The weekly digest in Slack: the report's headline figures with their changes, the top 3 KB
gaps and the new process feedback, posted to ``FRONTLINE_SLACK_FEEDBACK_CHANNEL``.

``digest_message`` is a pure Block Kit builder (tested as data). ``post_digest`` posts it with
the Web API directly, for ``frontline report --post-to-slack`` (the CLI has no running Slack
app); ``schedule`` runs in the service (``FRONTLINE_DIGEST_CRON``) and hands each digest to the
Slack app's retry queue.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from integrations.slack import blocks

if TYPE_CHECKING:
    from frontline.analytics.report import Report
    from frontline.services import Services
    from integrations.slack.app import SlackIntegration

logger = logging.getLogger(__name__)

FIGURES = ("kb_conversations", "deflection_confirmed", "deflection_assumed", "answer_rate",
           "wrong_answer_rate", "csat_mean", "csat_response_rate", "tickets_opened",
           "backlog", "resolution_median")
TOP_GAPS = 3
FEEDBACK_SHOWN = 5
OUTBOX_KEY = "digest"


def _arrow(trend: str) -> str:
    return {"better": "🟢", "worse": "🔴"}.get(trend, "⚪")


def digest_message(report: Report, dashboard_url: str | None = None) -> dict[str, Any]:
    """``{"text", "blocks"}`` for ``chat.postMessage``: every text that came from customers or
    reps is escaped and cut to Slack's limits."""
    from frontline.analytics.report import fmt, fmt_change

    o = report.overview
    title = f"Frontline weekly digest · {o.period.label()}"
    by_key = {f.key: f for f in o.figures}
    fields = []
    for key in FIGURES:
        f = by_key.get(key)
        if f is None:
            continue
        fields.append((f.label, f"{fmt(f.value, f.unit)}  {_arrow(f.trend)} "
                                f"{fmt_change(f)} vs {fmt(f.previous, f.unit)}"))
    out: list[dict[str, Any]] = [
        blocks.header("digest_header", title),
        blocks.context_block("digest_period", blocks.escape(
            f"{o.period.label()} ({o.period.zone.key}) compared with {o.previous.label()}"
            + (" · simulated records hidden" if report.hide_simulated else ""))),
        blocks.fields_section("digest_figures", fields[:10]),
        blocks.divider("digest_div_gaps"),
    ]
    gaps = report.gaps[:TOP_GAPS]
    if gaps:
        lines = []
        for i, c in enumerate(gaps, 1):
            closest = f" · closest: `{blocks.safe(c.closest[0], 80)}`" if c.closest else ""
            examples = "; ".join(f"“{blocks.safe(q, 90)}”" for q, _ in c.examples[:2])
            lines.append(f"{i}. *{blocks.safe(c.title, 90)}* — {c.count} questions "
                         f"({c.trend}){closest}\n      {examples}")
        out.append(blocks.section("digest_gaps", "*Top KB gaps*\n" + "\n".join(lines)))
    else:
        out.append(blocks.section("digest_gaps", "*Top KB gaps*\nNone: every question found "
                                                 "an answer."))
    fb = report.feedback
    if fb.count:
        areas = ", ".join(f"{blocks.escape(a)} {n}" for a, n in fb.by_area.most_common())
        items = "\n".join(
            f"• #{i.id} _{blocks.escape(i.area)}, {blocks.escape(i.impact)}_: "
            f"{blocks.safe(' '.join(i.what_happened.split()), 150)}"
            for i in fb.items[:FEEDBACK_SHOWN])
        more = f"\n_…and {fb.count - FEEDBACK_SHOWN} more_" if fb.count > FEEDBACK_SHOWN else ""
        out.append(blocks.section("digest_feedback",
                                  f"*New process feedback: {fb.count}* ({areas})\n{items}{more}"))
    else:
        out.append(blocks.section("digest_feedback", "*New process feedback*\nNone this period."))
    if report.review:
        names = ", ".join(f"`{blocks.safe(a.article_id, 60)}`" for a in report.review[:8])
        out.append(blocks.section("digest_review", f"*Articles needing review*: {names}"))
    if dashboard_url:
        out.append(blocks.context_block(
            "digest_link", "Drill down on the " + blocks.link(dashboard_url, "ops dashboard")))
    csat = by_key.get("csat_mean")
    deflection = by_key.get("deflection_confirmed")
    text = title + "".join(
        f" · {f.label}: {fmt(f.value, f.unit)} ({fmt_change(f)})"
        for f in (deflection, csat) if f is not None)
    return blocks.message(text, out)


def dashboard_link(public_url: str, report: Report) -> str:
    p = report.overview.period
    return (f"{public_url.rstrip('/')}/dashboard?days=custom&from={p.first.isoformat()}"
            f"&to={p.last.isoformat()}")


def post_digest(report: Report, *, token: str, channel: str, api_url: str,
                public_url: str | None = None, client: Any = None) -> str:
    """Post the digest with the Web API (``chat.postMessage``); returns the message's ts.
    Raises ``slack_sdk.errors.SlackApiError`` when Slack refuses it."""
    from slack_sdk import WebClient

    web = client or WebClient(token=token, base_url=api_url)
    message = digest_message(report, dashboard_link(public_url, report) if public_url else None)
    response = web.chat_postMessage(channel=channel, **message)
    return str(response["ts"])


async def schedule(services: Services, slack: SlackIntegration, cron: str) -> None:
    """Post the digest of the last 7 days at every ``cron`` time (in FRONTLINE_TIMEZONE),
    through the Slack app's retry queue, until cancelled."""
    from croniter import croniter

    from frontline.analytics import Analytics

    settings = services.settings
    channel = settings.slack_feedback_channel
    if not channel:
        logger.warning("FRONTLINE_DIGEST_CRON is set but FRONTLINE_SLACK_FEEDBACK_CHANNEL is "
                       "not: no digest will be posted")
        return
    times = croniter(cron, datetime.now(UTC).astimezone(settings.zone))
    analytics = Analytics(services.db, settings, services.knowledge)
    while True:
        due = times.get_next(datetime)
        await asyncio.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()))
        try:
            report = await asyncio.to_thread(lambda: analytics.report(
                analytics.period(days=7), top_gaps=TOP_GAPS))
            message = digest_message(report, dashboard_link(settings.public_url, report))
            await asyncio.to_thread(slack.outbox.enqueue, OUTBOX_KEY, "chat.postMessage",
                                    {"channel": channel, **message})
            logger.info("weekly digest queued for %s", channel)
        except Exception:  # the next one is still sent
            logger.exception("the weekly digest could not be prepared")
