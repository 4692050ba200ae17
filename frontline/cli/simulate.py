"""``frontline simulate``: demo data made by simulated customers talking to the **real**
assistant through the widget's API (``POST /chat``).

Each customer asks one question from the labelled sample-KB set (answerable and not), then
behaves as the stated probabilities say: "yes" or "no" to an answer, picking an offered article
or "None of these", filing a ticket or asking for a person, rating the conversation. With the
admin token, simulated reps reply to and resolve tickets through the tickets API (so the
service asks for the rating it asks after a resolution). Afterwards every record of those
conversations is marked simulated and spread over the past weeks
(``frontline.analytics.simulation``); the dashboard can hide them.
"""

from __future__ import annotations

import math
import random
import re
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import httpx
import typer

from frontline.analytics.simulation import SessionPlan, TicketPlan, backdate, mark_rows

YES, NO = "Yes, that helped", "No"
RATE_LIMIT_RETRIES = 5
TICKET, PERSON, NONE = "File a ticket", "Talk to a person", "None of these"
CSAT_WEIGHTS = {"helped": (0.02, 0.03, 0.10, 0.35, 0.50),
                "ticket": (0.10, 0.12, 0.23, 0.30, 0.25)}
TICKET_NUMBER = re.compile(r"#(\d{5,})")
AREAS = ("process", "tooling", "knowledge_base", "policy", "other")
FEEDBACK_TEXTS = (
    "Refund approvals above 50 EUR take two days to get a team lead's answer.",
    "Backstage times out when I open a workspace with many projects.",
    "The SSO article does not cover Okta's new admin console.",
    "Customers on the nonprofit plan ask about invoices we cannot find.",
    "The macro for locked accounts still mentions the old unlock flow.",
)


@dataclass
class Behaviour:
    yes: float = 0.6  # "yes" to the first answer
    yes_again: float = 0.45  # "yes" to the next-best article after a "no"
    pick: float = 0.65  # picks an offered article after a clarify (else "None of these")
    ticket: float = 0.45  # files a ticket when the bot cannot help
    person: float = 0.15  # asks for a person instead
    csat: float = 0.7  # rates the conversation when asked
    reply: float = 0.85  # a rep replies to a ticket
    resolve: float = 0.75  # a rep resolves it
    rep_rating: float = 0.15  # a rep rates an article in Slack (demo row)


@dataclass
class Customer:
    session_id: str
    question: str
    tickets: list[int] = field(default_factory=list)
    articles: list[str] = field(default_factory=list)
    outcome: str = "left"


class Conversation:
    def __init__(self, client: httpx.Client, session_id: str) -> None:
        self.client = client
        self.session_id = session_id
        self.replies: list[dict[str, Any]] = []

    def say(self, text: str, title: str | None = None) -> list[dict[str, Any]]:
        body: dict[str, Any] = {"session_id": self.session_id, "message": text}
        if title:
            body["title"] = title
        response = self.client.post("/chat", json=body)
        for _ in range(RATE_LIMIT_RETRIES):
            if response.status_code != 429:
                break
            # The service's rate limits apply to simulated customers too (they all share this
            # machine's address): wait as long as it says, like a well-behaved client.
            time.sleep(min(60, int(response.headers.get("Retry-After", "1"))))
            response = self.client.post("/chat", json=body)
        response.raise_for_status()
        self.replies = response.json()["messages"]
        return self.replies

    def buttons(self) -> dict[str, str]:
        for message in reversed(self.replies):
            if message.get("buttons"):
                return {b["title"]: b["payload"] for b in message["buttons"]}
        return {}

    def text(self) -> str:
        return "\n".join(m.get("text", "") for m in self.replies)

    def click(self, title: str) -> list[dict[str, Any]]:
        return self.say(self.buttons()[title], title)


def run_customer(client: httpx.Client, rng: random.Random, question: str,
                 b: Behaviour) -> Customer:
    customer = Customer(f"sim-{uuid.uuid4().hex[:16]}", question)
    chat = Conversation(client, customer.session_id)
    chat.say(question)
    answers = 0
    for _ in range(12):
        buttons = chat.buttons()
        text = chat.text()
        for link in TICKET_NUMBER.findall(text):
            if int(link) not in customer.tickets:
                customer.tickets.append(int(link))
        if YES in buttons:
            answers += 1
            if rng.random() < (b.yes if answers == 1 else b.yes_again):
                customer.outcome = "helped"
                chat.click(YES)
            else:
                chat.click(NO)
            continue
        if set(buttons) >= {"1", "5"}:
            if rng.random() < b.csat:
                score = rng.choices("12345", CSAT_WEIGHTS["helped"])[0]
                chat.say(buttons[score], score)
            break
        if NONE in buttons:
            offered = [t for t in buttons if t != NONE]
            if offered and rng.random() < b.pick:
                chat.click(offered[0])
            else:
                chat.click(NONE)
            continue
        if TICKET in buttons:
            r = rng.random()
            if r < b.ticket:
                customer.outcome = "ticket"
                chat.click(TICKET)
            elif r < b.ticket + b.person:
                customer.outcome = "person"
                chat.click(PERSON)
                for link in TICKET_NUMBER.findall(chat.text()):
                    customer.tickets.append(int(link))
                break
            else:
                break
            continue
        if "email address" in text:
            chat.say(f"{customer.session_id}@example.com")
            continue
        if "In one line" in text or "one line" in text or (buttons and "summary" in text):
            if buttons:
                chat.click(next(iter(buttons)))
            else:
                chat.say(question[:150])
            continue
        if "describe what happened" in text:
            chat.say("It happens every time I try, on Chrome and on the mobile app.")
            continue
        break
    for link in TICKET_NUMBER.findall(chat.text()):
        if int(link) not in customer.tickets:
            customer.tickets.append(int(link))
    return customer


def rep_work(client: httpx.Client, admin: dict[str, str], rng: random.Random,
             customer: Customer, b: Behaviour) -> dict[int, TicketPlan]:
    """Reps reply to and resolve the customer's tickets; a rated resolution included."""
    plans: dict[int, TicketPlan] = {}
    for number in customer.tickets:
        info = client.get(f"/api/tickets/{number}", headers=admin)
        if info.status_code != 200:
            continue
        high = info.json()["priority"] == "high"
        first = _lognormal(rng, 0.4 if high else 3.0, 0.8)
        resolution = first + _lognormal(rng, 3.0 if high else 20.0, 0.9)
        replied = rng.random() < b.reply
        if replied:
            client.post(f"/api/tickets/{number}/reply", headers=admin,
                        json={"text": "Thanks for your patience — I'm looking into this now.",
                              "author": "Demo rep"})
        resolved = replied and rng.random() < b.resolve
        if resolved:
            client.patch(f"/api/tickets/{number}", headers=admin, json={"status": "resolved"})
            if rng.random() < b.csat:
                score = rng.choices("12345", CSAT_WEIGHTS["ticket"])[0]
                Conversation(client, customer.session_id).say(
                    f'/csat{{"csat_score": "{score}"}}', score)
        plans[number] = TicketPlan(first if replied else None,
                                   resolution if resolved else None)
    return plans


def _lognormal(rng: random.Random, median: float, sigma: float) -> float:
    return median * math.exp(rng.gauss(0, sigma))


def start_times(rng: random.Random, count: int, weeks: int, zone: Any,
                now: datetime) -> list[datetime]:
    """Spread over the past weeks, mostly in working hours, busier on weekdays."""
    out: list[datetime] = []
    while len(out) < count:
        day = now - timedelta(days=rng.uniform(0, weeks * 7))
        local = day.astimezone(zone)
        if local.weekday() >= 5 and rng.random() < 0.6:
            continue
        hour = min(22.9, max(6.0, rng.gauss(13, 3.2)))
        at = local.replace(hour=int(hour), minute=int(hour % 1 * 60), second=rng.randrange(60),
                           microsecond=0).astimezone(UTC)
        if at < now - timedelta(hours=2):
            out.append(at)
    return sorted(out)


def simulate(
    customers: Annotated[int, typer.Option("--customers", min=1, max=5000,
                                           help="Simulated customers.")] = 50,
    url: Annotated[str, typer.Option(help="The running service.")] = "http://127.0.0.1:8000",
    weeks: Annotated[int, typer.Option(min=1, max=52,
                                       help="Spread the conversations over the past weeks.")] = 4,
    seed: Annotated[int | None, typer.Option(help="Random seed (repeatable runs).")] = None,
    p_yes: Annotated[float, typer.Option(min=0, max=1, help="P(yes to an answer).")] = 0.6,
    p_pick: Annotated[float, typer.Option(min=0, max=1,
                                          help="P(pick an offered article).")] = 0.65,
    p_ticket: Annotated[float, typer.Option(min=0, max=1,
                                            help="P(file a ticket when not helped).")] = 0.45,
    p_person: Annotated[float, typer.Option(min=0, max=1,
                                            help="P(ask for a person when not helped).")] = 0.15,
    p_csat: Annotated[float, typer.Option(min=0, max=1, help="P(rate when asked).")] = 0.7,
) -> None:
    """Run simulated customers through the real assistant, then mark and backdate them."""
    from rich.progress import Progress

    from frontline.cli import _settings, err
    from frontline.db import Database, ProcessFeedback, Rating
    from frontline.evaluation.metrics import load_questions

    settings = _settings()
    rng = random.Random(seed)
    behaviour = Behaviour(yes=p_yes, pick=p_pick, ticket=p_ticket, person=p_person,
                          csat=p_csat)
    questions = [q.question for q in load_questions(settings.eval_questions)
                 if q.audience == "public"]
    if not questions:
        err.print(f"[bold red]error:[/] no questions in {settings.eval_questions}")
        raise typer.Exit(1)
    token = settings.admin_token.get_secret_value()
    admin = {"Authorization": f"Bearer {token}"} if token else {}
    if not token:
        err.print("FRONTLINE_ADMIN_TOKEN is not set: no simulated rep will answer tickets.",
                  highlight=False)
    done: list[Customer] = []
    plans: dict[str, dict[int, TicketPlan]] = {}
    client = httpx.Client(base_url=url.rstrip("/"), timeout=60)
    try:
        health = client.get("/healthz")
        health.raise_for_status()
    except httpx.HTTPError as exc:
        err.print(f"[bold red]error:[/] the service at {url} does not answer ({exc}); start it "
                  "with `make run`", highlight=False)
        raise typer.Exit(1) from None
    with Progress(console=err, transient=True, disable=not sys.stderr.isatty()) as bar:
        task = bar.add_task("simulated customers", total=customers)
        for _ in range(customers):
            try:
                customer = run_customer(client, rng, rng.choice(questions), behaviour)
                plans[customer.session_id] = (
                    rep_work(client, admin, rng, customer, behaviour) if admin else {})
            except httpx.HTTPError as exc:
                err.print(f"[yellow]a simulated customer stopped:[/] {exc}", highlight=False)
                continue
            done.append(customer)
            bar.advance(task)
    client.close()

    now = datetime.now(UTC)
    starts = start_times(rng, len(done), weeks, settings.zone, now)
    rng.shuffle(starts)
    db = Database(settings.sqlalchemy_url)
    try:
        marked = backdate(db, [SessionPlan(c.session_id, at, plans.get(c.session_id, {}))
                               for c, at in zip(done, starts, strict=True)], now)
        ratings, feedback = [], []
        with db.session() as session:
            for c, at in zip(done, starts, strict=True):
                if rng.random() < behaviour.rep_rating:
                    helpful = rng.random() < 0.7
                    row = Rating(rep="U0SIMREP", channel="slack", query=c.question,
                                 article_id=rng.choice(_article_ids(db) or ["reset-password"]),
                                 helpful=helpful, reason=None if helpful else rng.choice(
                                     ("wrong_article", "outdated", "incomplete")),
                                 created_at=at, simulated=True)
                    session.add(row)
                    ratings.append(row)
            for i in range(max(1, len(done) // 25)):
                at = starts[rng.randrange(len(starts))] if starts else now
                item = ProcessFeedback(rep="U0SIMREP", rep_name="Demo rep",
                                       area=rng.choice(AREAS),
                                       what_happened=FEEDBACK_TEXTS[i % len(FEEDBACK_TEXTS)],
                                       impact=rng.choice(("low", "medium", "high")),
                                       created_at=at, updated_at=at, simulated=True)
                session.add(item)
                feedback.append(item)
        mark_rows(db, Rating, [r.id for r in ratings])
    finally:
        db.dispose()
    outcomes: dict[str, int] = {}
    for c in done:
        outcomes[c.outcome] = outcomes.get(c.outcome, 0) + 1
    typer.echo(f"{len(done)} simulated customers over the past {weeks} weeks: "
               + ", ".join(f"{n} {k}" for k, n in sorted(outcomes.items())))
    typer.echo(f"marked simulated: {marked.sessions} conversations, {marked.events} events, "
               f"{marked.messages} messages, {marked.tickets} tickets; {len(ratings)} rep "
               f"ratings and {len(feedback)} feedback items added")
    if done and marked.sessions == 0:
        err.print("[bold red]error:[/] none of the conversations is in "
                  f"{settings.sqlalchemy_url}: run simulate with the service's "
                  "FRONTLINE_DATABASE_URL / FRONTLINE_DATA_DIR", highlight=False)
        raise typer.Exit(1)


def _article_ids(db: Any) -> list[str]:
    from sqlalchemy import distinct, select

    from frontline.db import Event

    with db.session() as session:
        return [a for a in session.scalars(select(distinct(Event.article_id)).where(
            Event.article_id.is_not(None), Event.simulated.is_(True)).limit(100)) if a]
