"""A fake Slack Web API on a real local HTTP server, for tests of code that talks to Slack.

``slack_sdk.WebClient`` (and ``AsyncWebClient``, and Bolt apps built on either) point at it with
``base_url=stub.url``::

    with SlackStub(token="xoxb-test") as stub:
        client = WebClient(token="xoxb-test", base_url=stub.url)
        client.chat_postMessage(channel="C1", text="hi")
        assert stub.messages(channel="C1")[0]["text"] == "hi"

It answers the methods the Frontline Slack app uses with the response shapes Slack documents
(``ok``, ``error``, HTTP 200 for API errors), keeps the messages, views and DMs it was asked to
create, records every call, and fails on demand (``fail``, ``fail_all``, ``down``/``up``) with a
429 + ``Retry-After`` or a 5xx — so retries, outages and rate limits can be tested for real.

Channels and users exist as soon as their id looks like a Slack id (``C…``/``G…``/``D…``,
``U…``/``W…``) unless ``strict=True``; attributes are set with ``stub.channels["C1"] =
{"is_ext_shared": True}`` and ``stub.users["U1"] = {"real_name": "Ada"}``.
"""

from __future__ import annotations

import contextlib
import email.parser
import email.policy
import itertools
import json
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

T = TypeVar("T")

_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]+$")
_USER_ID = re.compile(r"^[UW][A-Z0-9]+$")
_TRIGGER_ID = re.compile(r"^\d+\.\d+\.[0-9a-f]+$")
_JSON_FIELDS = ("blocks", "attachments", "view", "metadata", "users")
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_TEXT = 40_000


@dataclass(frozen=True)
class Call:
    """One request the stub received, and what it answered."""

    method: str
    params: dict[str, Any]
    status: int
    response: dict[str, Any] | None  # None when the answer was not JSON (a 5xx)


@dataclass
class _Failure:
    status: int
    times: int | None  # None: until cleared
    retry_after: int | None
    error: str | None
    until: float | None = None  # monotonic deadline (fail_all with seconds)


class SlackApiStubError(Exception):
    """An API error the stub answers with ``{"ok": false, "error": code}``."""

    def __init__(self, code: str, **extra: Any) -> None:
        super().__init__(code)
        self.code = code
        self.extra = extra


class SlackStub:
    """The fake Web API: a context manager that runs the server on 127.0.0.1 (a free port)."""

    def __init__(
        self,
        token: str | Iterable[str] = "xoxb-test",
        *,
        team_id: str = "T0FRONT",
        team: str = "Frontline Test",
        team_domain: str = "frontline-test",
        bot_user_id: str = "U0BOT",
        bot_id: str = "B0BOT",
        bot_name: str = "frontline",
        app_id: str = "A0FRONT",
        strict: bool = False,
    ) -> None:
        self.tokens = {token} if isinstance(token, str) else set(token)
        self.team_id, self.team, self.team_domain = team_id, team, team_domain
        self.bot_user_id, self.bot_id, self.bot_name, self.app_id = (
            bot_user_id, bot_id, bot_name, app_id)
        self.strict = strict  # True: only channels/users configured (or opened) exist
        self.channels: dict[str, dict[str, Any]] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.views: dict[str, dict[str, Any]] = {}
        self._log: list[Call] = []
        self._messages: list[dict[str, Any]] = []
        self._ephemeral: list[dict[str, Any]] = []
        self._dms: dict[str, str] = {}  # user id → D… channel
        self._used_triggers: set[str] = set()
        self._failures: dict[str, list[_Failure]] = {}
        self._outage: _Failure | None = None
        self._counter = itertools.count(1)
        self._ts = itertools.count(100, 100)
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> SlackStub:
        stub = self

        class Handler(_Handler):
            pass

        Handler.stub = stub
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,),
                                        name="slack-stub", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> SlackStub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the stub is not running")
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        """The ``base_url`` for ``WebClient``: ``http://127.0.0.1:<port>/api/``."""
        return f"http://127.0.0.1:{self.port}/api/"

    # -- what was called ---------------------------------------------------------------------

    @property
    def calls(self) -> list[tuple[str, dict[str, Any]]]:
        """Every request, failed ones included, as ``(method, params)`` in arrival order."""
        with self._lock:
            return [(c.method, c.params) for c in self._log]

    @property
    def log(self) -> list[Call]:
        """Every request with the HTTP status and body it got."""
        with self._lock:
            return list(self._log)

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        """The params of every call to ``method`` (failed ones included)."""
        with self._lock:
            return [c.params for c in self._log if c.method == method]

    def messages(
        self, channel: str | None = None, thread_ts: str | None = None
    ) -> list[dict[str, Any]]:
        """Messages posted (in their current, possibly updated, state), oldest first. With
        ``thread_ts``: only the replies in that thread (not its parent)."""
        with self._lock:
            found = [
                m for m in self._messages
                if (channel is None
                    or m["channel"] == self._resolve_channel(channel, create=False))
                and (thread_ts is None or (m.get("thread_ts") == thread_ts
                                           and m["ts"] != thread_ts))
            ]
            return [json.loads(json.dumps(m)) for m in found]

    def ephemeral_messages(
        self, channel: str | None = None, user: str | None = None
    ) -> list[dict[str, Any]]:
        with self._lock:
            return [json.loads(json.dumps(m)) for m in self._ephemeral
                    if (channel is None or m["channel"] == channel)
                    and (user is None or m["user"] == user)]

    def dm_channel(self, user: str) -> str | None:
        """The D… channel opened for ``user`` (conversations.open or a post to a user id)."""
        with self._lock:
            return self._dms.get(user)

    def wait_for(
        self, predicate: Callable[[], T], timeout: float = 5.0, interval: float = 0.02
    ) -> T:
        """Poll ``predicate()`` until it returns something truthy, and return that."""
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result:
                return result
            if time.monotonic() >= deadline:
                raise TimeoutError(f"condition not met within {timeout} s")
            time.sleep(interval)

    def trigger_id(self) -> str:
        """A fresh trigger id in Slack's format (views.open accepts each once)."""
        n = next(self._counter)
        return f"{n}.{1700000000 + n}.{n:08x}"

    def reset(self) -> None:
        """Forget calls, messages, views and failures (configured channels/users stay)."""
        with self._lock:
            self._log.clear()
            self._messages.clear()
            self._ephemeral.clear()
            self.views.clear()
            self._used_triggers.clear()
            self._failures.clear()
            self._outage = None

    # -- failure injection -------------------------------------------------------------------

    def fail(
        self,
        method: str,
        *,
        status: int = 500,
        times: int | None = 1,
        retry_after: int | None = None,
        error: str | None = None,
    ) -> None:
        """Make the next ``times`` calls to ``method`` fail (``times=None``: until cleared).

        ``status=429``: HTTP 429, ``Retry-After: retry_after`` (default 1) and
        ``{"ok": false, "error": "ratelimited"}``. ``status>=500``: that HTTP status with a
        non-JSON body. ``status=200`` with ``error``: an API error such as ``"fatal_error"``.
        Failed calls are recorded but not applied.
        """
        if status == 200 and not error:
            raise ValueError("a status 200 failure needs an error code")
        with self._lock:
            self._failures.setdefault(method, []).append(
                _Failure(status, times, retry_after, error))

    def fail_all(
        self,
        status: int = 503,
        *,
        seconds: float | None = None,
        retry_after: int | None = None,
    ) -> None:
        """An outage: every method fails with ``status`` for ``seconds`` (None: until ``up``)."""
        until = None if seconds is None else time.monotonic() + seconds
        with self._lock:
            self._outage = _Failure(status, None, retry_after, None, until)

    def down(self, status: int = 503) -> None:
        self.fail_all(status)

    def up(self) -> None:
        """End an outage and clear every pending ``fail``."""
        with self._lock:
            self._outage = None
            self._failures.clear()

    def _take_failure(self, method: str) -> _Failure | None:
        with self._lock:
            if self._outage is not None:
                if self._outage.until is None or time.monotonic() < self._outage.until:
                    return self._outage
                self._outage = None
            queue = self._failures.get(method) or []
            while queue:
                failure = queue[0]
                if failure.times is None:
                    return failure
                if failure.times > 0:
                    failure.times -= 1
                    if failure.times == 0:
                        queue.pop(0)
                    return failure
                queue.pop(0)
            return None

    # -- request handling (called from the server threads) -----------------------------------

    def handle(
        self, method: str, params: dict[str, Any], token: str | None
    ) -> tuple[int, dict[str, str], bytes]:
        """Answer one call: ``(status, headers, body)``."""
        handler = getattr(self, "_api_" + method.replace(".", "_"), None)
        failure = self._take_failure(method)
        if failure is not None:
            status, headers, body = _failure_response(failure)
            self._record(method, params, status, body)
            return status, headers, body
        try:
            if handler is None:
                raise SlackApiStubError("unknown_method", req_method=method)
            if not token:
                raise SlackApiStubError("not_authed")
            if token not in self.tokens:
                raise SlackApiStubError("invalid_auth")
            with self._lock:
                payload = {"ok": True, **handler(params)}
        except SlackApiStubError as exc:
            payload = {"ok": False, "error": exc.code, **exc.extra}
        body = json.dumps(payload).encode()
        self._record(method, params, 200, body)
        return 200, {"Content-Type": "application/json; charset=utf-8"}, body

    def _record(self, method: str, params: dict[str, Any], status: int, body: bytes) -> None:
        try:
            response = json.loads(body)
        except ValueError:
            response = None
        with self._lock:
            self._log.append(Call(method, params, status, response))

    # -- ids, channels, users ----------------------------------------------------------------

    def _next_ts(self) -> str:
        n = next(self._ts)
        return f"{1700000000 + n // 1_000_000}.{n % 1_000_000:06d}"

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._counter):08d}"

    def _resolve_channel(self, channel: str, *, create: bool = True) -> str:
        """A user id posts to the DM with that user (as Slack does); a name finds its id."""
        if _USER_ID.match(channel):
            return self._open_dm(channel) if create else self._dms.get(channel, channel)
        name = channel.lstrip("#")
        for cid, attrs in self.channels.items():
            if attrs.get("name") == name:
                return cid
        return channel

    def _channel(self, channel: str | None) -> dict[str, Any]:
        if not channel:
            raise SlackApiStubError("channel_not_found")
        cid = self._resolve_channel(channel)
        known = cid in self.channels or cid in self._dms.values()
        if not known and (self.strict or not _CHANNEL_ID.match(cid)):
            raise SlackApiStubError("channel_not_found")
        kind = cid[0]
        record: dict[str, Any] = {
            "id": cid,
            "name": f"channel-{cid.lower()}",
            "created": 1700000000,
            "creator": "U0ADMIN",
            "is_channel": kind == "C",
            "is_group": kind == "G",
            "is_im": kind == "D",
            "is_mpim": False,
            "is_private": kind in "GD",
            "is_archived": False,
            "is_general": False,
            "is_shared": False,
            "is_ext_shared": False,
            "is_org_shared": False,
            "is_pending_ext_shared": False,
            "is_member": True,
            "context_team_id": self.team_id,
        }
        if kind == "D":
            record.pop("name")
            record["user"] = next((u for u, d in self._dms.items() if d == cid), None)
        record.update(self.channels.get(cid, {}))
        if "is_shared" not in self.channels.get(cid, {}):
            record["is_shared"] = bool(record["is_ext_shared"] or record["is_org_shared"])
        return record

    def _user(self, user: str | None) -> dict[str, Any]:
        if not user or (self.strict and user not in self.users) or (
                user not in self.users and not _USER_ID.match(user)):
            raise SlackApiStubError("user_not_found")
        attrs = self.users.get(user, {})
        name = attrs.get("name", f"user-{user.lower()}")
        real_name = attrs.get("real_name", name.replace("-", " ").title())
        profile = {"display_name": name, "real_name": real_name, **attrs.get("profile", {})}
        return {
            "id": user,
            "team_id": self.team_id,
            "name": name,
            "real_name": real_name,
            "deleted": False,
            "is_bot": False,
            "tz": "Europe/Berlin",
            **{k: v for k, v in attrs.items() if k != "profile"},
            "profile": profile,
        }

    def _open_dm(self, user: str) -> str:
        if user not in self._dms:
            self._dms[user] = self._new_id("D")
        return self._dms[user]

    def _find(self, channel: str, ts: str | None) -> dict[str, Any] | None:
        return next((m for m in self._messages
                     if m["channel"] == channel and m["ts"] == ts), None)

    # -- the API methods (each returns the response minus "ok"; raise SlackApiStubError) ------

    def _api_auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": f"https://{self.team_domain}.slack.com/",
            "team": self.team,
            "user": self.bot_name,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _api_chat_postMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params.get("channel"))["id"]
        content = _content(params, require=True)
        ts = self._next_ts()
        stored = {
            "type": "message",
            "channel": channel,
            "ts": ts,
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "team": self.team_id,
            **content,
        }
        thread_ts = params.get("thread_ts")
        if thread_ts:
            stored["thread_ts"] = str(thread_ts)
            parent = self._find(channel, str(thread_ts))
            if parent is not None:
                parent["thread_ts"] = parent["ts"]
                parent["reply_count"] = parent.get("reply_count", 0) + 1
                parent["latest_reply"] = ts
        for key in ("metadata", "reply_broadcast", "unfurl_links", "unfurl_media"):
            if key in params:
                stored[key] = params[key]
        self._messages.append(stored)
        return {"channel": channel, "ts": ts, "message": _public(stored)}

    def _api_chat_postEphemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params.get("channel"))["id"]
        user = params.get("user")
        if not user:
            raise SlackApiStubError("user_not_found")
        self._user(user)
        content = _content(params, require=True)
        ts = self._next_ts()
        self._ephemeral.append({"channel": channel, "user": user, "ts": ts,
                                "thread_ts": params.get("thread_ts"), **content})
        return {"message_ts": ts}

    def _api_chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params.get("channel"))["id"]
        stored = self._find(channel, params.get("ts"))
        if stored is None:
            raise SlackApiStubError("message_not_found")
        if stored.get("user") != self.bot_user_id:
            raise SlackApiStubError("cant_update_message")
        content = _content(params, require=True)
        stored.update(content)
        stored["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
        stored["edits"] = stored.get("edits", 0) + 1
        return {"channel": channel, "ts": stored["ts"], "text": stored.get("text", ""),
                "message": _public(stored)}

    def _api_chat_getPermalink(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params.get("channel"))["id"]
        stored = self._find(channel, params.get("message_ts"))
        if stored is None:
            raise SlackApiStubError("message_not_found")
        permalink = (f"https://{self.team_domain}.slack.com/archives/{channel}/"
                     f"p{stored['ts'].replace('.', '')}")
        if stored.get("thread_ts") and stored["thread_ts"] != stored["ts"]:
            permalink += f"?thread_ts={stored['thread_ts']}&cid={channel}"
        return {"channel": channel, "permalink": permalink}

    def _api_conversations_info(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"channel": self._channel(params.get("channel"))}

    def _api_conversations_open(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("channel"):
            return {"channel": {"id": self._channel(params["channel"])["id"]}}
        users = params.get("users")
        if isinstance(users, str):
            users = [u for u in users.split(",") if u]
        if not users:
            raise SlackApiStubError("users_list_not_supplied")
        for user in users:
            try:
                self._user(user)
            except SlackApiStubError:
                raise SlackApiStubError("user_not_found") from None
        if len(users) > 1:
            cid = self._new_id("G")
            self.channels[cid] = {"is_mpim": True, "is_private": True, "is_group": False,
                                  "name": "mpdm-" + "--".join(users)}
            return {"channel": {"id": cid}}
        already = users[0] in self._dms
        cid = self._open_dm(users[0])
        answer: dict[str, Any] = {"channel": {"id": cid}}
        if already:
            answer.update(no_op=True, already_open=True)
        if str(params.get("return_im", "")).lower() in ("1", "true"):
            answer["channel"] = self._channel(cid)
        return answer

    def _api_conversations_replies(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params.get("channel"))["id"]
        parent = self._find(channel, params.get("ts"))
        if parent is None:
            raise SlackApiStubError("thread_not_found")
        thread = parent.get("thread_ts", parent["ts"])
        replies = [m for m in self._messages if m["channel"] == channel
                   and m.get("thread_ts") == thread and m["ts"] != thread]
        root = self._find(channel, thread) or parent
        return {"messages": [_public(root), *(_public(m) for m in replies)],
                "has_more": False, "response_metadata": {"next_cursor": ""}}

    def _api_users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"user": self._user(params.get("user"))}

    def _api_views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        self._use_trigger(params)
        view = self._store_view(params.get("view"))
        return {"view": view}

    def _api_views_push(self, params: dict[str, Any]) -> dict[str, Any]:
        self._use_trigger(params)
        return {"view": self._store_view(params.get("view"))}

    def _api_views_update(self, params: dict[str, Any]) -> dict[str, Any]:
        view_id = params.get("view_id")
        external_id = params.get("external_id")
        if not view_id and not external_id:
            raise SlackApiStubError("invalid_arguments", response_metadata={
                "messages": ["[ERROR] view_id or external_id is required"]})
        old = self.views.get(view_id) if view_id else next(
            (v for v in self.views.values() if v.get("external_id") == external_id), None)
        if old is None:
            raise SlackApiStubError("not_found")
        if params.get("hash") and params["hash"] != old["hash"]:
            raise SlackApiStubError("hash_conflict")
        return {"view": self._store_view(params.get("view"), replace=old)}

    def _use_trigger(self, params: dict[str, Any]) -> None:
        trigger = params.get("trigger_id") or params.get("interactivity_pointer")
        if not trigger:
            raise SlackApiStubError("invalid_arguments", response_metadata={
                "messages": ["[ERROR] missing required field: trigger_id"]})
        if not _TRIGGER_ID.match(str(trigger)):
            raise SlackApiStubError("invalid_trigger_id")
        if trigger in self._used_triggers:
            raise SlackApiStubError("exchanged_trigger_id")
        self._used_triggers.add(trigger)

    def _store_view(
        self, view: Any, replace: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        problems = _view_problems(view)
        if problems:
            raise SlackApiStubError("invalid_arguments",
                                    response_metadata={"messages": problems})
        view_id = replace["id"] if replace else self._new_id("V")
        stored = {
            "id": view_id,
            "team_id": self.team_id,
            "app_id": self.app_id,
            "bot_id": self.bot_id,
            "private_metadata": "",
            "callback_id": "",
            "external_id": "",
            "clear_on_close": False,
            "notify_on_close": False,
            **view,
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{next(self._counter):08x}",
            "root_view_id": replace["root_view_id"] if replace else view_id,
            "previous_view_id": None,
        }
        self.views[view_id] = stored
        return json.loads(json.dumps(stored))


class _Handler(BaseHTTPRequestHandler):
    stub: SlackStub
    server_version = "SlackStub/1.0"

    def do_POST(self) -> None:
        self._answer()

    def do_GET(self) -> None:
        self._answer()

    def _answer(self) -> None:
        parts = urlsplit(self.path)
        if not parts.path.startswith("/api/"):
            self._send(404, {"Content-Type": "text/plain"}, b"not found")
            return
        method = parts.path[len("/api/"):]
        params: dict[str, Any] = dict(parse_qsl(parts.query, keep_blank_values=True))
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            params.update(_parse_body(raw, self.headers.get("Content-Type", "")))
        except ValueError:
            self._send(200, {"Content-Type": "application/json"},
                       b'{"ok":false,"error":"invalid_json"}')
            return
        for key in _JSON_FIELDS:
            if isinstance(params.get(key), str) and params[key][:1] in ("[", "{"):
                with contextlib.suppress(ValueError):
                    params[key] = json.loads(params[key])
        token = params.pop("token", None)
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            token = auth[len("Bearer "):].strip()
        status, headers, body = self.stub.handle(method, params, token)
        self._send(status, headers, body)

    def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass


def _parse_body(raw: bytes, content_type: str) -> dict[str, Any]:
    if not raw:
        return {}
    kind = content_type.split(";")[0].strip().lower()
    if kind == "application/json":
        data = json.loads(raw.decode("utf-8"))
        if not isinstance(data, dict):
            raise ValueError("JSON body is not an object")
        return data
    if kind == "multipart/form-data":
        parsed = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw)
        fields: dict[str, Any] = {}
        for part in parsed.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            data = payload if isinstance(payload, bytes) else b""
            fields[str(name)] = data if part.get_filename() else data.decode("utf-8", "replace")
        return fields
    return dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))


def _failure_response(failure: _Failure) -> tuple[int, dict[str, str], bytes]:
    if failure.status == 429:
        headers = {"Content-Type": "application/json; charset=utf-8",
                   "Retry-After": str(failure.retry_after if failure.retry_after is not None
                                      else 1)}
        return 429, headers, b'{"ok":false,"error":"ratelimited"}'
    if failure.status >= 500:
        headers = {"Content-Type": "text/html; charset=utf-8"}
        if failure.retry_after is not None:
            headers["Retry-After"] = str(failure.retry_after)
        return failure.status, headers, f"<html><body>{failure.status}</body></html>".encode()
    body = json.dumps({"ok": False, "error": failure.error or "fatal_error"}).encode()
    return failure.status, {"Content-Type": "application/json; charset=utf-8"}, body


def _content(params: dict[str, Any], *, require: bool) -> dict[str, Any]:
    """The text/blocks/attachments of a post or update, checked the way Slack checks them."""
    content: dict[str, Any] = {k: params[k] for k in ("text", "blocks", "attachments")
                               if k in params}
    text = content.get("text")
    if require and not text and not content.get("blocks") and not content.get("attachments"):
        raise SlackApiStubError("no_text")
    if text is not None and len(str(text)) > MAX_TEXT:
        raise SlackApiStubError("msg_too_long")
    blocks = content.get("blocks")
    if blocks is not None:
        problems = _block_problems(blocks, MAX_MESSAGE_BLOCKS, "/blocks")
        if problems:
            raise SlackApiStubError("invalid_blocks", response_metadata={"messages": problems})
    return content


def _block_problems(blocks: Any, limit: int, pointer: str) -> list[str]:
    if not isinstance(blocks, list):
        return [f"[ERROR] must be an array [json-pointer:{pointer}]"]
    problems = []
    if len(blocks) > limit:
        problems.append(f"[ERROR] no more than {limit} items allowed [json-pointer:{pointer}]")
    seen: set[str] = set()
    for i, block in enumerate(blocks):
        if not isinstance(block, dict) or not block.get("type"):
            problems.append(f"[ERROR] missing required field: type [json-pointer:{pointer}/{i}]")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if block_id in seen:
                problems.append(f"[ERROR] duplicate block_id [json-pointer:{pointer}/{i}]")
            if len(str(block_id)) > 255:
                problems.append(f"[ERROR] block_id too long [json-pointer:{pointer}/{i}]")
            seen.add(str(block_id))
        actions = [e.get("action_id") for e in block.get("elements", []) if isinstance(e, dict)]
        named = [a for a in actions if a]
        if len(named) != len(set(named)):
            problems.append(f"[ERROR] duplicate action_id [json-pointer:{pointer}/{i}]")
    return problems


def _view_problems(view: Any) -> list[str]:
    if not isinstance(view, dict):
        return ["[ERROR] missing required field: view"]
    problems = _block_problems(view.get("blocks", []), MAX_VIEW_BLOCKS, "/view/blocks")
    if view.get("type") not in ("modal", "home"):
        problems.append("[ERROR] must be one of modal, home [json-pointer:/view/type]")
    if view.get("type") == "modal":
        for key, limit in (("title", 24), ("submit", 24), ("close", 24)):
            text = (view.get(key) or {}).get("text", "")
            if key == "title" and not text:
                problems.append("[ERROR] missing required field: title [json-pointer:/view]")
            if len(text) > limit:
                problems.append(f"[ERROR] must be less than {limit + 1} characters "
                                f"[json-pointer:/view/{key}/text]")
        has_input = any(b.get("type") == "input" for b in view.get("blocks", [])
                        if isinstance(b, dict))
        if has_input and not view.get("submit"):
            problems.append("[ERROR] submit is required when an input block is present "
                            "[json-pointer:/view/submit]")
    if len(view.get("private_metadata", "") or "") > 3000:
        problems.append("[ERROR] must be less than 3001 characters "
                        "[json-pointer:/view/private_metadata]")
    if len(view.get("callback_id", "") or "") > 255:
        problems.append("[ERROR] must be less than 256 characters "
                        "[json-pointer:/view/callback_id]")
    return problems


def _public(message: dict[str, Any]) -> dict[str, Any]:
    """A stored message as the API returns it (without the stub's bookkeeping)."""
    return {k: v for k, v in message.items() if k not in ("channel", "edits")}
