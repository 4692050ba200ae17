"""Request limits: rate limits per client address and per session, and the body-size limit.

``RateLimits`` is one pure ASGI middleware keyed by a route table (``rules(settings)``): each
rule names the requests it covers (method and path), a limit per client address and, where the
request names a chat session, a limit per session. The counters are the ``limits`` library's
moving windows: in Redis when ``FRONTLINE_REDIS_URL`` is set, so that every replica counts the
same requests, else in this process. When Redis cannot be reached the counters fall back to
this process (logged once, reported as ``degraded`` by ``/healthz``) and go back to Redis as
soon as it answers again.

The client address is the peer of the connection; behind a proxy it is the one
``X-Forwarded-For`` names, but only when the peer is one of ``FRONTLINE_TRUSTED_PROXIES``
(uvicorn's ``ProxyHeadersMiddleware``, mounted by ``create_app``). Many customers can share one
address (an office or mobile carrier NAT), so the per-address limits are far higher than the
per-session ones: they stop one machine rotating session ids, not a crowd.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from limits import RateLimitItem, RateLimitItemPerMinute, parse
from limits import storage as sync_storage
from limits import strategies as sync_strategies
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter

if TYPE_CHECKING:
    from frontline.settings import Settings

logger = logging.getLogger(__name__)

RETRY_REDIS_SECONDS = 5.0  # while degraded, how often one request tries Redis again
EXEMPT = ("/webhook", "/slack/events", "/healthz")  # authenticated by a secret, or monitoring


@dataclass(frozen=True)
class Rule:
    """Which requests one limit covers, and how much of it each address and session gets.

    ``path`` matches exactly, or as a prefix when it ends with ``/``; ``methods`` empty means
    any. ``session`` says where the request names its chat session: ``"query"`` (the
    ``session_id`` parameter), ``"json"`` (the body's ``session_id``) or ``None``."""

    name: str
    path: str
    per_address: RateLimitItem
    per_session: RateLimitItem | None = None
    session: str | None = None
    methods: frozenset[str] = frozenset()
    what: str = "requests"

    def matches(self, method: str, path: str) -> bool:
        if self.methods and method not in self.methods:
            return False
        if self.path.endswith("/"):
            return path.startswith(self.path) or path == self.path[:-1]
        return path == self.path


def rules(settings: Settings) -> list[Rule]:
    """The route table, first match wins; paths in ``EXEMPT`` are never limited."""
    search = parse(settings.search_rate_limit)
    admin = parse(settings.admin_rate_limit)
    return [
        Rule("chat", "/chat", parse(settings.chat_address_rate_limit),
             RateLimitItemPerMinute(settings.chat_rate_limit), "json",
             frozenset({"POST"}), "messages"),
        Rule("history", "/chat/history", parse(settings.history_address_rate_limit),
             parse(settings.history_rate_limit), "query", frozenset({"GET"})),
        Rule("search", "/api/search", search),
        Rule("suggest", "/api/suggest", parse(settings.suggest_rate_limit)),
        Rule("help_search", "/help/search", search),
        Rule("sign_in", "/dashboard/sign-in", parse(settings.sign_in_rate_limit),
             methods=frozenset({"POST"}), what="sign-in attempts"),
        Rule("dashboard", "/dashboard/", admin),
        Rule("admin", "/api/", admin),  # tickets, kb, feedback: the admin token's endpoints
        Rule("pages", "/", parse(settings.page_rate_limit)),
    ]


class Counters:
    """Moving-window counters in Redis (when a URL is given) with this process as the
    fallback. ``status``: ``"memory"`` (no Redis configured), ``"redis"`` or ``"degraded"``
    (Redis configured but unreachable: counting in this process until it answers)."""

    def __init__(self, redis_url: str = "", *, timeout: float = 0.5,
                 retry_every: float = RETRY_REDIS_SECONDS) -> None:
        self.redis_url = redis_url
        self.retry_every = retry_every
        # The in-process counters are the synchronous store (thread locks, no I/O): the
        # asyncio one binds its locks to the first event loop that used it, and an app that
        # is started again on another loop (a restart in the same process) then fails.
        self.memory = sync_strategies.MovingWindowRateLimiter(sync_storage.MemoryStorage())
        self.redis: MovingWindowRateLimiter | None = None
        if redis_url:
            uri = redis_url if redis_url.startswith("async+") else f"async+{redis_url}"
            self.redis = MovingWindowRateLimiter(RedisStorage(
                uri, implementation="redispy", wrap_exceptions=True,
                socket_timeout=timeout, socket_connect_timeout=timeout))
        self._down_since: float | None = None
        self._next_try = 0.0

    @property
    def status(self) -> str:
        if self.redis is None:
            return "memory"
        return "degraded" if self._down_since is not None else "redis"

    async def hit(self, item: RateLimitItem, *key: str) -> int:
        """Count one request; 0 when allowed, else the seconds until one more is allowed."""
        if self.redis is not None and (self._down_since is None
                                       or time.monotonic() >= self._next_try):
            try:
                wait = await _hit(self.redis, item, key)
            except Exception as exc:  # any failure of the store: count here instead
                self._went_down(exc)
            else:
                self._came_back()
                return wait
        if self.memory.hit(item, *key):
            return 0
        return _wait(self.memory.get_window_stats(item, *key))

    async def check(self) -> str:
        """``status`` after asking Redis (when configured) whether it answers."""
        if self.redis is not None:
            if await self.redis.storage.check():
                self._came_back()
            else:
                self._went_down(ConnectionError("no answer to PING"))
        return self.status

    def _went_down(self, exc: Exception) -> None:
        if self._down_since is None:
            self._down_since = time.monotonic()
            logger.warning("rate-limit counters: Redis at %s is unreachable (%s); counting in "
                           "this process until it answers again", _safe_url(self.redis_url), exc)
        self._next_try = time.monotonic() + self.retry_every

    def _came_back(self) -> None:
        if self._down_since is not None:
            logger.warning("rate-limit counters: Redis answers again after %.0f s; counting "
                           "there again", time.monotonic() - self._down_since)
            self._down_since = None


async def _hit(limiter: MovingWindowRateLimiter, item: RateLimitItem,
               key: tuple[str, ...]) -> int:
    if await limiter.hit(item, *key):
        return 0
    return _wait(await limiter.get_window_stats(item, *key))


def _wait(stats: Any) -> int:
    """Whole seconds until the window has room again (at least 1)."""
    return max(1, math.ceil(stats.reset_time - time.time()))


def _safe_url(url: str) -> str:
    """The Redis URL without a password, for logs."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme}{sep}{rest.rpartition('@')[2]}" if sep else url


class RateLimits:
    """Pure ASGI middleware: count each request against its rule's per-session and
    per-address limits and answer 429 (``Retry-After``, ``{"error", "detail"}``) past them."""

    def __init__(self, app: Any, counters: Counters, table: list[Rule]) -> None:
        self.app = app
        self.counters = counters
        self.table = table

    def rule_for(self, method: str, path: str) -> Rule | None:
        if path in EXEMPT:
            return None
        return next((r for r in self.table if r.matches(method, path)), None)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rule = self.rule_for(scope["method"], scope.get("path", ""))
        if rule is None:
            await self.app(scope, receive, send)
            return
        session = None
        if rule.session == "query":
            values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get(
                "session_id", [])
            session = values[0] if values else None
        elif rule.session == "json":
            receive, session = await _json_session(receive)
        if rule.per_session is not None and session:
            wait = await self.counters.hit(rule.per_session, rule.name, "session", session)
            if wait:
                await _too_many(send, f"too many {rule.what} in this conversation: at most "
                                f"{_per(rule.per_session)}; try again in {wait} s", wait)
                return
        client = scope.get("client")
        address = client[0] if client else "unknown"
        wait = await self.counters.hit(rule.per_address, rule.name, "address", address)
        if wait:
            await _too_many(send, f"too many {rule.what} from your network address: at most "
                            f"{_per(rule.per_address)}; try again in {wait} s", wait)
            return
        await self.app(scope, receive, send)


async def _json_session(receive: Any) -> tuple[Any, str | None]:
    """Read the whole body (the body limit, outside, has bounded it), find its
    ``session_id``, and return a ``receive`` that replays the body to the app."""
    chunks: list[bytes] = []
    messages: list[Any] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    session = None
    try:
        body = json.loads(b"".join(chunks))
        if isinstance(body, dict) and isinstance(body.get("session_id"), str):
            session = body["session_id"][:200]
    except ValueError:
        pass  # the route says what is wrong with the body

    async def replay() -> Any:
        return messages.pop(0) if messages else await receive()

    return replay, session


def _per(item: RateLimitItem) -> str:
    unit = item.GRANULARITY.name
    return f"{item.amount} a {unit}" if item.multiples == 1 else \
        f"{item.amount} per {item.multiples} {unit}s"


async def _too_many(send: Any, detail: str, wait: int) -> None:
    body = json.dumps({"error": "rate_limited", "detail": detail}).encode()
    await send({"type": "http.response.start", "status": 429,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"retry-after", str(wait).encode())]})
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """Pure ASGI middleware: refuse a request body over ``limit`` bytes before it is read —
    at once from its ``Content-Length``, or as soon as a streamed body passes the limit — with
    413 naming the limit. ``overrides`` sets other limits by path prefix."""

    def __init__(self, app: Any, limit: int, overrides: dict[str, int] | None = None) -> None:
        self.app = app
        self.limit = limit
        self.overrides = overrides or {}

    def limit_for(self, path: str) -> int:
        for prefix, limit in self.overrides.items():
            if path.startswith(prefix):
                return limit
        return self.limit

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _too_large(send, limit)
            return
        seen = 0
        started = responded = False

        async def limited_receive() -> Any:
            nonlocal seen, responded
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    if not started and not responded:
                        responded = True
                        await _too_large(send, limit)
                    # The app sees the client go away and stops reading.
                    return {"type": "http.disconnect"}
            return message

        async def tracking_send(message: Any) -> None:
            nonlocal started
            if responded:
                return  # the 413 has been sent; whatever the app says now is dropped
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, limited_receive, tracking_send)


async def _too_large(send: Any, limit: int) -> None:
    body = json.dumps({"error": "request_too_large",
                       "detail": f"the request body is over the limit of {limit} bytes"}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
