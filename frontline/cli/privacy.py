"""``frontline privacy``: export or erase one customer's data, purge old transcripts.

What each command covers, and what it does not, is in docs/privacy.md.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from frontline.errors import FrontlineError
from frontline.redaction import valid_email

app = typer.Typer(help="Privacy operations: export, erase, purge (docs/privacy.md).",
                  no_args_is_help=True, add_completion=False)
Email = Annotated[str, typer.Option("--email", help="The customer's email address.")]


def _privacy():  # type: ignore[no-untyped-def]
    from frontline.cli import _settings, err
    from frontline.db import Database
    from frontline.support.privacy import Privacy

    settings = _settings()
    db = Database(settings.sqlalchemy_url)
    try:
        db.migrate()
    except FrontlineError as exc:
        err.print(f"[bold red]error:[/] {exc.detail}", highlight=False)
        raise typer.Exit(1) from None
    return Privacy(db, settings)


def _email(email: str) -> str:
    from frontline.cli import err

    if not valid_email(email):
        err.print(f"[bold red]error:[/] {email!r} is not an email address", highlight=False)
        raise typer.Exit(2)
    return email.strip().lower()


@app.command()
def export(
    email: Email,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Write the JSON to this file (readable by its owner only) instead of "
        "standard output.")] = None,
) -> None:
    """Everything Frontline holds about one customer, as JSON."""
    from frontline.cli import _setup_logging, err

    _setup_logging()
    email = _email(email)
    try:
        data = _privacy().export(email)
    except FrontlineError as exc:
        err.print(f"[bold red]error:[/] {exc.detail}", highlight=False)
        raise typer.Exit(1) from None
    text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    if out is None:
        typer.echo(text)
        return
    out.write_text(text + "\n", encoding="utf-8")
    out.chmod(0o600)
    err.print(f"{len(data['tickets'])} tickets, {len(data['sessions'])} conversations, "
              f"{len(data['rasa_tracker']['events'])} tracker events → {out}", highlight=False)


@app.command()
def erase(
    email: Email,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Erase one customer's tickets and conversations, here and in Rasa's tracker store."""
    from frontline.cli import _setup_logging, err

    _setup_logging()
    email = _email(email)
    privacy = _privacy()
    if not yes:
        found = privacy.export(email)
        typer.echo(f"{email}: {len(found['tickets'])} tickets, {len(found['sessions'])} "
                   f"conversations, {len(found['rasa_tracker']['events'])} tracker events.")
        if not typer.confirm("Erase them? This cannot be undone", default=False):
            err.print("Nothing was erased.")
            raise typer.Exit(1)
    try:
        counts = privacy.erase(email)
    except FrontlineError as exc:
        err.print(f"[bold red]error:[/] {exc.detail}", highlight=False)
        raise typer.Exit(1) from None
    typer.echo(json.dumps(counts))


@app.command()
def purge(
    days: Annotated[int | None, typer.Option(
        "--days", min=1, help="Remove transcripts older than this many days "
        "[FRONTLINE_RETENTION_DAYS].")] = None,
) -> None:
    """Remove transcripts older than the retention period now (what the service does daily)."""
    from frontline.cli import _settings, _setup_logging, err

    _setup_logging()
    days = days if days is not None else _settings().retention_days
    if days < 1:
        err.print("[bold red]error:[/] give --days N or set FRONTLINE_RETENTION_DAYS",
                  highlight=False)
        raise typer.Exit(2)
    try:
        counts = _privacy().purge(days)
    except FrontlineError as exc:
        err.print(f"[bold red]error:[/] {exc.detail}", highlight=False)
        raise typer.Exit(1) from None
    typer.echo(json.dumps(counts))
