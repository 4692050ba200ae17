"""Process feedback: what reps tell the service-ops team, triaged and answered.

A rep sends it from Slack (``/feedback``, a shortcut); ops list, triage (new → planned → done
/ won't do) and answer it through ``/api/feedback``; the rep hears back (the Slack app DMs
them on every change, through ``Notifier.feedback_changed``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import select

from frontline.db import Database, ProcessFeedback, page
from frontline.errors import FeedbackNotFound, InvalidFeedback, TicketNotFound
from frontline.notify import Notifier
from frontline.redaction import mask
from frontline.ticketing import TicketBackend

AREAS = ("process", "tooling", "knowledge_base", "policy", "other")
AREA_LABELS = {"process": "Process", "tooling": "Tooling", "knowledge_base": "Knowledge base",
               "policy": "Policy", "other": "Other"}
IMPACTS = ("low", "medium", "high")
STATUSES = ("new", "planned", "done", "wont_do")
STATUS_LABELS = {"new": "New", "planned": "Planned", "done": "Done", "wont_do": "Won't do"}
# Allowed moves; a closed item can be planned again when it comes back.
TRANSITIONS = {
    "new": ("planned", "done", "wont_do"),
    "planned": ("done", "wont_do", "new"),
    "done": ("planned",),
    "wont_do": ("planned",),
}
TEXT_MAX = 3000
TICKET = re.compile(r"^#?\s*(\d{1,9})$")


class ProcessFeedbackService:
    def __init__(self, db: Database, tickets: TicketBackend, notifier: Notifier) -> None:
        self.db = db
        self.tickets = tickets
        self.notifier = notifier

    def submit(self, *, rep: str, rep_name: str = "", area: str | None,
               what_happened: str | None, what_would_help: str | None = "",
               impact: str | None, ticket: str | None = None) -> ProcessFeedback:
        """Validate every field at once and store the item (personal data masked). Raises
        ``InvalidFeedback`` whose ``fields`` name each field that is wrong, so a form can
        show them all and keep what was typed."""
        problems: dict[str, str] = {}
        what = (what_happened or "").strip()
        helps = (what_would_help or "").strip()
        if area not in AREAS:
            problems["area"] = "Choose the area this is about."
        if not what:
            problems["what_happened"] = "Tell us what happened."
        elif len(what) > TEXT_MAX:
            problems["what_happened"] = f"Please keep it under {TEXT_MAX} characters."
        if len(helps) > TEXT_MAX:
            problems["what_would_help"] = f"Please keep it under {TEXT_MAX} characters."
        if impact not in IMPACTS:
            problems["impact"] = "Choose the impact: low, medium or high."
        ticket_id = None
        if ticket and ticket.strip():
            match = TICKET.match(ticket.strip())
            if match is None:
                problems["ticket"] = "A ticket number looks like 10234."
            else:
                try:
                    ticket_id = self.tickets.get(int(match.group(1))).id
                except TicketNotFound:
                    problems["ticket"] = f"There is no ticket #{match.group(1)}."
        if problems:
            raise InvalidFeedback("; ".join(f"{k}: {v}" for k, v in problems.items()), problems)
        item = ProcessFeedback(rep=rep, rep_name=rep_name, area=area, what_happened=mask(what),
                               what_would_help=mask(helps), impact=impact, ticket_id=ticket_id)
        with self.db.session() as session:
            session.add(item)
        self.notifier.feedback_filed(item)
        return item

    def get(self, item_id: int) -> ProcessFeedback:
        with self.db.session() as session:
            item = session.get(ProcessFeedback, item_id)
        if item is None:
            raise FeedbackNotFound(f"no feedback item {item_id}")
        return item

    def find(self, *, status: str | None = None, area: str | None = None,
             impact: str | None = None, limit: int = 50,
             offset: int = 0) -> tuple[list[ProcessFeedback], int]:
        query = select(ProcessFeedback)
        if status:
            query = query.where(ProcessFeedback.status == status)
        if area:
            query = query.where(ProcessFeedback.area == area)
        if impact:
            query = query.where(ProcessFeedback.impact == impact)
        with self.db.session() as session:
            return page(session, query, ProcessFeedback.id.desc(), limit, offset)

    def update(self, item_id: int, *, status: str | None = None,
               reply: str | None = None) -> ProcessFeedback:
        """Triage and answer an item; the rep is told of every change. Raises
        ``InvalidFeedback`` for a move the workflow does not allow."""
        if status is not None and status not in STATUSES:
            raise InvalidFeedback(f"unknown status {status!r} (expected one of {STATUSES})")
        if reply is not None and len(reply.strip()) > TEXT_MAX:
            raise InvalidFeedback(f"the reply is over {TEXT_MAX} characters")
        with self.db.session() as session:
            item = session.get(ProcessFeedback, item_id)
            if item is None:
                raise FeedbackNotFound(f"no feedback item {item_id}")
            changed = False
            if status is not None and status != item.status:
                if status not in TRANSITIONS[item.status]:
                    raise InvalidFeedback(
                        f"feedback {item_id} is {item.status!r}; it can move to "
                        f"{', '.join(TRANSITIONS[item.status])}, not {status!r}")
                item.status = status
                changed = True
            if reply is not None and reply.strip() != item.reply:
                item.reply = reply.strip()
                changed = True
            if changed:
                item.updated_at = datetime.now(UTC)
        if changed:
            self.notifier.feedback_changed(item)
        return item
