"""Answer quality and conversation repair through the real assistant (issue 16): a real Rasa
server with the trained model, the real service, the sample KB — as a customer types."""

from __future__ import annotations

from tests.e2e.conftest import Chat, text_of
from tests.support.stack import Stack


def buttons(messages):  # type: ignore[no-untyped-def]
    return [b for m in messages for b in m["buttons"]]


def links(messages):  # type: ignore[no-untyped-def]
    return [link["url"] for m in messages for link in m["links"]]


def test_a_vague_opener_is_clarified_with_topics(chat: Chat) -> None:
    reply = chat.say("billing")
    payloads = [b["payload"] for b in buttons(reply)]
    assert "what about" in text_of(reply).lower(), reply
    assert sum(p.startswith("/choose_article") for p in payloads) >= 2, payloads
    assert links(reply) == []  # no article asserted as the answer
    picked = chat.click(reply, buttons(reply)[0]["title"])
    assert links(picked), picked


def test_a_follow_up_is_answered_in_context(chat: Chat) -> None:
    first = chat.say("how do I export my data")
    assert any("export" in url for url in links(first)), first
    follow = chat.say("what about attachments?")
    assert any("export" in url for url in links(follow)), follow


def test_another_language_is_told_so_in_that_language(chat: Chat) -> None:
    reply = chat.say("¿Cómo puedo cambiar la contraseña de mi cuenta?")
    text = text_of(reply)
    assert "inglés" in text.lower(), text
    assert {b["payload"] for b in buttons(reply)} == {"/request_ticket", "/human_handoff"}
    assert links(reply) == []


def test_a_question_instead_of_the_email_is_handled_then_stop_leaves(chat: Chat,
                                                                    stack: Stack) -> None:
    ticket = stack.app.state.services.tickets.create(email="cy@example.com",
                                                     summary="Double charge")
    asked = chat.say(f"what's the status of ticket {ticket.number}?")
    assert "email" in text_of(asked).lower(), asked
    question = chat.say("it's about a refund for a double charge")
    said = text_of(question)
    assert "doesn't look like an email" not in said, question
    assert "Stop" in [b["title"] for b in buttons(question)], question
    stopped = chat.click(question, "Stop")
    assert "stopped" in text_of(stopped).lower(), stopped
    # Out of the form: the next message is a question again, not an email address.
    after = chat.say("how do I reset my password")
    assert any(url.endswith("/reset-password") for url in links(after)), after


def test_never_mind_leaves_the_ticket_form(chat: Chat, stack: Stack) -> None:
    asked = chat.say("I want to open a ticket")
    assert "email" in text_of(asked).lower(), asked
    stopped = chat.say("never mind")
    assert "stopped" in text_of(stopped).lower(), stopped
    assert "doesn't look like an email" not in text_of(stopped)
    assert stack.app.state.services.events.for_session(chat.session_id, "ticket") == []


def test_a_number_nobody_asked_a_rating_for_is_not_recorded_as_csat(chat: Chat,
                                                                    stack: Stack) -> None:
    """A message with a small number after an answer ("I bought it 3 weeks ago", which the NLU
    reads as a rating) is handled as a message, and no CSAT rating is recorded; the rating
    asked for after "Yes, that helped" is."""
    events = stack.app.state.services.events
    first = chat.say("can I get a refund on my annual plan?")
    assert any(url.endswith("/refund-policy") for url in links(first)), first
    assert "Annual plans" in text_of(first), first  # the section the question names
    typed = chat.say("I bought it 3 weeks ago")
    assert "Thank you for" not in text_of(typed), typed
    assert links(typed) or buttons(typed), typed  # answered, or help offered
    assert events.for_session(chat.session_id, "csat") == []
    again = chat.say("how do I reset my password")
    helped = chat.click(again, "Yes")
    assert "rate" in text_of(helped).lower(), helped
    rated = chat.say("4")
    assert "Thank you for the feedback" in text_of(rated), rated
    assert [e.csat for e in events.for_session(chat.session_id, "csat")] == [4]


def test_a_ticket_asked_for_first_thing_proposes_no_summary(chat: Chat) -> None:
    """Nothing asked before "I want to open a ticket": the summary question proposes nothing —
    not the email address just typed (which Rasa only sees as a placeholder token)."""
    asked = chat.say("i want to open a ticket")
    assert "email" in text_of(asked).lower(), asked
    summary = chat.say("jo@example.com")
    said = text_of(summary)
    assert "one line" in said.lower(), summary
    assert "I suggest" not in said and "@" not in said and buttons(summary) == [], summary


def test_a_pick_typed_instead_of_clicked_opens_that_article(chat: Chat) -> None:
    reply = chat.say("billing")
    offered = [b for b in buttons(reply) if b["payload"].startswith("/choose_article")]
    assert len(offered) >= 2, reply
    second = offered[1]["payload"].split('"article_id": "')[1].split('"')[0]
    picked = chat.say("the second one")
    assert "couldn't open" not in text_of(picked), picked
    assert any(url.endswith(f"/{second}") for url in links(picked)), (second, picked)
