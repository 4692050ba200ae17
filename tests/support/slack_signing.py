"""Signed Slack requests for tests of the Bolt endpoint (the FastAPI adapter at /slack/events).

Slack signs every request with the app's signing secret: ``X-Slack-Signature`` is
``v0=`` + hex HMAC-SHA256 of ``v0:{timestamp}:{raw body}``, and ``X-Slack-Request-Timestamp``
must be within five minutes of now. Build a body with one of the ``*_body`` helpers, then::

    body = command_body("/ask", "how do refunds work")
    response = client.post("/slack/events", content=body, headers=signed_headers(SECRET, body))

The body is signed byte for byte, so post exactly the string that was signed. The payload
helpers (``block_actions_payload``, ``view_submission_payload``, …) build the ``payload`` of an
interaction in the shape Slack sends it; wrap them with ``interaction_body``.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

TEAM_ID = "T0FRONT"
TEAM_DOMAIN = "frontline-test"
APP_ID = "A0FRONT"
BOT_USER_ID = "U0BOT"
REP_USER_ID = "U0REP"
CHANNEL_ID = "C0SUPPORT"
VERIFICATION_TOKEN = "legacy-verification-token"  # deprecated by Slack; still sent

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"

_sequence = itertools.count(1)


def signature(secret: str, body: str | bytes, timestamp: int | str) -> str:
    """``v0=<hex>``: the value of ``X-Slack-Signature`` for ``body`` sent at ``timestamp``."""
    raw = body.encode("utf-8") if isinstance(body, str) else body
    base = f"v0:{timestamp}:".encode() + raw
    return "v0=" + hmac.new(secret.encode("utf-8"), base, hashlib.sha256).hexdigest()


def signed_headers(
    secret: str,
    body: str | bytes,
    timestamp: int | None = None,
    *,
    content_type: str | None = None,
) -> dict[str, str]:
    """The headers Slack sends with ``body``: timestamp (default: now), signature and a
    content type (JSON for a body starting with ``{``, else form-encoded)."""
    ts = int(time.time()) if timestamp is None else int(timestamp)
    if content_type is None:
        start = body[:1] if isinstance(body, str) else body[:1].decode("ascii", "replace")
        content_type = JSON if start == "{" else FORM
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": signature(secret, body, ts),
    }


def new_trigger_id() -> str:
    """A fresh trigger id in Slack's format (``<n>.<n>.<hex>``)."""
    n = next(_sequence)
    return f"{n}.{1700000000 + n}.{(n * 2654435761) % 2**32:08x}"


def new_event_id() -> str:
    return f"Ev{next(_sequence):010d}"


def new_response_url(kind: str = "commands") -> str:
    return f"https://hooks.slack.com/{kind}/{TEAM_ID}/{next(_sequence)}/fake"


# -- bodies --------------------------------------------------------------------------------


def event_body(
    event: Mapping[str, Any],
    *,
    team_id: str = TEAM_ID,
    api_app_id: str = APP_ID,
    event_id: str | None = None,
    event_time: int | None = None,
    authorized_user: str = BOT_USER_ID,
    is_ext_shared_channel: bool = False,
) -> str:
    """The JSON ``event_callback`` envelope around ``event`` (e.g. an ``app_mention``)."""
    now = int(time.time()) if event_time is None else event_time
    return json.dumps({
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "api_app_id": api_app_id,
        "event": {"event_ts": f"{now}.000100", **event},
        "type": "event_callback",
        "event_id": event_id or new_event_id(),
        "event_time": now,
        "authorizations": [{
            "enterprise_id": None,
            "team_id": team_id,
            "user_id": authorized_user,
            "is_bot": True,
            "is_enterprise_install": False,
        }],
        "is_ext_shared_channel": is_ext_shared_channel,
        "event_context": f"4-{next(_sequence):08d}",
    })


def url_verification_body(challenge: str) -> str:
    """The JSON Slack sends once when the Events request URL is set."""
    return json.dumps({"token": VERIFICATION_TOKEN, "challenge": challenge,
                       "type": "url_verification"})


def command_body(
    command: str,
    text: str = "",
    user_id: str = REP_USER_ID,
    channel_id: str = CHANNEL_ID,
    trigger_id: str | None = None,
    response_url: str | None = None,
    *,
    team_id: str = TEAM_ID,
    user_name: str = "rep",
    channel_name: str = "support",
) -> str:
    """The form-encoded body of a slash command."""
    return urlencode({
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name,
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url or new_response_url(),
        "trigger_id": trigger_id or new_trigger_id(),
    })


def interaction_body(payload: Mapping[str, Any]) -> str:
    """The form-encoded body of an interaction: ``payload=<json>``."""
    return urlencode({"payload": json.dumps(payload)})


# -- interaction payloads ------------------------------------------------------------------


def _user(user_id: str) -> dict[str, Any]:
    return {"id": user_id, "username": f"user-{user_id.lower()}",
            "name": f"user-{user_id.lower()}", "team_id": TEAM_ID}


def _team() -> dict[str, Any]:
    return {"id": TEAM_ID, "domain": TEAM_DOMAIN}


def block_actions_payload(
    action_id: str,
    value: str | None = None,
    *,
    block_id: str = "actions",
    user_id: str = REP_USER_ID,
    channel_id: str = CHANNEL_ID,
    message: Mapping[str, Any] | None = None,
    message_ts: str = "1700000000.000100",
    thread_ts: str | None = None,
    action_type: str = "button",
    trigger: str | None = None,
) -> dict[str, Any]:
    """A click on a button (``block_actions``) in a message."""
    action: dict[str, Any] = {
        "action_id": action_id,
        "block_id": block_id,
        "type": action_type,
        "action_ts": f"{int(time.time())}.000200",
    }
    if value is not None:
        action["value"] = value
    container: dict[str, Any] = {"type": "message", "message_ts": message_ts,
                                 "channel_id": channel_id, "is_ephemeral": False}
    if thread_ts:
        container["thread_ts"] = thread_ts
    msg = {"type": "message", "ts": message_ts, "user": BOT_USER_ID, "text": "",
           **(message or {})}
    if thread_ts:
        msg.setdefault("thread_ts", thread_ts)
    return {
        "type": "block_actions",
        "user": _user(user_id),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": container,
        "trigger_id": trigger or new_trigger_id(),
        "team": _team(),
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": "support"},
        "message": msg,
        "state": {"values": {}},
        "response_url": new_response_url("actions"),
        "actions": [action],
    }


def view_submission_payload(
    view: Mapping[str, Any],
    values: Mapping[str, Any],
    *,
    user_id: str = REP_USER_ID,
    view_id: str = "V00000001",
) -> dict[str, Any]:
    """The submission of ``view`` (as built for ``views.open``) with ``values`` as its
    ``state.values`` (``{block_id: {action_id: {"type": …, "value"/"selected_option": …}}}``)."""
    return {
        "type": "view_submission",
        "team": _team(),
        "user": _user(user_id),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": new_trigger_id(),
        "view": {
            "id": view_id,
            "team_id": TEAM_ID,
            "app_id": APP_ID,
            "bot_id": "B0BOT",
            "private_metadata": "",
            "callback_id": "",
            "hash": f"{int(time.time())}.abc",
            "root_view_id": view_id,
            "previous_view_id": None,
            **view,
            "state": {"values": dict(values)},
        },
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def shortcut_payload(callback_id: str, *, user_id: str = REP_USER_ID) -> dict[str, Any]:
    """A global shortcut."""
    return {
        "type": "shortcut",
        "token": VERIFICATION_TOKEN,
        "action_ts": f"{int(time.time())}.000300",
        "team": _team(),
        "user": _user(user_id),
        "is_enterprise_install": False,
        "enterprise": None,
        "callback_id": callback_id,
        "trigger_id": new_trigger_id(),
    }


def message_shortcut_payload(
    callback_id: str,
    message: Mapping[str, Any],
    *,
    user_id: str = REP_USER_ID,
    channel_id: str = CHANNEL_ID,
) -> dict[str, Any]:
    """A message shortcut (``message_action``) on ``message`` (needs at least ``ts``/``text``)."""
    msg = {"type": "message", "user": REP_USER_ID, **message}
    return {
        "type": "message_action",
        "token": VERIFICATION_TOKEN,
        "action_ts": f"{int(time.time())}.000400",
        "team": _team(),
        "user": _user(user_id),
        "channel": {"id": channel_id, "name": "support"},
        "is_enterprise_install": False,
        "enterprise": None,
        "callback_id": callback_id,
        "trigger_id": new_trigger_id(),
        "response_url": new_response_url("app"),
        "message_ts": msg.get("ts", "1700000000.000100"),
        "message": msg,
    }
