"""Custom actions with CollectingDispatcher, real Trackers, the real retriever and a real DB."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.actions import ACTIONS
from bot.actions.csat import ActionRecordCsat
from bot.actions.handoff import ActionHandoff
from bot.actions.knowledge import (
    CLARIFY_CLOSE_TEXT,
    CLARIFY_UNSURE_TEXT,
    ActionAnswerFromKB,
    ActionKBFeedback,
    ActionShowArticle,
)
from bot.actions.tickets import (
    ActionAskSummary,
    ActionFileTicket,
    ActionTicketStatus,
    ValidateTicketForm,
    ValidateTicketStatusForm,
)
from frontline.db import Database
from frontline.knowledge import KnowledgeBase
from frontline.services import Services
from frontline.support.conversations import BOT, CUSTOMER
from tests.conftest import make_settings

SESSION = "test-session-1"


@pytest.fixture
def services(sample_index: Path, real_embedder, tmp_path: Path) -> Services:  # type: ignore[no-untyped-def]
    settings = make_settings(sample_index, sample_index / "kb",
                             database_url=f"sqlite:///{tmp_path / 'db.sqlite'}")
    db = Database(settings.database_url)
    db.migrate()
    return Services.build(settings, knowledge=KnowledgeBase(settings, real_embedder), db=db)


def tracker(text: str = "", intent: str = "kb_question", slots: dict[str, Any] | None = None,
            events: list[dict[str, Any]] | None = None, sender: str = SESSION) -> Tracker:
    return Tracker(
        sender_id=sender,
        slots=slots or {},
        latest_message={"text": text, "intent": {"name": intent, "confidence": 0.9},
                        "entities": []},
        events=events or [{"event": "user", "text": text}],
        paused=False, followup_action=None, active_loop={}, latest_action_name=None,
    )


def run(action: Any, t: Tracker) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = action.run(dispatcher, t, {})
    return dispatcher.messages, events


def slot(events: list[dict[str, Any]], name: str) -> Any:
    values = [e["value"] for e in events if e.get("event") == "slot" and e["name"] == name]
    return values[-1] if values else "<unset>"


def test_a_kb_question_is_answered_with_title_passage_and_link(services: Services) -> None:
    messages, events = run(ActionAnswerFromKB(services),
                           tracker("I forgot my password and cannot sign in"))
    assert slot(events, "kb_state") == "answered", messages
    assert "**Reset or change your password**" in messages[0]["text"]
    assert messages[0]["custom"]["links"][0]["url"].endswith("/reset-password")
    assert [b["payload"] for b in messages[1]["buttons"]] == ["/affirm", "/deny"]
    (decision,) = services.events.for_session(SESSION, "decision")
    assert decision.decision == "answer" and decision.article_id == "reset-password"
    assert decision.hits[0]["article_id"] == "reset-password"
    # The event records what the decision compared: certainty against the thresholds in force.
    thresholds = services.knowledge.thresholds
    assert decision.certainty == decision.hits[0]["certainty"] >= thresholds.answer
    assert decision.certainty != decision.hits[0]["score"]  # not the cosine
    assert decision.thresholds == thresholds.as_dict() and decision.ambiguous is False


def test_an_unanswerable_question_abstains_honestly(services: Services) -> None:
    messages, events = run(ActionAnswerFromKB(services),
                           tracker("what's the weather like in Paris tomorrow"))
    assert slot(events, "kb_state") == "abstained"
    assert "couldn't find" in messages[0]["text"]
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/request_ticket", "/human_handoff"]
    assert services.events.for_session(SESSION, "decision")[0].decision == "abstain"


def test_a_vague_question_offers_close_articles(services: Services) -> None:
    messages, events = run(ActionAnswerFromKB(services), tracker("login problems"))
    assert slot(events, "kb_state") == "clarify", messages
    assert messages[0]["text"] in (CLARIFY_CLOSE_TEXT, CLARIFY_UNSURE_TEXT)
    payloads = [b["payload"] for b in messages[0]["buttons"]]
    assert 2 <= len(payloads) <= 4 and payloads[-1] == "/deny"
    assert all(p.startswith('/choose_article{"article_id": ') for p in payloads[:-1])


def test_yes_to_a_clarify_list_is_no_deflection(services: Services) -> None:
    from bot.actions.knowledge import PICK_ONE_TEXT

    run(ActionAnswerFromKB(services), tracker("login problems"))
    messages, events = run(ActionKBFeedback(services),
                           tracker("yes", intent="affirm", slots={"kb_state": "clarify"}))
    assert [m["text"] for m in messages] == [PICK_ONE_TEXT]
    assert events == []
    assert services.events.for_session(SESSION, "feedback") == []  # nothing was deflected


def test_internal_articles_never_reach_customers(services: Services) -> None:
    messages, _ = run(ActionAnswerFromKB(services),
                      tracker("refund exceptions team lead approval backstage"))
    assert "refund-exceptions" not in str(messages)
    shown, _ = run(ActionShowArticle(services),
                   tracker(slots={"article_id": "refund-exceptions"}, intent="choose_article"))
    assert "couldn't open that article" in shown[0]["text"]


def test_choosing_an_article_shows_it(services: Services) -> None:
    messages, events = run(ActionShowArticle(services),
                           tracker(slots={"article_id": "mobile-offline-mode"},
                                   intent="choose_article"))
    assert slot(events, "kb_state") == "answered"
    assert "offline" in messages[0]["text"].lower()


def test_yes_counts_deflection_and_asks_for_csat(services: Services) -> None:
    run(ActionAnswerFromKB(services), tracker("I forgot my password and cannot sign in"))
    messages, events = run(ActionKBFeedback(services),
                           tracker("yes", "affirm", {"kb_state": "answered"}))
    assert slot(events, "kb_state") is None
    assert messages[1] == {**messages[1], "response": "utter_ask_csat"}
    (feedback,) = services.events.for_session(SESSION, "feedback")
    assert feedback.deflected is True and feedback.article_id == "reset-password"


def test_no_offers_the_next_best_article_once_then_a_ticket(services: Services) -> None:
    run(ActionAnswerFromKB(services), tracker("I forgot my password and cannot sign in"))
    messages, events = run(ActionKBFeedback(services),
                           tracker("no", "deny", {"kb_state": "answered"}))
    assert slot(events, "kb_state") == "feedback_no"
    assert "Sorry about that" in messages[0]["text"]
    second = services.events.for_session(SESSION, "decision")[-1].article_id
    assert second not in (None, "reset-password")
    messages, events = run(ActionKBFeedback(services),
                           tracker("no", "deny", {"kb_state": "feedback_no"}))
    assert slot(events, "kb_state") == "abstained"
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/request_ticket", "/human_handoff"]
    feedback = services.events.for_session(SESSION, "feedback")
    assert [f.deflected for f in feedback] == [False, False]


def test_ticket_form_validation_and_filing(services: Services) -> None:
    services.conversations.add(SESSION, CUSTOMER, "exports fail with error TL-500 since monday")
    services.conversations.add(SESSION, BOT, "I'm sorry — I couldn't find anything")
    run(ActionAnswerFromKB(services), tracker("exports fail with error TL-500 since monday"))
    validate = ValidateTicketForm(services)
    dispatcher = CollectingDispatcher()
    assert validate.validate_email("nope", dispatcher, tracker(), {}) == {"email": None}
    assert "doesn't look like an email" in dispatcher.messages[0]["text"]
    assert validate.validate_email(" Ann@Example.com ", dispatcher, tracker(), {}) == {
        "email": "ann@example.com"}
    long = validate.validate_summary("x " * 150, dispatcher, tracker(), {})["summary"]
    assert len(long) <= 200

    asked, _ = run(ActionAskSummary(services), tracker())
    assert asked[0]["buttons"][0]["payload"].startswith("Exports fail with error TL-500")

    messages, events = run(ActionFileTicket(services), tracker(slots={
        "email": "ann@example.com", "summary": "Exports fail", "details": "since monday"}))
    # The confirmation (kept in Rasa's tracker and our messages) shows the address masked.
    assert "#10001" in messages[0]["text"] and "a•••@example.com" in messages[0]["text"]
    assert "ann@example.com" not in messages[0]["text"]
    ticket = services.tickets.get(10001)
    assert ticket.tried_articles == [] and ticket.details == "since monday"
    assert [t["sender"] for t in ticket.transcript] == ["customer", "bot"]
    assert services.events.for_session(SESSION, "ticket")[0].ticket_id == ticket.id
    assert slot(events, "summary") is None


def test_ticket_status_right_and_wrong(services: Services) -> None:
    ticket = services.tickets.create(email="ann@example.com", summary="Exports fail")
    validate = ValidateTicketStatusForm(services)
    d = CollectingDispatcher()
    assert validate.validate_ticket_number("#10001", d, tracker(), {}) == {
        "ticket_number": "10001"}
    assert validate.validate_ticket_number("12", d, tracker(), {}) == {"ticket_number": None}
    right, _ = run(ActionTicketStatus(services), tracker(slots={
        "ticket_number": str(ticket.number), "email": "ann@example.com"}))
    assert "#10001" in right[0]["text"] and "open" in right[0]["text"]
    wrong, _ = run(ActionTicketStatus(services), tracker(slots={
        "ticket_number": str(ticket.number), "email": "eve@example.com"}))
    assert "couldn't find" in wrong[0]["text"] and "Exports" not in wrong[0]["text"]


def test_handoff_files_a_priority_ticket_and_pauses_the_bot(services: Services) -> None:
    run(ActionAnswerFromKB(services), tracker("my whole workspace vanished"))
    messages, events = run(ActionHandoff(services), tracker("talk to a human", "human_handoff"))
    ticket = services.tickets.get(10001)
    assert ticket.handoff and ticket.priority == "high"
    assert ticket.summary.startswith("My whole workspace vanished")
    assert services.conversations.handoff_ticket(SESSION) == ticket.id
    assert "#10001" in messages[0]["text"] and slot(events, "handoff") is True
    assert any(e["event"] == "active_loop" and e["name"] is None for e in events)


def test_csat_is_recorded(services: Services) -> None:
    messages, _ = run(ActionRecordCsat(services), tracker("/csat", "csat", {"csat_score": "4"}))
    assert services.events.for_session(SESSION, "csat")[0].csat == 4
    assert "Thank you" in messages[0]["text"]
    again, _ = run(ActionRecordCsat(services), tracker("/csat", "csat", {"csat_score": "9"}))
    assert again[0]["response"] == "utter_ask_csat"


def test_a_typed_rating_counts_only_as_the_reply_to_the_csat_question(services: Services
                                                                      ) -> None:
    asked = {"event": "bot", "text": "How would you rate…", "data": {"buttons": [
        {"title": "4", "payload": '/csat{"csat_score": "4"}'}]}}
    answer = {"event": "bot", "text": "**Refund policy**", "data": {"buttons": [
        {"title": "Yes, that helped", "payload": "/affirm"}]}}
    typed = {"event": "user", "text": "I bought it 3 weeks ago"}
    session = "csat-typed-session"
    # After an answer: not a rating. Nothing recorded; the message goes to the KB action.
    messages, events = run(ActionRecordCsat(services), tracker(
        typed["text"], "csat", {"csat_score": "3"}, [answer, typed], sender=session))
    assert messages == [] and services.events.for_session(session, "csat") == []
    assert {"event": "followup", "name": "action_answer_from_kb"} in [
        {k: e.get(k) for k in ("event", "name")} for e in events]
    assert slot(events, "csat_score") is None
    # Right after the CSAT question: a rating.
    run(ActionRecordCsat(services), tracker("I'd give it a 3", "csat", {"csat_score": "3"},
                                            [answer, {"event": "user", "text": "yes"}, asked,
                                             {"event": "user", "text": "I'd give it a 3"}],
                                            sender=session))
    assert [e.csat for e in services.events.for_session(session, "csat")] == [3]


def test_every_action_constructs_without_arguments_and_does_no_io() -> None:
    names = {cls().name() for cls in ACTIONS}
    assert len(names) == len(ACTIONS)


@pytest.mark.parametrize(("text", "language", "says"), [
    ("¿Cómo restablezco mi contraseña de la cuenta?", "es", "solo puedo responder en inglés"),
    ("Wo finde ich meine Rechnungen für dieses Jahr?", "de", "nur auf Englisch antworten"),
    ("Je n'ai pas reçu ma facture ce mois-ci", "fr", "qu'en anglais"),
])
def test_a_question_in_another_language_is_told_so_honestly(
        services: Services, text: str, language: str, says: str) -> None:
    messages, events = run(ActionAnswerFromKB(services), tracker(text))
    assert slot(events, "kb_state") == "abstained"
    assert says in messages[0]["text"]
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/request_ticket", "/human_handoff"]
    (decision,) = services.events.for_session(SESSION, "decision")
    assert (decision.decision, decision.language, decision.hits) == ("abstain", language, [])


def test_english_questions_are_never_taken_for_another_language(services: Services) -> None:
    from frontline.evaluation.metrics import load_questions

    questions = load_questions(services.settings.eval_questions)
    check = services.knowledge.language
    assert [q.question for q in questions if check.foreign(q.question)] == []


def test_a_follow_up_is_read_with_the_previous_question(services: Services) -> None:
    run(ActionAnswerFromKB(services), tracker("how do I export my data"))
    messages, events = run(ActionAnswerFromKB(services), tracker("what about attachments?"))
    assert slot(events, "kb_state") == "answered", messages
    assert "export" in messages[0]["text"].lower()
    last = services.events.for_session(SESSION, "decision")[-1]
    assert last.query == "how do I export my data what about attachments?"
    # A message that stands on its own is not mixed with the previous question.
    run(ActionAnswerFromKB(services), tracker("my invoice shows the wrong VAT number"))
    assert services.events.for_session(SESSION, "decision")[-1].query == (
        "my invoice shows the wrong VAT number")


def test_a_typed_pick_names_an_offered_article() -> None:
    from bot.actions.common import choose_article_payload, offered_articles, typed_choice

    offered = [("refund-policy", "Refund policy"),
               ("cancel-subscription", "Cancel your subscription"), ("free-trial", "Free trial")]
    clarify = {"event": "bot", "text": "These articles look closest…", "data": {"buttons": [
        *({"title": t, "payload": choose_article_payload(a)} for a, t in offered),
        {"title": "None of these", "payload": "/deny"}]}}
    picked = tracker("the second one", "choose_article",
                     events=[clarify, {"event": "user", "text": "the second one"}])
    assert offered_articles(picked) == offered
    assert typed_choice("the second one", offered) == "cancel-subscription"
    assert typed_choice("number 3 please", offered) == "free-trial"
    assert typed_choice("the last", offered) == "free-trial"
    assert typed_choice("the refund one", offered) == "refund-policy"  # by its title
    assert typed_choice("the fifth", offered) is None
    assert typed_choice("the first or the second", offered) is None  # names two
    assert typed_choice("the second", []) is None
    # A list shown before an earlier message is not what this one picks from.
    later = tracker("the second", "choose_article", events=[
        clarify, {"event": "user", "text": "hmm"}, {"event": "bot", "text": "What about?"},
        {"event": "user", "text": "the second"}])
    assert offered_articles(later) == []


def test_a_typed_pick_shows_that_article_and_no_pick_is_a_question(services: Services) -> None:
    from bot.actions.common import choose_article_payload

    clarify = {"event": "bot", "text": "These articles look closest…", "data": {"buttons": [
        {"title": "Refund policy", "payload": choose_article_payload("refund-policy")},
        {"title": "Free trial", "payload": choose_article_payload("free-trial")}]}}
    messages, events = run(ActionShowArticle(services), tracker(
        "the second one", "choose_article",
        events=[clarify, {"event": "user", "text": "the second one"}]))
    assert slot(events, "kb_state") == "answered"
    assert messages[0]["custom"]["links"][0]["url"].endswith("/free-trial")
    messages, events = run(ActionShowArticle(services), tracker("the second one",
                                                                "choose_article"))
    assert messages == [] and {"event": "followup", "name": "action_answer_from_kb"} in [
        {k: e.get(k) for k in ("event", "name")} for e in events]


def test_a_typed_rating_after_the_service_asked_for_one_counts(services: Services) -> None:
    """After a handoff ends the service asks for the rating in the chat (not Rasa): "5" typed
    in reply counts; typed after some other message it does not."""
    from frontline.support import BOT, CUSTOMER
    from frontline.support.handoff import CSAT_BUTTONS, CSAT_QUESTION

    session = "csat-after-handoff"
    chats = services.conversations
    chats.add(session, BOT, CSAT_QUESTION, data={"buttons": CSAT_BUTTONS, "csat_asked": True})
    chats.add(session, CUSTOMER, "5")
    run(ActionRecordCsat(services), tracker("5", "csat", {"csat_score": "5"}, sender=session))
    assert [e.csat for e in services.events.for_session(session, "csat")] == [5]
    chats.add(session, BOT, "You're welcome!")
    chats.add(session, CUSTOMER, "we have 4 projects")
    _, events = run(ActionRecordCsat(services), tracker(
        "we have 4 projects", "csat", {"csat_score": "4"}, sender=session))
    assert [e.csat for e in services.events.for_session(session, "csat")] == [5]
    assert any(e.get("event") == "followup" for e in events)


def test_a_handoff_after_a_form_files_the_real_address_not_rasas_token(services: Services
                                                                       ) -> None:
    """The ticket form left the address in the email slot as the token Rasa saw; a person
    asked for next must get the address they can write back to."""
    import re as re_module

    from frontline.support.vault import EmailVault

    session = "handoff-after-form"
    token = EmailVault(services.db).protect(session, "Ann.Lee@example.com")
    assert token.endswith("@email.invalid")
    messages, _ = run(ActionHandoff(services), tracker(
        "get me a person", "human_handoff", {"email": token}, sender=session))
    number = int(re_module.search(r"#(\d+)", messages[0]["text"]).group(1))  # type: ignore[union-attr]
    assert services.tickets.get(number).email == "ann.lee@example.com"
