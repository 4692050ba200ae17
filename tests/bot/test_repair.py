"""Conversation repair in the actions: vague openers, leaving a form, the message after a
"No", frustration — with the real retriever, the real decision and a real database."""

from __future__ import annotations

from bot.actions.knowledge import (
    AFTER_NO_TEXT,
    FRUSTRATED_TEXT,
    VAGUE_ASK_TEXT,
    VAGUE_TEXT,
    ActionAnswerFromKB,
    ActionKBFeedback,
)
from bot.actions.tickets import ActionStopForm, ValidateTicketStatusForm
from frontline.knowledge.context import is_frustrated
from frontline.services import Services
from tests.bot.test_actions import run, services, slot, tracker

__all__ = ["services"]


def test_a_one_word_opener_is_clarified_with_topics_not_answered(services: Services) -> None:
    for opener in ("billing", "my account", "notifications"):
        messages, events = run(ActionAnswerFromKB(services), tracker(opener))
        assert slot(events, "kb_state") == "clarify", (opener, messages)
        assert messages[0]["text"] == VAGUE_TEXT
        payloads = [b["payload"] for b in messages[0]["buttons"]]
        assert 2 <= len(payloads) - 1 <= 3 and payloads[-1] == "/deny", payloads
    # The same words with a question around them are answered outright.
    messages, events = run(ActionAnswerFromKB(services),
                           tracker("how do I turn off email notifications for comments"))
    assert slot(events, "kb_state") == "answered", messages


def test_a_vague_opener_nothing_matches_is_asked_what_about(services: Services) -> None:
    messages, _events = run(ActionAnswerFromKB(services), tracker("xyzzy"))
    assert [m["text"] for m in messages] in ([VAGUE_ASK_TEXT], [VAGUE_TEXT]), messages
    assert "ticket" not in str(messages[0].get("buttons"))


def test_a_question_instead_of_the_email_is_answered_not_looped(services: Services) -> None:
    form = ValidateTicketStatusForm(services)
    dispatcher_messages, _ = run_validate(
        form, "it's about a refund for a double charge", "kb_question", services)
    texts = " ".join(m["text"] for m in dispatcher_messages)
    assert "doesn't look like an email" not in texts
    assert "About your question" in texts, dispatcher_messages
    assert dispatcher_messages[-1]["buttons"] == [{"title": "Stop", "payload": "/stop"}]
    # A real attempt at an address still gets the address rule, with a way out.
    messages, result = run_validate(form, "my email is secret", "kb_question", services)
    assert "doesn't look like an email" in messages[0]["text"]
    assert result == {"email": None}


def run_validate(form, text, intent, services):  # type: ignore[no-untyped-def]
    from rasa_sdk.executor import CollectingDispatcher

    dispatcher = CollectingDispatcher()
    result = form.validate_email(text, dispatcher, tracker(text, intent=intent), {})
    return dispatcher.messages, result


def test_stopping_a_form_clears_what_it_collected(services: Services) -> None:
    messages, events = run(ActionStopForm(services), tracker("never mind", intent="stop"))
    assert "stopped" in messages[0]["text"]
    for name in ("summary", "details", "ticket_number", "requested_slot"):
        assert slot(events, name) is None


def test_the_message_after_a_no_is_searched_with_the_question(services: Services) -> None:
    run(ActionAnswerFromKB(services), tracker("how do I import my issues from Jira"))
    first = services.events.for_session("test-session-1", "decision")[-1].article_id
    run(ActionKBFeedback(services), tracker("no", "deny", {"kb_state": "answered"}))
    events_so_far = [{"event": "user", "text": "no",
                      "parse_data": {"intent": {"name": "deny"}}},
                     {"event": "user", "text": "the field mapping screen never shows up"}]
    messages, events = run(ActionAnswerFromKB(services), tracker(
        "the field mapping screen never shows up", slots={"kb_state": "feedback_no"},
        events=events_so_far))
    tried = services.events.tried_articles("test-session-1")
    if slot(events, "kb_state") == "answered":
        # A new article, found with the question as context; never one already shown.
        last = services.events.for_session("test-session-1", "decision")[-1]
        assert last.query.startswith("how do I import my issues from Jira")
        assert tried.count(last.article_id) == 1 and last.article_id != first
    else:
        assert messages[0]["text"] == AFTER_NO_TEXT
        assert [b["payload"] for b in messages[0]["buttons"]] == [
            "/request_ticket", "/human_handoff"]


def test_after_a_no_nothing_fitting_offers_a_person_not_a_list(services: Services) -> None:
    run(ActionAnswerFromKB(services), tracker("I forgot my password and cannot sign in"))
    run(ActionKBFeedback(services), tracker("no", "deny", {"kb_state": "answered"}))
    run(ActionKBFeedback(services), tracker("no", "deny", {"kb_state": "feedback_no"}))
    events_so_far = [{"event": "user", "text": "no", "parse_data": {"intent": {"name": "deny"}}},
                     {"event": "user", "text": "my cat walked over the keyboard"}]
    messages, events = run(ActionAnswerFromKB(services), tracker(
        "my cat walked over the keyboard", slots={"kb_state": "abstained"},
        events=events_so_far))
    assert messages[0]["text"] == AFTER_NO_TEXT, messages
    assert slot(events, "kb_state") == "abstained"
    assert not any("choose_article" in str(m.get("buttons")) for m in messages)


def test_frustration_gets_one_acknowledgement_the_same_help_and_a_person() -> None:
    assert is_frustrated("THIS STUPID EXPORT STILL DOESN'T WORK")
    assert is_frustrated("wtf, my invoice is wrong again")
    assert not is_frustrated("Hello, how do I set up SAML SSO?")
    assert not is_frustrated("SAML SSO API")


def test_a_frustrated_customer_is_helped_and_offered_a_person(services: Services) -> None:
    messages, events = run(ActionAnswerFromKB(services),
                           tracker("I FORGOT MY PASSWORD AND CANNOT SIGN IN, FIX THIS"))
    assert messages[0]["text"] == FRUSTRATED_TEXT
    assert sum(m["text"] == FRUSTRATED_TEXT for m in messages) == 1
    assert slot(events, "kb_state") == "answered", messages
    assert "password" in messages[1]["text"].lower()
    assert "/human_handoff" in [b["payload"] for b in messages[-1]["buttons"]]
    calm = services.events.for_session("test-session-1", "decision")[-1].query
    assert calm == calm.lower()  # searched as a question, not as shouting


def test_an_unsure_never_mind_ends_the_form_and_files_nothing(services: Services) -> None:
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher

    from bot.actions.tickets import ActionFileTicket, ValidateTicketForm

    unsure = Tracker(
        sender_id="test-session-1", slots={"email": "ann@example.com"},
        latest_message={"text": "never mind", "intent": {"name": "nlu_fallback"},
                        "intent_ranking": [{"name": "nlu_fallback", "confidence": 0.6},
                                           {"name": "stop", "confidence": 0.45},
                                           {"name": "deny", "confidence": 0.4}],
                        "entities": []},
        events=[], paused=False, followup_action=None, active_loop={"name": "ticket_form"},
        latest_action_name=None)
    dispatcher = CollectingDispatcher()
    result = ValidateTicketForm(services).validate_summary("never mind", dispatcher, unsure, {})
    assert result == {"summary": None, "requested_slot": None}
    assert "stopped" in dispatcher.messages[0]["text"]
    # The form's completion rule still runs the filing action: with a slot missing it files
    # nothing.
    messages, _ = run(ActionFileTicket(services), tracker(
        slots={"email": "ann@example.com", "summary": None, "details": None}))
    assert messages == []
    assert services.events.for_session("test-session-1", "ticket") == []
