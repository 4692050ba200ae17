"""Per-session message rate limit for the chat endpoint (sliding one-minute window).

In memory, per replica: behind a load balancer each replica enforces the limit on what it sees,
which bounds abuse without shared state.
"""

from __future__ import annotations

import threading
import time
from collections import deque

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
