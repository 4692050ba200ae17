"""What the rate-limit middleware costs per request: a trivial ASGI app alone (the baseline),
behind ``RateLimits`` counting in process, and behind it counting in a private redis-server
(Debian's, on loopback). Each request is a ``POST /chat`` whose session id and address are
counted, as the widget's are (default limits, 1,000 addresses, 5,000 sessions). Prints
per-request medians and p95s, and the medians' ratios to the baseline.

    .venv/bin/python bench/rate_limits.py [--requests 3000]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from frontline.api.limits import Counters, RateLimits, rules
from frontline.settings import Settings
from tests.support.redis import redis_server


async def ok(scope: Any, receive: Any, send: Any) -> None:
    """The app behind the middleware: reads the body, answers 200."""
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b"{}"})


SESSIONS = itertools.count()


class Addresses:
    """Each request from the next of 1,000 client addresses (a busy site's traffic)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.n = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.n += 1
        scope["client"] = (f"10.0.{self.n % 1000 // 250}.{self.n % 250}", 40000)
        await self.app(scope, receive, send)


async def timed(app: Any, requests: int) -> list[float]:
    transport = httpx.ASGITransport(app=Addresses(app))
    out = []
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        for _ in range(requests):
            body = json.dumps({"session_id": f"bench-{next(SESSIONS) % 5000:05}",
                               "message": "hello"})
            started = time.perf_counter()
            response = await client.post("/chat", content=body,
                                         headers={"content-type": "application/json"})
            out.append((time.perf_counter() - started) * 1e6)
            assert response.status_code == 200, response.text
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=3000)
    args = parser.parse_args()
    # The product's default limits; 1,000 addresses and 5,000 sessions keep every request
    # under them (what is measured is counting, not refusing).
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    with redis_server() as redis:
        apps = {
            "no middleware (baseline)": ok,
            "RateLimits, in process": RateLimits(ok, Counters(""), rules(settings)),
            "RateLimits, Redis": RateLimits(ok, Counters(redis.url), rules(settings)),
        }

        async def run_all() -> dict[str, list[float]]:
            results: dict[str, list[float]] = {name: [] for name in apps}
            for app in apps.values():
                await timed(app, 200)  # warm up (connections, scripts loaded in Redis)
            # Rounds of 100 requests, taking turns, so a busy machine slows all three alike.
            for _ in range(max(1, args.requests // 100)):
                for name, app in apps.items():
                    results[name] += await timed(app, 100)
            return results

        results = asyncio.run(run_all())
    base = statistics.median(results["no middleware (baseline)"])
    for name, us in results.items():
        ordered = sorted(us)
        p95 = ordered[int(0.95 * (len(ordered) - 1))]
        print(f"{name:26} n={len(us)}  median {statistics.median(us):7.1f} µs  p95 "
              f"{p95:8.1f} µs  median / baseline {statistics.median(us) / base:5.2f}")


if __name__ == "__main__":
    main()
