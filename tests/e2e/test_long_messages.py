"""Long messages as customers write them (issue 16), through the real assistant: a real Rasa
server with the trained model, the real service and the sample KB. A greeting and a story
around the question do not stop the assistant answering what is asked
(frontline.knowledge.query)."""

from __future__ import annotations

from tests.e2e.conftest import Chat


def links(messages):  # type: ignore[no-untyped-def]
    return [link["url"] for m in messages for link in m["links"]]


def test_a_chatty_message_with_the_question_in_the_middle_gets_the_article(chat: Chat) -> None:
    reply = chat.say(
        "Hi all, our IT department rolled out a new security policy over the summer and every "
        "SaaS tool now needs a second login step. I read somewhere that some tools only do "
        "text messages. Can I set up two-factor authentication in Tasklane with SMS codes, or "
        "which options are there? We're twelve people on the Team plan and most of us use "
        "iPhones, if that matters. Thanks, Lee")
    assert any(url.endswith("/set-up-two-factor-authentication") for url in links(reply)), reply


def test_a_pasted_log_around_the_question_gets_the_article(chat: Chat) -> None:
    log = "\n".join(f"2026-11-30 10:{i % 60:02d}:00 INFO heartbeat ok batch={i}"
                    for i in range(560))
    message = (
        "Hello from a very rainy Bergen! Our IT person asked me to paste what the sync tool "
        "printed, so here it is:\n" + log + "\nI teach chemistry at an accredited upper "
        "secondary school and three colleagues and I want to plan our lab schedule in "
        "Tasklane. Is there an education discount for schools, and how do we apply for it? "
        "We'd start next term, with about twelve teachers. Many thanks, Ola")
    assert len(message) > 20_000  # the chat cuts it to its salient part for the assistant
    reply = chat.say(message)
    assert any(url.endswith("/nonprofit-and-education-discount") for url in links(reply)), reply
