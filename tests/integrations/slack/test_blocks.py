"""The Block Kit builders, tested as data: Slack's limits, escaping, ids and button values."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from indexer import Hit
from integrations.slack import blocks, ids
from integrations.slack.blocks import FeedbackCard, Suggestion, TicketCard
from tests.conftest import REPO

MANIFEST = REPO / "integrations" / "slack" / "manifest.yml"
EVIL = "<!channel> pay now <https://evil.example/login|your invoice> <@U0CEO> &amp"


def make_hit(
    article_id: str = "refunds",
    *,
    title: str = "Refunds and returns",
    url: str | None = "https://help.example.com/refunds",
    audience: str = "public",
    heading: str = "How long refunds take",
    passage: str = "Refunds reach the original payment method within 5–10 business days.",
    certainty: float = 0.8,
) -> Hit:
    """A hit whose certainty is ``certainty`` (score == certainty without a classifier)."""
    fields: dict[str, Any] = dict(
        article_id=article_id, title=title, url=url, audience=audience, heading=heading,
        snippet=passage[:300], passage=passage, score=certainty, matched="title",
    )
    try:
        return Hit(**fields)
    except TypeError:  # certainty became a plain field
        return Hit(**fields, certainty=certainty)  # type: ignore[call-arg]


def public(n: int = 0, **kw: Any) -> Suggestion:
    hit = make_hit(f"pub-{n}", title=f"Public article {n}", **kw)
    return Suggestion(hit, "high", hit.url)


def internal(n: int = 0, **kw: Any) -> Suggestion:
    hit = make_hit(f"int-{n}", title=f"Internal runbook {n}", audience="internal",
                   url="https://wiki.example.com/runbook", **kw)
    return Suggestion(hit, "medium", hit.url)


def long_suggestions(count: int = 30) -> list[Suggestion]:
    out = []
    for n in range(count):
        hit = make_hit(
            f"article-{n}-" + "x" * 300,
            title="A very long title " * 40,
            heading="A very long heading " * 30,
            passage=("Line of passage text with <tags> & ampersands.\n\n" * 400),
            audience="internal" if n % 2 else "public",
            url="https://help.example.com/" + "p" * 500,
        )
        out.append(Suggestion(hit, ("high", "medium", "low")[n % 3], hit.url))
    return out


# -- a checker for the limits Slack enforces --------------------------------------------------


def violations(payload: dict[str, Any], *, modal: bool = False) -> list[str]:
    """Every Slack limit ``payload`` (a message or a modal view) breaks."""
    found: list[str] = []
    block_list = payload["blocks"]
    max_blocks = 100 if modal else 50
    if len(block_list) > max_blocks:
        found.append(f"{len(block_list)} blocks > {max_blocks}")
    if modal:
        for key in ("title", "submit", "close"):
            if key in payload and len(payload[key]["text"]) > 24:
                found.append(f"modal {key} > 24")
        if len(payload.get("private_metadata", "")) > 3000:
            found.append("private_metadata > 3000")
        if len(payload.get("callback_id", "")) > 255:
            found.append("callback_id > 255")
    elif not 0 < len(payload["text"]) <= 4000:
        found.append(f"fallback text length {len(payload['text'])}")
    block_ids = [b.get("block_id") for b in block_list]
    if None in block_ids:
        found.append("a block without block_id")
    if len(set(block_ids)) != len(block_ids):
        found.append(f"duplicate block_ids {block_ids}")
    for block in block_list:
        bid = block.get("block_id") or ""
        if len(bid) > 255:
            found.append(f"block_id > 255: {bid[:40]}")
        kind = block["type"]
        if kind == "section":
            if "text" in block and len(block["text"]["text"]) > 3000:
                found.append(f"{bid}: section text > 3000")
            for f in block.get("fields", []):
                if len(f["text"]) > 2000:
                    found.append(f"{bid}: field > 2000")
            if len(block.get("fields", [])) > 10:
                found.append(f"{bid}: > 10 fields")
        elif kind == "header" and len(block["text"]["text"]) > 150:
            found.append(f"{bid}: header > 150")
        elif kind == "context":
            if len(block["elements"]) > 10:
                found.append(f"{bid}: > 10 context elements")
            found += [f"{bid}: context text > 3000" for e in block["elements"]
                      if len(e["text"]) > 3000]
        elif kind == "actions":
            action_ids = [e["action_id"] for e in block["elements"]]
            if len(set(action_ids)) != len(action_ids):
                found.append(f"{bid}: duplicate action_ids {action_ids}")
            if len(action_ids) > 25:
                found.append(f"{bid}: > 25 elements")
        _check_elements(block, bid, found)
    return found


def _check_elements(node: Any, where: str, found: list[str]) -> None:
    if isinstance(node, list):
        for item in node:
            _check_elements(item, where, found)
        return
    if not isinstance(node, dict):
        return
    if node.get("type") == "plain_text" and not node.get("text"):
        found.append(f"{where}: empty plain_text")
    if len(node.get("action_id", "")) > 255:
        found.append(f"{where}: action_id > 255")
    if node.get("type") == "button":
        if len(node["text"]["text"]) > 75:
            found.append(f"{where}: button label > 75")
        if len(node.get("value", "")) > 2000:
            found.append(f"{where}: button value > 2000")
    if "placeholder" in node and len(node["placeholder"]["text"]) > 150:
        found.append(f"{where}: placeholder > 150")
    for opt in node.get("options", []):
        if len(opt["text"]["text"]) > 75:
            found.append(f"{where}: option text > 75")
    for value in node.values():
        _check_elements(value, where, found)


def rendered_texts(payload: dict[str, Any]) -> list[str]:
    """Every string Slack parses for mentions and links: the mrkdwn text objects and the
    fallback ``text`` (plain_text objects are shown literally, so they need no escaping)."""
    texts = [payload["text"]] if isinstance(payload.get("text"), str) else []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                texts.append(node["text"])
            for key, value in node.items():
                if key != "value":
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(payload["blocks"])
    return texts


def buttons(payload: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in payload["blocks"] if b["type"] == "actions" for e in b["elements"]]


def block(payload: dict[str, Any], block_id: str) -> dict[str, Any]:
    return next(b for b in payload["blocks"] if b["block_id"] == block_id)


def submit(view: dict[str, Any], answers: dict[str, str | None]) -> dict[str, Any]:
    """The ``view["state"]["values"]`` Slack sends when ``answers`` ({block_id: value}) are
    entered in ``view``: option values for selects/radios, text for text inputs."""
    values: dict[str, Any] = {}
    for b in view["blocks"]:
        if b["type"] != "input":
            continue
        element = b["element"]
        answer = answers.get(b["block_id"])
        if element["type"] in ("static_select", "radio_buttons"):
            chosen = next((o for o in element["options"] if o["value"] == answer), None)
            state = {"type": element["type"], "selected_option": chosen}
        else:
            state = {"type": element["type"], "value": answer}
        values[b["block_id"]] = {element["action_id"]: state}
    return values


# -- text helpers -----------------------------------------------------------------------------


def test_truncate_cuts_with_an_ellipsis_only_when_needed() -> None:
    assert blocks.truncate("abc", 3) == "abc"
    assert blocks.truncate("abcdef", 4) == "abc…"
    assert len(blocks.truncate("x" * 5000, 3000)) == 3000


def test_safe_escapes_and_never_leaves_half_an_entity() -> None:
    assert blocks.safe("<!here> & co", 100) == "&lt;!here&gt; &amp; co"
    for limit in range(2, 12):
        cut = blocks.safe("a&b<c>d", limit)
        assert len(cut) <= limit
        body = cut.removesuffix("…")
        assert not any(body.endswith(p) for p in ("&", "&a", "&am", "&amp", "&l", "&lt", "&g"))


def test_link_only_links_plain_http_urls() -> None:
    assert blocks.link("https://kb.example/a?x=1&y=2", "A") == "<https://kb.example/a?x=1&y=2|A>"
    assert blocks.link(None, "<b>") == "&lt;b&gt;"
    for bad in ("javascript:alert(1)", "https://x.example|<!channel>", "https://a b", "<x>"):
        assert "<" not in blocks.link(bad, "Title")


def test_values_round_trip_and_respect_the_limit() -> None:
    data = {"article_id": "a-1", "query": "naïve “quotes” \"\\", "ticket": 7}
    encoded = blocks.encode_value(data)
    assert blocks.decode_value(encoded) == data
    assert blocks.encode_value({"a": 1, "b": [2, 3]}) == '{"a":1,"b":[2,3]}'  # compact
    assert "naïve “quotes”" in encoded  # not \\u-escaped: fewer characters
    with pytest.raises(ValueError):
        blocks.encode_value({"q": "x" * 2000})
    with pytest.raises(ValueError):
        blocks.decode_value("[1, 2]")
    assert blocks.decode_value("") == {}


def test_fit_value_cuts_the_text_even_when_json_escaping_doubles_it() -> None:
    query = '"\\' * 3000  # every character becomes two in JSON
    value = blocks.fit_value({"article_id": "a"}, "query", query)
    assert len(value) <= blocks.MAX_BUTTON_VALUE
    decoded = blocks.decode_value(value)
    assert decoded["article_id"] == "a"
    assert decoded["query"].endswith("…") and query.startswith(decoded["query"][:-1])
    assert len(value) > blocks.MAX_BUTTON_VALUE - 10  # cut no further than needed


# -- suggestions ------------------------------------------------------------------------------


@pytest.mark.parametrize("outcome", blocks.OUTCOMES)
@pytest.mark.parametrize("handoff_ticket", [None, 42])
def test_suggestions_message_stays_within_slack_limits(
    outcome: str, handoff_ticket: int | None
) -> None:
    msg = blocks.suggestions_message(
        "why " * 3000, long_suggestions(), outcome=outcome, context="ctx " * 2000,
        handoff_ticket=handoff_ticket,
    )
    assert violations(msg) == []
    assert len(msg["blocks"]) <= 50
    shown = [b for b in msg["blocks"] if b["block_id"].startswith(ids.SUGGESTION_TEXT_PREFIX)]
    assert len(shown) == blocks.MAX_SUGGESTIONS
    more = block(msg, ids.SUGGESTIONS_MORE_BLOCK)
    assert "25 more" in more["elements"][0]["text"]


def test_message_never_exceeds_fifty_blocks() -> None:
    many = [blocks.section(f"b{n}", "x") for n in range(80)]
    msg = blocks.message("fallback", many)
    assert len(msg["blocks"]) == 50
    assert msg["blocks"][-1]["block_id"] == ids.TRUNCATED_BLOCK
    assert "31 more" in msg["blocks"][-1]["elements"][0]["text"]
    assert violations(msg) == []


def test_each_suggestion_shows_title_link_passage_and_level() -> None:
    hit = make_hit(passage="First paragraph.\n\n\nSecond paragraph. " + "more " * 300)
    msg = blocks.suggestions_message("refund time", [Suggestion(hit, "low", hit.url)],
                                     outcome="answer")
    text = block(msg, ids.indexed(ids.SUGGESTION_TEXT_PREFIX, 0))["text"]["text"]
    assert text.startswith("*<https://help.example.com/refunds|Refunds and returns>*")
    assert "_How long refunds take_" in text
    assert "> First paragraph.\n> Second paragraph." in text
    assert len(text) < blocks.PASSAGE_CHARS + 200 and text.endswith("…")
    meta = block(msg, ids.indexed(ids.SUGGESTION_META_PREFIX, 0))["elements"][0]["text"]
    assert "Low" in meta
    assert "Refunds and returns" in msg["text"]


def test_suggestion_without_link_shows_the_title_unlinked() -> None:
    msg = blocks.suggestions_message("q", [Suggestion(make_hit(url=None), "high", None)],
                                     outcome="answer")
    text = block(msg, ids.indexed(ids.SUGGESTION_TEXT_PREFIX, 0))["text"]["text"]
    assert text.startswith("*Refunds and returns*") and "<" not in text


def test_internal_article_gets_the_badge_and_never_a_send_button() -> None:
    msg = blocks.suggestions_message("vpn reset", [internal(0), public(1)], outcome="answer",
                                     handoff_ticket=42)
    internal_text = block(msg, ids.indexed(ids.SUGGESTION_TEXT_PREFIX, 0))["text"]["text"]
    public_text = block(msg, ids.indexed(ids.SUGGESTION_TEXT_PREFIX, 1))["text"]["text"]
    assert "🔒" in internal_text and "🔒" not in public_text

    internal_actions = block(msg, ids.indexed(ids.SUGGESTION_ACTIONS_PREFIX, 0))["elements"]
    public_actions = block(msg, ids.indexed(ids.SUGGESTION_ACTIONS_PREFIX, 1))["elements"]
    assert ids.SEND_TO_CUSTOMER not in [e["action_id"] for e in internal_actions]
    send = next(e for e in public_actions if e["action_id"] == ids.SEND_TO_CUSTOMER)
    assert blocks.decode_value(send["value"]) == {
        "ticket": 42, "article_id": "pub-1", "heading": "How long refunds take"}
    assert "confirm" in send


def test_no_send_button_outside_a_handoff_thread() -> None:
    msg = blocks.suggestions_message("q", [public(0), public(1)], outcome="answer")
    assert ids.SEND_TO_CUSTOMER not in [b["action_id"] for b in buttons(msg)]


def test_rating_buttons_carry_article_and_query() -> None:
    query = "How do I refund an order paid with a gift card? " * 100
    msg = blocks.suggestions_message(query, [public(0), internal(1)], outcome="answer",
                                     handoff_ticket=9)
    ratings = [b for b in buttons(msg) if b["action_id"] in (ids.RATE_HELPFUL,
                                                            ids.RATE_NOT_HELPFUL)]
    assert len(ratings) == 4
    for button in ratings:
        value = blocks.decode_value(button["value"])
        assert value["article_id"] in ("pub-0", "int-1")
        assert value["ticket"] == 9
        assert value["level"] in blocks.LEVELS
        assert query.startswith(value["query"].removesuffix("…"))
        assert len(button["value"]) <= 2000
    # one actions block per suggestion, so the same action_id never repeats within a block
    assert violations(msg) == []


def test_abstain_says_so_and_offers_to_flag_a_gap() -> None:
    msg = blocks.suggestions_message("warranty on refurbished scooters", [],
                                     outcome="abstain", handoff_ticket=5)
    assert "couldn't find a good match in the knowledge base" in msg["text"]
    gap = block(msg, ids.GAP_ACTIONS_BLOCK)["elements"]
    assert [b["action_id"] for b in gap] == [ids.FLAG_GAP]
    assert blocks.decode_value(gap[0]["value"]) == {
        "ticket": 5, "query": "warranty on refurbished scooters"}

    answered = blocks.suggestions_message("q", [public()], outcome="answer")
    assert ids.FLAG_GAP not in [b["action_id"] for b in buttons(answered)]


def test_unknown_outcome_or_level_is_refused() -> None:
    with pytest.raises(ValueError):
        blocks.suggestions_message("q", [], outcome="maybe")
    with pytest.raises(ValueError):
        Suggestion(make_hit(), "certain", None)


def test_user_text_cannot_inject_mentions_or_links() -> None:
    hit = make_hit(title=EVIL, heading=EVIL, passage=EVIL)
    msg = blocks.suggestions_message(EVIL, [Suggestion(hit, "high", hit.url)],
                                     outcome="abstain", context=EVIL)
    texts = rendered_texts(msg)
    joined = "\n".join(texts)
    assert "<!channel>" not in joined and "<@U0CEO>" not in joined
    assert "<https://evil" not in joined
    assert "&lt;!channel&gt;" in joined and "&amp;amp" in joined
    # the only link left is the article's own
    assert joined.count("<https://") == 1


def test_ticket_and_feedback_text_is_escaped_too() -> None:
    card = TicketCard(
        number=1, status="open", priority="normal", summary=EVIL, email_masked="<!here>",
        handoff=True, handoff_active=True, assignee=EVIL, asked=EVIL,
        shown_articles=[(EVIL, "https://evil.example|<!channel>")], suggestions=[],
    )
    feedback = FeedbackCard(id=3, area="<!here>", what_happened=EVIL, what_would_help=EVIL,
                            impact="<!here>", ticket_number=None, status="new", reply=EVIL,
                            rep=EVIL)
    for payload in (blocks.ticket_message(card), blocks.feedback_posted_message(feedback),
                    blocks.feedback_update_dm(feedback), blocks.handoff_customer_message(EVIL),
                    blocks.error_message(EVIL), blocks.gap_flagged_message(EVIL)):
        joined = "\n".join(rendered_texts(payload))
        assert "<!" not in joined and "<@U0CEO>" not in joined and "<https://" not in joined


# -- modals -----------------------------------------------------------------------------------


def test_feedback_modal_within_limits_and_parsed_back() -> None:
    view = blocks.feedback_modal()
    assert view["type"] == "modal" and view["callback_id"] == ids.FEEDBACK_MODAL
    assert violations(view, modal=True) == []
    values = submit(view, {
        ids.FEEDBACK_AREA_BLOCK: "tooling",
        ids.FEEDBACK_WHAT_HAPPENED_BLOCK: "  The CRM froze while I merged two accounts.\n",
        ids.FEEDBACK_WHAT_WOULD_HELP_BLOCK: None,  # optional, left empty
        ids.FEEDBACK_IMPACT_BLOCK: "high",
        ids.FEEDBACK_TICKET_BLOCK: " 1042 ",
    })
    assert blocks.parse_feedback_submission(values) == {
        "area": "tooling",
        "what_happened": "The CRM froze while I merged two accounts.",
        "what_would_help": "",
        "impact": "high",
        "ticket_number": "1042",
    }
    assert blocks.parse_feedback_submission({})["area"] is None


def test_feedback_modal_offers_every_area_and_impact() -> None:
    view = blocks.feedback_modal()
    area = block(view, ids.FEEDBACK_AREA_BLOCK)["element"]
    impact = block(view, ids.FEEDBACK_IMPACT_BLOCK)["element"]
    assert [o["value"] for o in area["options"]] == [
        "process", "tooling", "knowledge_base", "policy", "other"]
    assert [o["value"] for o in impact["options"]] == ["low", "medium", "high"]
    optional = {b["block_id"] for b in view["blocks"] if b.get("optional")}
    assert optional == {ids.FEEDBACK_WHAT_WOULD_HELP_BLOCK, ids.FEEDBACK_TICKET_BLOCK}


def test_feedback_modal_prefill_and_initial_values() -> None:
    long_message = "Customer asked for a refund outside policy. " * 200
    view = blocks.feedback_modal(prefill_what_happened=long_message,
                                 private_metadata={"channel": "C1", "ts": "1.2"})
    what = block(view, ids.FEEDBACK_WHAT_HAPPENED_BLOCK)["element"]
    assert len(what["initial_value"]) == blocks.MAX_INPUT_VALUE
    assert long_message.startswith(what["initial_value"].removesuffix("…"))
    assert blocks.decode_value(view["private_metadata"]) == {"channel": "C1", "ts": "1.2"}

    again = blocks.feedback_modal(initial={"area": "policy", "impact": "low",
                                           "what_happened": "x", "ticket_number": "7"})
    area = block(again, ids.FEEDBACK_AREA_BLOCK)["element"]
    impact = block(again, ids.FEEDBACK_IMPACT_BLOCK)["element"]
    assert area["initial_option"] in area["options"]  # Slack requires an exact match
    assert impact["initial_option"] in impact["options"]
    assert area["initial_option"]["value"] == "policy"
    assert block(again, ids.FEEDBACK_TICKET_BLOCK)["element"]["initial_value"] == "7"


def test_modal_errors_point_at_the_right_blocks() -> None:
    errors = blocks.modal_errors({"what_happened": "Tell us what happened",
                                  "ticket_number": "No ticket #99999"})
    assert errors == {"response_action": "errors", "errors": {
        ids.FEEDBACK_WHAT_HAPPENED_BLOCK: "Tell us what happened",
        ids.FEEDBACK_TICKET_BLOCK: "No ticket #99999",
    }}
    view_blocks = {b["block_id"] for b in blocks.feedback_modal()["blocks"]}
    assert set(ids.FEEDBACK_FIELD_BLOCKS.values()) <= view_blocks
    with pytest.raises(ValueError):
        blocks.modal_errors({"mood": "bad"})


def test_rating_reason_modal_carries_article_and_query() -> None:
    query = "a very long question " * 300
    view = blocks.rating_reason_modal("refunds", query, title="Refunds <and> returns",
                                      extra={"channel": "C1", "message_ts": "1.2"})
    assert view["callback_id"] == ids.RATING_MODAL
    assert violations(view, modal=True) == []
    meta = blocks.decode_value(view["private_metadata"])
    assert meta["article_id"] == "refunds" and meta["channel"] == "C1"
    assert query.startswith(meta["query"].removesuffix("…"))
    reasons = block(view, ids.RATING_REASON_BLOCK)["element"]["options"]
    assert [o["value"] for o in reasons] == ["wrong_article", "outdated", "incomplete"]
    assert block(view, ids.RATING_COMMENT_BLOCK)["optional"] is True
    assert "&lt;and&gt;" in block(view, ids.RATING_INTRO_BLOCK)["text"]["text"]

    values = submit(view, {ids.RATING_REASON_BLOCK: "outdated",
                           ids.RATING_COMMENT_BLOCK: " Fee changed in May "})
    assert blocks.parse_rating_submission(values) == {"reason": "outdated",
                                                      "comment": "Fee changed in May"}


# -- tickets ----------------------------------------------------------------------------------


def ticket(**kw: Any) -> TicketCard:
    fields: dict[str, Any] = dict(
        number=1042, status="open", priority="high", summary="Refund for a damaged scooter",
        email_masked="j***@example.com", handoff=False, handoff_active=False, assignee=None,
        asked="My scooter arrived broken, can I get my money back?",
        shown_articles=[("Refunds and returns", "https://help.example.com/refunds")],
        suggestions=[public(0), internal(1)], channel="webchat",
    )
    return TicketCard(**{**fields, **kw})


@pytest.mark.parametrize(("status", "handoff_active", "expected"), [
    ("open", False, [ids.TICKET_ASSIGN, ids.TICKET_RESOLVE]),
    ("pending", False, [ids.TICKET_ASSIGN, ids.TICKET_RESOLVE]),
    ("resolved", False, [ids.TICKET_REOPEN]),
    ("open", True, [ids.TICKET_ASSIGN, ids.TICKET_RESOLVE, ids.HANDOFF_END]),
])
def test_ticket_buttons_follow_the_status(
    status: str, handoff_active: bool, expected: list[str]
) -> None:
    msg = blocks.ticket_message(ticket(status=status, handoff=handoff_active,
                                       handoff_active=handoff_active))
    found = buttons(msg)
    assert [b["action_id"] for b in found] == expected
    assert all(blocks.decode_value(b["value"]) == {"ticket": 1042} for b in found)


def test_ticket_message_shows_what_the_queue_needs() -> None:
    msg = blocks.ticket_message(ticket(assignee="U0AGENT", handoff=True, handoff_active=True))
    assert msg["blocks"][0]["type"] == "header"
    assert "1042" in msg["blocks"][0]["text"]["text"]
    fields = "\n".join(f["text"] for f in block(msg, ids.TICKET_FIELDS_BLOCK)["fields"])
    for expected in ("Open", "High", "j***@example.com", "webchat", "<@U0AGENT>", "Live"):
        assert expected in fields
    assert "> My scooter arrived broken" in block(msg, ids.TICKET_ASKED_BLOCK)["text"]["text"]
    shown = block(msg, ids.TICKET_SHOWN_BLOCK)["text"]["text"]
    assert "<https://help.example.com/refunds|Refunds and returns>" in shown
    suggested = block(msg, ids.TICKET_SUGGESTED_BLOCK)["text"]["text"].split("\n")
    assert "🔒" not in suggested[1] and "🔒" in suggested[2]
    assert "1042" in msg["text"] and "high priority" in msg["text"]
    unassigned = blocks.ticket_message(ticket())
    assert "Unassigned" in str(block(unassigned, ids.TICKET_FIELDS_BLOCK))


def test_ticket_message_within_limits_whatever_the_input() -> None:
    msg = blocks.ticket_message(ticket(
        summary="s" * 5000, asked="a" * 20000, email_masked="e" * 5000,
        shown_articles=[("t" * 500, "https://help.example.com/" + "x" * 3000)] * 40,
        suggestions=long_suggestions(40), handoff=True, handoff_active=True,
    ))
    assert violations(msg) == []
    assert "…and 30 more" in block(msg, ids.TICKET_SHOWN_BLOCK)["text"]["text"]


def test_ticket_card_refuses_unknown_states() -> None:
    with pytest.raises(ValueError):
        ticket(status="closed")
    with pytest.raises(ValueError):
        ticket(priority="urgent")


# -- handoff, feedback and small messages -----------------------------------------------------


def test_handoff_messages() -> None:
    said = blocks.handoff_customer_message("Is anyone there? " * 500)
    assert violations(said) == []
    assert said["blocks"][0]["text"]["text"].startswith("💬 *Customer:* Is anyone there?")
    ended = blocks.handoff_ended_message("U0AGENT")
    assert "<@U0AGENT>" in ended["text"] and violations(ended) == []
    assert "ended" in blocks.handoff_ended_message(None)["text"]


def feedback(**kw: Any) -> FeedbackCard:
    fields: dict[str, Any] = dict(
        id=17, area="knowledge_base", what_happened="The refunds article still says 14 days.",
        what_would_help="Update it to 30 days.", impact="medium", ticket_number=1042,
        status="planned", reply="Thanks, fixing it this week.", rep="U0REP",
    )
    return FeedbackCard(**{**fields, **kw})


def test_feedback_posted_message() -> None:
    msg = blocks.feedback_posted_message(feedback())
    assert violations(msg) == []
    text = json.dumps(msg, ensure_ascii=False)
    for expected in ("#17", "Knowledge base", "Medium", "#1042", "<@U0REP>",
                     "14 days", "30 days", "fixing it"):
        assert expected in text
    long = blocks.feedback_posted_message(feedback(what_happened="w" * 9000,
                                                   what_would_help="h" * 9000,
                                                   reply="r" * 9000, ticket_number=None))
    assert violations(long) == []


def test_feedback_update_dm_shows_status_and_reply() -> None:
    dm = blocks.feedback_update_dm(feedback(status="wont_do", reply="Policy stays as is."))
    assert violations(dm) == []
    status = block(dm, ids.FEEDBACK_STATUS_BLOCK)["text"]["text"]
    assert "#17" in status and "Won't do" in status and "> Policy stays as is." in status
    assert "Won't do" in dm["text"]
    no_reply = blocks.feedback_update_dm(feedback(reply=None, status="done"))
    assert "Reply" not in json.dumps(no_reply) and "Done" in no_reply["text"]


def test_small_messages() -> None:
    for msg in (blocks.error_message("The knowledge base is unavailable " * 300),
                blocks.gap_flagged_message("scooter warranty " * 500),
                blocks.rating_thanks(True), blocks.rating_thanks(False, reason="outdated")):
        assert violations(msg) == []
    assert "Outdated" in blocks.rating_thanks(False, reason="outdated")["text"]
    assert "helpful" in blocks.rating_thanks(True)["text"]
    assert "scooter warranty" in blocks.gap_flagged_message("scooter warranty")["text"]


# -- the manifest -----------------------------------------------------------------------------


def test_manifest_matches_the_ids_and_asks_only_for_needed_scopes() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    features, settings = manifest["features"], manifest["settings"]
    assert {c["command"] for c in features["slash_commands"]} == {ids.ASK_COMMAND,
                                                                  ids.FEEDBACK_COMMAND}
    shortcuts = {s["callback_id"]: s for s in features["shortcuts"]}
    assert shortcuts[ids.FEEDBACK_SHORTCUT]["type"] == "global"
    assert shortcuts[ids.FEEDBACK_MESSAGE_SHORTCUT]["type"] == "message"
    assert shortcuts[ids.FEEDBACK_MESSAGE_SHORTCUT]["name"] == "Send as process feedback"
    assert all(len(s["name"]) <= 24 for s in shortcuts.values())  # the manifest schema's limit

    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    needed_by_event = {"app_mention": "app_mentions:read", "message.im": "im:history",
                       "message.channels": "channels:history",
                       "message.groups": "groups:history"}
    events = settings["event_subscriptions"]["bot_events"]
    assert set(events) == set(needed_by_event)
    assert {needed_by_event[e] for e in events} <= scopes
    assert {"chat:write", "commands", "im:write"} <= scopes
    assert "chat:write.public" not in scopes and "users:read" not in scopes

    assert settings["socket_mode_enabled"] is False and settings["interactivity"]["is_enabled"]
    urls = [settings["event_subscriptions"]["request_url"],
            settings["interactivity"]["request_url"],
            *(c["url"] for c in features["slash_commands"])]
    assert set(urls) == {"https://YOUR-FRONTLINE-HOST/slack/events"}


# -- added with the rep-facing listeners (ask, ratings, feedback) ------------------------------


def test_modal_errors_take_the_services_field_names_and_the_rating_fields() -> None:
    # ProcessFeedbackService.submit names the ticket field "ticket"
    assert blocks.modal_errors({"ticket": "There is no ticket #99999."}) == {
        "response_action": "errors", "errors": {ids.FEEDBACK_TICKET_BLOCK:
                                                "There is no ticket #99999."}}
    rating = blocks.rating_reason_modal("refunds", "q")
    errors = blocks.modal_errors({"reason": "Choose one", "comment": "x" * 5000},
                                 ids.RATING_FIELD_BLOCKS)["errors"]
    assert set(errors) == set(ids.RATING_FIELD_BLOCKS.values()) <= {
        b["block_id"] for b in rating["blocks"]}
    assert len(errors[ids.RATING_COMMENT_BLOCK]) <= blocks.MAX_SECTION_TEXT
    with pytest.raises(ValueError):
        blocks.modal_errors({"what_happened": "x"}, ids.RATING_FIELD_BLOCKS)


def test_feedback_receipt_says_what_happens_next_and_what_was_sent() -> None:
    msg = blocks.feedback_received_message(feedback(what_happened=EVIL, status="new",
                                                    reply=None))
    assert violations(msg) == []
    assert "#17 is with the ops team" in msg["text"]
    body = block(msg, ids.FEEDBACK_BODY_BLOCK)["text"]["text"]
    assert "<!channel>" not in body and "&lt;!channel&gt;" in body
    long = blocks.feedback_received_message(feedback(what_happened="w" * 9000,
                                                     what_would_help="h" * 9000))
    assert violations(long) == []


def test_small_talk_message_points_at_the_three_ways_to_ask() -> None:
    msg = blocks.small_talk_message()
    assert violations(msg) == []
    assert "/ask" in msg["text"] and block(msg, ids.SMALL_TALK_BLOCK)
