"""``frontline report``: the dashboard overview's figures and the top KB gaps, computed by the
same code (``frontline.analytics``), as text, JSON or CSV — and, with ``--post-to-slack``, the
weekly digest in the feedback channel."""

from __future__ import annotations

import json
import logging
from typing import Annotated

import typer

from frontline.analytics import Analytics, InvalidPeriod, Scope
from frontline.analytics.periods import parse_since
from frontline.errors import FrontlineError

logger = logging.getLogger(__name__)


def report(
    since: Annotated[str | None, typer.Option(
        "--since", help="The last N days (7d) or weeks (2w), today included [default: 7d].")
    ] = None,
    first: Annotated[str | None, typer.Option(
        "--from", help="First day, e.g. 2026-03-01 (in FRONTLINE_TIMEZONE).")] = None,
    last: Annotated[str | None, typer.Option(
        "--to", help="Last day, included [default: today].")] = None,
    output: Annotated[str, typer.Option(
        "--format", help="text, json or csv.")] = "text",
    real: Annotated[bool, typer.Option(
        "--real", help="Leave out the records `frontline simulate` made.")] = False,
    top_gaps: Annotated[int, typer.Option(help="KB gaps listed.", min=0, max=50)] = 5,
    post_to_slack: Annotated[bool, typer.Option(
        "--post-to-slack", help="Also post the digest to FRONTLINE_SLACK_FEEDBACK_CHANNEL.")
    ] = False,
) -> None:
    """Print the ops report: deflection, answers, CSAT, tickets, KB gaps, rep feedback."""
    from frontline.cli import _settings, _setup_logging, err
    from frontline.db import Database
    from frontline.knowledge import KnowledgeBase

    _setup_logging()
    for noisy in ("frontline", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if output not in ("text", "json", "csv"):
        err.print("[bold red]error:[/] --format must be text, json or csv")
        raise typer.Exit(2)
    if since and (first or last):
        err.print("[bold red]error:[/] give --since or --from/--to, not both")
        raise typer.Exit(2)
    settings = _settings()
    try:
        days = parse_since(since) if since else 7
    except InvalidPeriod as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    db = Database(settings.sqlalchemy_url)
    try:
        db.migrate()
        analytics = Analytics(db, settings, KnowledgeBase(settings))
        period = analytics.period(days=days, first=first, last=last)
        result = analytics.report(period, Scope(hide_simulated=real), top_gaps=top_gaps)
    except InvalidPeriod as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    except FrontlineError as exc:
        err.print(f"[bold red]error:[/] {exc.detail}", highlight=False)
        raise typer.Exit(1) from None
    finally:
        db.dispose()
    if output == "json":
        typer.echo(json.dumps(result.to_dict(), ensure_ascii=False))
    elif output == "csv":
        typer.echo(result.to_csv(), nl=False)
    else:
        typer.echo(result.to_text(), nl=False)
    if post_to_slack:
        _post(result, settings)


def _post(result, settings) -> None:  # type: ignore[no-untyped-def]
    from slack_sdk.errors import SlackApiError

    from frontline.cli import err
    from integrations.slack.digest import post_digest

    token = settings.slack_bot_token.get_secret_value()
    channel = settings.slack_feedback_channel
    if not token or not channel:
        err.print("[bold red]error:[/] --post-to-slack needs FRONTLINE_SLACK_BOT_TOKEN and "
                  "FRONTLINE_SLACK_FEEDBACK_CHANNEL", highlight=False)
        raise typer.Exit(1)
    try:
        ts = post_digest(result, token=token, channel=channel, api_url=settings.slack_api_url,
                         public_url=settings.public_url)
    except SlackApiError as exc:
        err.print(f"[bold red]error:[/] Slack refused the digest: "
                  f"{exc.response.get('error', exc)}", highlight=False)
        raise typer.Exit(1) from None
    except Exception as exc:  # network: say so, never a traceback
        err.print(f"[bold red]error:[/] cannot reach Slack: {exc}", highlight=False)
        raise typer.Exit(1) from None
    err.print(f"Digest posted to {channel} (ts {ts}).", highlight=False)
