"""The email vault: what Rasa is sent instead of customers' addresses, cards and phones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update

from frontline.db import Database
from frontline.redaction import find_email, valid_email
from frontline.support.privacy import Privacy
from frontline.support.vault import EmailToken, EmailVault, is_token
from tests.conftest import make_settings


def test_addresses_become_stable_email_shaped_tokens_per_conversation(
        database: Database) -> None:
    vault = EmailVault(database)
    said = vault.protect("sess-a", "I'm Ann.Lee@Example.com, card 4111 1111 1111 1111, "
                                   "call +44 20 7946 0958")
    token = find_email(said)
    assert token is not None and is_token(token) and valid_email(token)
    assert "ann.lee" not in said.lower() and "4111 1111" not in said and "7946" not in said
    assert "[card ending 1111]" in said and "[phone]" in said
    assert vault.protect("sess-a", "again: ann.lee@example.com") == f"again: {token}"
    other = find_email(vault.protect("sess-b", "ann.lee@example.com"))
    assert other != token
    assert vault.protect("sess-a", f"as the bot said, {token}") == f"as the bot said, {token}"
    plain = "my export failed at 2026-11-30 12:00 with error TL-500, ticket #10234"
    assert vault.protect("sess-a", plain) == plain


def test_a_token_is_revealed_only_in_its_own_conversation(database: Database) -> None:
    vault = EmailVault(database)
    token = find_email(vault.protect("sess-a", "bo@example.com"))
    assert token is not None
    assert vault.reveal("sess-a", token) == "bo@example.com"
    assert vault.reveal("sess-a", token.upper()) == "bo@example.com"
    assert vault.reveal("sess-b", token) == token  # someone else's token gives nothing away
    assert vault.reveal("sess-a", "eve@example.com") == "eve@example.com"
    assert vault.reveal("sess-a", "") == ""
    # What the customer sees when the assistant echoes a token: the address, masked.
    assert vault.display("sess-a", f'I suggest: "write to {token}"') == \
        'I suggest: "write to b•••@example.com"'
    assert vault.display("sess-b", f"to {token}") == "to [email]"
    assert vault.display("sess-a", "no address here") == "no address here"


def test_privacy_erase_and_retention_remove_the_addresses(database: Database,
                                                         tmp_path: Path) -> None:
    vault = EmailVault(database)
    vault.protect("sess-ann", "ann@example.com")
    vault.protect("sess-old", "old@example.com")
    vault.protect("sess-bob", "bob@example.com")
    with database.session() as session:
        session.execute(update(EmailToken).where(EmailToken.session_id == "sess-old").values(
            created_at=datetime.now(UTC) - timedelta(days=40)))
    settings = make_settings(tmp_path, tmp_path, database_url=database.url)
    privacy = Privacy(database, settings)
    exported = privacy.export("Ann@example.com")
    assert [(t["session_id"], is_token(t["token"])) for t in exported["email_tokens"]] == [
        ("sess-ann", True)]
    assert "sess-ann" in {s["session_id"] for s in exported["sessions"]}
    assert privacy.erase("ANN@example.com")["email_tokens"] == 1
    assert privacy.purge(30)["email_tokens"] == 1
    with database.session() as session:
        left = session.scalars(select(EmailToken.email)).all()
    assert left == ["bob@example.com"]


def test_the_chat_turn_sends_tokens_and_shows_the_echo_masked(database: Database) -> None:
    import asyncio

    from tests.frontline.support.test_chat import _service

    service, assistant, _ = _service(database)
    replies = asyncio.run(service.handle("sess-echo", "mail lee@example.com, call 020 7946 0958"))
    assert "lee@example.com" not in assistant.seen[0] and "7946" not in assistant.seen[0]
    assert is_token(find_email(assistant.seen[0]) or "")
    # The assistant echoes what it got: the customer (and our messages) see the masked address.
    assert replies[0].text == "echo mail l•••@example.com, call [phone]"
    stored = service.conversations.messages("sess-echo", senders=("bot",))
    assert stored[0].text == replies[0].text
