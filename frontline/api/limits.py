"""Per-session message rate limit for the chat endpoint (sliding one-minute window).

In memory, per replica: behind a load balancer each replica enforces the limit on what it sees,
which bounds abuse without shared state.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from typing import Any

from frontline.errors import RateLimited


class SessionRateLimit:
    def __init__(self, per_minute: int, window: float = 60.0, max_sessions: int = 100_000) -> None:
        self.per_minute = per_minute
        self.window = window
        self.max_sessions = max_sessions
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, session_id: str, now: float | None = None) -> None:
        """Count one message; raises ``RateLimited`` (with seconds to wait) past the limit."""
        now = time.monotonic() if now is None else now
        with self._lock:
            hits = self._hits.setdefault(session_id, deque())
            while hits and now - hits[0] >= self.window:
                hits.popleft()
            if len(hits) >= self.per_minute:
                wait = max(1, int(self.window - (now - hits[0])) + 1)
                raise RateLimited(
                    f"too many messages: at most {self.per_minute} a minute; "
                    f"try again in {wait} s",
                    retry_after=wait,
                )
            hits.append(now)
            if len(self._hits) > self.max_sessions:
                self._evict(now)

    def _evict(self, now: float) -> None:
        for key in [k for k, v in self._hits.items() if not v or now - v[-1] >= self.window]:
            del self._hits[key]


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
