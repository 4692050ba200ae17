"""The Slack Web API stub and the request-signing helpers, exercised with the real slack_sdk
clients and a real Bolt app behind the FastAPI adapter."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest
from fastapi import FastAPI, Request
from slack_bolt import App
from slack_bolt.adapter.fastapi import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from starlette.testclient import TestClient

from indexer import Hit
from integrations.slack import blocks, ids
from tests.support.slack_api import SlackStub
from tests.support.slack_signing import (
    block_actions_payload,
    command_body,
    event_body,
    interaction_body,
    message_shortcut_payload,
    signature,
    signed_headers,
    url_verification_body,
    view_submission_payload,
)

TOKEN = "xoxb-test"
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


@pytest.fixture
def stub() -> Iterator[SlackStub]:
    with SlackStub(token=TOKEN) as running:
        yield running


def client_for(stub: SlackStub, token: str | None = TOKEN) -> WebClient:
    """A client with no retry handlers: every failure reaches the test."""
    return WebClient(token=token, base_url=stub.url, retry_handlers=[])


def error_of(call: object) -> SlackApiError:
    with pytest.raises(SlackApiError) as caught:
        call()  # type: ignore[operator]
    return caught.value


# -- the Web API methods ----------------------------------------------------------------------


def test_auth_test_answers_like_slack(stub: SlackStub) -> None:
    answer = client_for(stub).auth_test()
    assert answer["ok"] is True
    assert {"url", "team", "user", "team_id", "user_id", "bot_id"} <= set(answer.data)
    assert answer["user_id"] == stub.bot_user_id and answer["url"].startswith("https://")
    assert stub.url.endswith("/api/")


def test_post_update_and_ephemeral_are_stored_and_recorded(stub: SlackStub) -> None:
    client = client_for(stub)
    first = client.chat_postMessage(channel="C1", text="Ticket #1")
    second = client.chat_postMessage(channel="C1", text="Ticket #2",
                                     blocks=[{"type": "section", "block_id": "b",
                                              "text": {"type": "mrkdwn", "text": "*2*"}}])
    assert first["channel"] == "C1" and first["message"]["text"] == "Ticket #1"
    assert float(first["ts"]) < float(second["ts"])
    assert first["ts"] == "1700000000.000100"

    updated = client.chat_update(channel="C1", ts=first["ts"], text="Ticket #1 (resolved)")
    assert updated["ts"] == first["ts"] and updated["text"] == "Ticket #1 (resolved)"
    assert updated["message"]["text"] == "Ticket #1 (resolved)"

    ephemeral = client.chat_postEphemeral(channel="C1", user="U0REP", text="Only you")
    assert ephemeral["message_ts"]

    stored = stub.messages(channel="C1")
    assert [m["text"] for m in stored] == ["Ticket #1 (resolved)", "Ticket #2"]
    assert stored[0]["edits"] == 1 and "edited" in stored[0]
    assert stored[1]["blocks"][0]["text"]["text"] == "*2*"
    assert stub.ephemeral_messages(user="U0REP")[0]["text"] == "Only you"
    assert [m for m, _ in stub.calls] == ["chat.postMessage", "chat.postMessage",
                                          "chat.update", "chat.postEphemeral"]
    assert stub.calls_to("chat.update") == [
        {"channel": "C1", "ts": first["ts"], "text": "Ticket #1 (resolved)"}]


def test_form_encoded_calls_work_too(stub: SlackStub) -> None:
    client = client_for(stub)
    client.api_call("chat.postMessage", params={
        "channel": "C1", "text": "form", "blocks": '[{"type":"divider"}]'})
    message = stub.messages("C1")[0]
    assert message["text"] == "form" and message["blocks"] == [{"type": "divider"}]
    # the token as a POST parameter, as older clients send it
    legacy = WebClient(base_url=stub.url, retry_handlers=[])
    assert legacy.api_call("auth.test", params={"token": TOKEN})["ok"] is True


def test_threads_and_replies(stub: SlackStub) -> None:
    client = client_for(stub)
    parent = client.chat_postMessage(channel="C1", text="Ticket #7")["ts"]
    client.chat_postMessage(channel="C1", text="Customer: hello", thread_ts=parent)
    client.chat_postMessage(channel="C1", text="elsewhere")
    client.chat_postMessage(channel="C1", text="Customer: still there?", thread_ts=parent)
    assert [m["text"] for m in stub.messages("C1", thread_ts=parent)] == [
        "Customer: hello", "Customer: still there?"]
    replies = client.conversations_replies(channel="C1", ts=parent)["messages"]
    assert [m["text"] for m in replies] == ["Ticket #7", "Customer: hello",
                                            "Customer: still there?"]
    assert replies[0]["reply_count"] == 2
    link = client.chat_getPermalink(channel="C1", message_ts=replies[1]["ts"])["permalink"]
    assert f"thread_ts={parent}" in link


def test_api_errors_come_back_as_slack_errors(stub: SlackStub) -> None:
    client = client_for(stub)
    with pytest.warns(UserWarning, match="`text` argument is missing"):
        no_text = error_of(lambda: client.chat_postMessage(channel="C1"))
    assert no_text.response["error"] == "no_text"
    assert error_of(lambda: client.chat_postMessage(channel="not-a-channel", text="x")
                    ).response["error"] == "channel_not_found"
    assert error_of(lambda: client.chat_update(channel="C1", ts="1.000001", text="x")
                    ).response["error"] == "message_not_found"
    too_many = [{"type": "divider"}] * 51
    failed = error_of(lambda: client.chat_postMessage(channel="C1", text="x", blocks=too_many))
    assert failed.response["error"] == "invalid_blocks"
    unknown = error_of(lambda: client.api_call("chat.teleport"))
    assert unknown.response["error"] == "unknown_method"
    assert unknown.response.status_code == 200  # API errors are HTTP 200, as on Slack
    assert stub.messages() == []  # nothing was applied


def test_strict_mode_knows_only_configured_channels() -> None:
    with SlackStub(token=TOKEN, strict=True) as strict:
        strict.channels["C0TICKETS"] = {"name": "tickets"}
        client = client_for(strict)
        assert client.chat_postMessage(channel="#tickets", text="x")["channel"] == "C0TICKETS"
        assert error_of(lambda: client.chat_postMessage(channel="C0OTHER", text="x")
                        ).response["error"] == "channel_not_found"


def test_wrong_or_missing_token(stub: SlackStub) -> None:
    wrong = error_of(lambda: client_for(stub, "xoxb-wrong").chat_postMessage(
        channel="C1", text="x"))
    assert wrong.response["error"] == "invalid_auth"
    missing = error_of(lambda: client_for(stub, None).auth_test())
    assert missing.response["error"] == "not_authed"
    assert stub.messages() == []
    assert len(stub.calls_to("chat.postMessage")) == 1  # recorded all the same


def test_conversations_info_reflects_configured_channels(stub: SlackStub) -> None:
    stub.channels["C1"] = {"is_ext_shared": True}
    client = client_for(stub)
    shared = client.conversations_info(channel="C1")["channel"]
    assert shared["id"] == "C1" and shared["is_ext_shared"] is True and shared["is_shared"]
    plain = client.conversations_info(channel="C2")["channel"]
    assert plain["is_ext_shared"] is False and plain["is_channel"] is True
    private = client.conversations_info(channel="G1")["channel"]
    assert private["is_private"] is True and private["is_group"] is True


def test_dms_and_users(stub: SlackStub) -> None:
    stub.users["U0REP"] = {"real_name": "Ada Lovelace", "profile": {"display_name": "ada"}}
    client = client_for(stub)
    opened = client.conversations_open(users="U0REP")
    dm = opened["channel"]["id"]
    assert dm.startswith("D") and "already_open" not in opened.data
    assert client.conversations_open(users=["U0REP"])["already_open"] is True
    assert client.conversations_info(channel=dm)["channel"]["is_im"] is True
    client.chat_postMessage(channel=dm, text="Ops replied to your feedback")
    client.chat_postMessage(channel="U0REP", text="posting to a user id lands in the DM")
    assert [m["channel"] for m in stub.messages()] == [dm, dm]
    assert stub.dm_channel("U0REP") == dm
    user = client.users_info(user="U0REP")["user"]
    assert user["real_name"] == "Ada Lovelace" and user["profile"]["display_name"] == "ada"
    assert error_of(lambda: client.users_info(user="nobody")).response[
        "error"] == "user_not_found"


def test_views_need_a_fresh_trigger_and_a_valid_view(stub: SlackStub) -> None:
    client = client_for(stub)
    view = blocks.feedback_modal(prefill_what_happened="From a message")
    trigger = stub.trigger_id()
    opened = client.views_open(trigger_id=trigger, view=view)["view"]
    assert opened["id"].startswith("V") and opened["callback_id"] == ids.FEEDBACK_MODAL
    assert opened["state"] == {"values": {}} and opened["hash"]
    assert error_of(lambda: client.views_open(trigger_id=trigger, view=view)).response[
        "error"] == "exchanged_trigger_id"
    assert error_of(lambda: client.views_open(trigger_id="not-a-trigger", view=view)).response[
        "error"] == "invalid_trigger_id"
    assert error_of(lambda: client.api_call("views.open", json={"view": view})).response[
        "error"] == "invalid_arguments"
    too_long = {**view, "title": {"type": "plain_text", "text": "A title far too long for it"}}
    failed = error_of(lambda: client.views_open(trigger_id=stub.trigger_id(), view=too_long))
    assert failed.response["error"] == "invalid_arguments"
    assert "/view/title/text" in failed.response["response_metadata"]["messages"][0]

    rating = blocks.rating_reason_modal("refunds", "how long do refunds take")
    updated = client.views_update(view_id=opened["id"], view=rating, hash=opened["hash"])
    assert updated["view"]["id"] == opened["id"]
    assert updated["view"]["callback_id"] == ids.RATING_MODAL
    assert error_of(lambda: client.views_update(view_id=opened["id"], view=rating,
                                                hash=opened["hash"])
                    ).response["error"] == "hash_conflict"
    pushed = client.views_push(trigger_id=stub.trigger_id(), view=rating)["view"]
    assert pushed["id"] != opened["id"]


def test_builder_messages_are_accepted(stub: SlackStub) -> None:
    hits = [Hit(article_id=f"a{n}", title=f"Article {n}", url=None,
                audience="internal" if n % 2 else "public", heading="H", snippet="s",
                passage="p " * 2000, score=0.8, matched="title") for n in range(20)]
    suggestions = [blocks.Suggestion(h, "medium", None) for h in hits]
    client = client_for(stub)
    for outcome in blocks.OUTCOMES:
        msg = blocks.suggestions_message("q " * 3000, suggestions, outcome=outcome,
                                         handoff_ticket=3)
        assert client.chat_postMessage(channel="C1", **msg)["ok"]


# -- failure injection ------------------------------------------------------------------------


def test_rate_limit_is_a_429_with_retry_after(stub: SlackStub) -> None:
    stub.fail("chat.postMessage", status=429, times=2, retry_after=7)
    client = client_for(stub)
    for _ in range(2):
        failed = error_of(lambda: client.chat_postMessage(channel="C1", text="x"))
        assert failed.response.status_code == 429
        assert failed.response.headers["Retry-After"] == "7"
        assert failed.response["error"] == "ratelimited"
    assert client.chat_postMessage(channel="C1", text="third time")["ok"]
    assert [m["text"] for m in stub.messages()] == ["third time"]  # failures not applied
    assert [c.status for c in stub.log] == [429, 429, 200]


def test_the_sdk_retry_handler_rides_out_a_rate_limit(stub: SlackStub) -> None:
    stub.fail("chat.postMessage", status=429, times=1, retry_after=0)
    client = WebClient(token=TOKEN, base_url=stub.url,
                       retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)])
    assert client.chat_postMessage(channel="C1", text="after a retry")["ok"]
    assert [c.status for c in stub.log] == [429, 200]


def test_server_error_is_a_500(stub: SlackStub) -> None:
    stub.fail("chat.update", status=500)
    client = client_for(stub)
    ts = client.chat_postMessage(channel="C1", text="before")["ts"]
    failed = error_of(lambda: client.chat_update(channel="C1", ts=ts, text="after"))
    assert failed.response.status_code == 500
    assert stub.messages()[0]["text"] == "before"
    assert client.chat_update(channel="C1", ts=ts, text="after")["ok"]


def test_injected_api_error(stub: SlackStub) -> None:
    stub.fail("views.open", status=200, error="expired_trigger_id")
    failed = error_of(lambda: client_for(stub).views_open(
        trigger_id=stub.trigger_id(), view=blocks.feedback_modal()))
    assert failed.response.status_code == 200
    assert failed.response["error"] == "expired_trigger_id"


def test_outage_for_a_while_then_recovery(stub: SlackStub) -> None:
    client = client_for(stub)
    stub.fail_all(503, seconds=0.3)
    assert error_of(lambda: client.auth_test()).response.status_code == 503
    assert error_of(lambda: client.chat_postMessage(channel="C1", text="x")
                    ).response.status_code == 503
    time.sleep(0.35)
    assert client.chat_postMessage(channel="C1", text="back")["ok"]

    stub.down()
    assert error_of(lambda: client.auth_test()).response.status_code == 503
    stub.up()
    assert client.auth_test()["ok"]


def test_wait_for_sees_a_post_from_another_thread(stub: SlackStub) -> None:
    def later() -> None:
        time.sleep(0.1)
        client_for(stub).chat_postMessage(channel="C9", text="async work done")

    threading.Thread(target=later).start()
    found = stub.wait_for(lambda: stub.messages(channel="C9"), timeout=5)
    assert found[0]["text"] == "async work done"
    with pytest.raises(TimeoutError):
        stub.wait_for(lambda: stub.messages(channel="C404"), timeout=0.1)


def test_async_client_talks_to_the_stub(stub: SlackStub) -> None:
    async def scenario() -> None:
        client = AsyncWebClient(token=TOKEN, base_url=stub.url, retry_handlers=[])
        posted = await client.chat_postMessage(channel="C1", text="async hello")
        info = await client.conversations_info(channel="C1")  # a GET with a query string
        assert info["channel"]["id"] == "C1"
        stub.fail("chat.update", status=429, retry_after=2)
        with pytest.raises(SlackApiError) as caught:
            await client.chat_update(channel="C1", ts=posted["ts"], text="x")
        assert caught.value.response.status_code == 429
        assert caught.value.response.headers["Retry-After"] == "2"

    asyncio.run(scenario())
    assert stub.messages()[0]["text"] == "async hello"


# -- request signing --------------------------------------------------------------------------


class FixedClock:
    def __init__(self, now: float) -> None:
        self.value = now

    def now(self) -> float:
        return self.value


def test_signed_headers_pass_slacks_verifier() -> None:
    body = command_body("/ask", "how do refunds work")
    headers = signed_headers(SECRET, body)
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert SignatureVerifier(SECRET).is_valid_request(body, headers)
    assert SignatureVerifier(SECRET).is_valid_request(body.encode(), headers)
    event = event_body({"type": "app_mention", "text": "<@U0BOT> refunds?", "user": "U0REP",
                        "channel": "C1", "ts": "1.2"})
    assert signed_headers(SECRET, event)["Content-Type"] == "application/json"
    assert SignatureVerifier(SECRET).is_valid_request(event, signed_headers(SECRET, event))


def test_tampered_body_wrong_secret_or_stale_timestamp_fail() -> None:
    body = command_body("/ask", "refunds")
    headers = signed_headers(SECRET, body)
    verifier = SignatureVerifier(SECRET)
    assert not verifier.is_valid_request(body.replace("refunds", "refundz"), headers)
    assert not SignatureVerifier("another-secret").is_valid_request(body, headers)

    now = 1_750_000_000
    at = SignatureVerifier(SECRET, clock=FixedClock(now))  # type: ignore[arg-type]
    assert at.is_valid_request(body, signed_headers(SECRET, body, timestamp=now - 299))
    assert not at.is_valid_request(body, signed_headers(SECRET, body, timestamp=now - 301))
    assert not at.is_valid_request(body, signed_headers(SECRET, body, timestamp=now + 301))


def test_signature_is_hmac_sha256_of_v0_timestamp_body() -> None:
    # the worked example from Slack's "Verifying requests from Slack" guide
    body = ("token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id"
            "=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fweb"
            "hook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH"
            "3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803"
            "a0bc887a14d10d2c447fce8b6703c")
    assert signature(SECRET, body, 1531420618) == (
        "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503")


# -- the helpers against a real Bolt app behind the FastAPI adapter ---------------------------


def bolt_app(stub: SlackStub) -> tuple[App, TestClient]:
    app = App(signing_secret=SECRET, client=WebClient(token=TOKEN, base_url=stub.url),
              process_before_response=True)
    api = FastAPI()
    handler = SlackRequestHandler(app)

    @api.post("/slack/events")
    async def events(request: Request):  # type: ignore[no-untyped-def]
        return await handler.handle(request)

    return app, TestClient(api)


def post(http: TestClient, body: str, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return http.post("/slack/events", content=body,
                     headers=headers if headers is not None else signed_headers(SECRET, body))


def test_bolt_accepts_signed_requests_and_calls_the_stub(stub: SlackStub) -> None:
    app, http = bolt_app(stub)

    @app.command(ids.ASK_COMMAND)
    def ask(ack, command, client):  # type: ignore[no-untyped-def]
        ack()
        client.chat_postMessage(channel=command["channel_id"], text=f"Q: {command['text']}")

    @app.event("app_mention")
    def mention(event, say):  # type: ignore[no-untyped-def]
        say(text="mentioned", thread_ts=event["ts"])

    rated: list[dict[str, object]] = []

    @app.action(ids.RATE_HELPFUL)
    def helpful(ack, body, client):  # type: ignore[no-untyped-def]
        ack()
        rated.append(blocks.decode_value(body["actions"][0]["value"]))
        client.chat_postEphemeral(channel=body["channel"]["id"], user=body["user"]["id"],
                                  **blocks.rating_thanks(True))

    @app.shortcut(ids.FEEDBACK_MESSAGE_SHORTCUT)
    def shortcut(ack, body, client):  # type: ignore[no-untyped-def]
        ack()
        client.views_open(trigger_id=body["trigger_id"], view=blocks.feedback_modal(
            prefill_what_happened=body["message"]["text"]))

    @app.view(ids.FEEDBACK_MODAL)
    def submitted(ack, view):  # type: ignore[no-untyped-def]
        fields = blocks.parse_feedback_submission(view["state"]["values"])
        if not fields["area"]:
            ack(response_action="errors", errors=blocks.modal_errors(
                {"area": "Choose an area"})["errors"])
        else:
            ack()

    challenge = post(http, url_verification_body("c-123"))
    assert challenge.status_code == 200 and challenge.json() == {"challenge": "c-123"}

    assert post(http, command_body(ids.ASK_COMMAND, "refund time", channel_id="C1")
                ).status_code == 200
    assert stub.messages("C1")[-1]["text"] == "Q: refund time"

    assert post(http, event_body({"type": "app_mention", "text": "<@U0BOT> hi",
                                  "user": "U0REP", "channel": "C2", "ts": "1700000001.000100"})
                ).status_code == 200
    assert stub.messages("C2", thread_ts="1700000001.000100")[0]["text"] == "mentioned"

    value = blocks.encode_value({"article_id": "refunds", "query": "refund time"})
    assert post(http, interaction_body(block_actions_payload(
        ids.RATE_HELPFUL, value, block_id=ids.indexed(ids.SUGGESTION_ACTIONS_PREFIX, 0),
        channel_id="C1"))).status_code == 200
    assert rated == [{"article_id": "refunds", "query": "refund time"}]
    assert "helpful" in stub.ephemeral_messages(channel="C1")[0]["text"]

    assert post(http, interaction_body(message_shortcut_payload(
        ids.FEEDBACK_MESSAGE_SHORTCUT, {"ts": "1.2", "text": "The CRM froze again"}))
    ).status_code == 200
    opened = stub.calls_to("views.open")[0]["view"]
    assert opened["blocks"][2]["element"]["initial_value"] == "The CRM froze again"

    empty = view_submission_payload(opened, {})
    rejected = post(http, interaction_body(empty))
    assert rejected.json() == {"response_action": "errors",
                               "errors": {ids.FEEDBACK_AREA_BLOCK: "Choose an area"}}


def test_bolt_rejects_bad_signatures(stub: SlackStub) -> None:
    _, http = bolt_app(stub)
    body = command_body(ids.ASK_COMMAND, "refunds")
    assert post(http, body, signed_headers("wrong-secret", body)).status_code == 401
    stale = signed_headers(SECRET, body, timestamp=int(time.time()) - 600)
    assert post(http, body, stale).status_code == 401
    tampered = signed_headers(SECRET, body)
    assert post(http, body + "&x=1", tampered).status_code == 401
    assert stub.calls_to("chat.postMessage") == []
