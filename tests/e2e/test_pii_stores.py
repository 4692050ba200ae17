"""A conversation full of personal data through the real assistant, then a search of every
table and column of both databases — Frontline's and Rasa's tracker store — for each value.

Emails may sit only where we keep them on purpose (a ticket's reply address, and the vault
row behind the token Rasa saw instead); card and phone numbers nowhere at all.
"""

from __future__ import annotations

import random
import re
import uuid
from typing import Any

from sqlalchemy import create_engine, inspect, text

from frontline.rasa.endpoints import tracker_file
from tests.e2e.conftest import Chat, text_of
from tests.support.stack import Stack

ALLOWED_EMAIL_COLUMNS = {("tickets", "email"), ("email_tokens", "email")}


def luhn_card(rng: random.Random) -> str:
    """A 16-digit Visa-like number that passes the Luhn check (so masking must catch it)."""
    digits = [4] + [rng.randrange(10) for _ in range(14)]
    total = 0
    for i, d in enumerate(reversed(digits)):
        total += (d * 2 - 9 if d > 4 else d * 2) if i % 2 == 0 else d
    return "".join(map(str, [*digits, (10 - total % 10) % 10]))


def every_value(url: str) -> list[tuple[str, str, str]]:
    """(table, column, value as text) for every non-empty cell of every table."""
    engine = create_engine(url)
    try:
        out = []
        with engine.connect() as conn:
            for table in inspect(conn).get_table_names():
                columns = [c["name"] for c in inspect(conn).get_columns(table)]
                for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                    out += [(table, col, str(value)) for col, value in zip(columns, row,
                                                                          strict=True)
                            if value is not None]
        return out
    finally:
        engine.dispose()


def found(cells: list[tuple[str, str, str]], needle: str) -> set[tuple[str, str]]:
    needle = needle.lower()
    return {(table, column) for table, column, value in cells if needle in value.lower()}


def test_no_email_card_or_phone_in_clear_outside_our_masked_columns(stack: Stack) -> None:
    rng = random.Random()
    tag = uuid.uuid4().hex[:8]
    email = f"Pat.Doe.{tag}@Example.org"
    card = luhn_card(rng)
    card_spaced = " ".join(card[i:i + 4] for i in range(0, 16, 4))
    phone_digits = f"20 7946 {rng.randrange(1000, 9999)}"
    phone = f"+44 {phone_digits}"
    chat = Chat(stack)

    chat.say(f"hi, my card {card_spaced} was charged twice for the same invoice")
    asked = chat.say(f"please open a ticket about this problem, you can call me on {phone}")
    assert "email" in text_of(asked).lower(), asked
    summary = chat.say(f"my email is {email}")
    assert summary and "problem" in text_of(summary).lower(), summary
    details = chat.say("Charged twice for one invoice")
    assert "detail" in text_of(details).lower() or "describe" in text_of(details).lower()
    done = text_of(chat.say(f"card {card}, or mail {email.lower()} or phone {phone}"))
    number = int(re.search(r"#(\d+)", done).group(1))  # type: ignore[union-attr]
    # The confirmation shows the address masked; the ticket holds the real one.
    assert "p•••@example.org" in done and email.lower() not in done.lower()
    ticket = stack.app.state.services.tickets.get(number)
    assert ticket.email == email.lower()
    # A later lookup with the address works: the token Rasa keeps is revealed for it.
    status = text_of(chat.say(f"what's the status of ticket {number}?"))
    if f"#{number}" not in status:  # asked for the address (else the slot still held it)
        status = text_of(chat.say(email))
    assert f"#{number}" in status and "couldn't find" not in status, status

    ours = every_value(stack.settings.sqlalchemy_url)
    rasa = every_value(stack.settings.rasa_tracker_url
                       or f"sqlite:///{tracker_file(stack.settings)}")
    assert any(t == "events" and "Charged twice" in v for t, _, v in rasa), \
        "the tracker store was not searched"
    where: dict[str, Any] = {
        "email in ours": found(ours, email) - ALLOWED_EMAIL_COLUMNS,
        "email in rasa": found(rasa, email),
        "card in ours": found(ours, card) | found(ours, card_spaced),
        "card in rasa": found(rasa, card) | found(rasa, card_spaced),
        "phone in ours": found(ours, phone_digits),
        "phone in rasa": found(rasa, phone_digits),
    }
    assert not any(where.values()), where
    assert found(ours, email) == ALLOWED_EMAIL_COLUMNS  # the ticket's and the vault's copy
