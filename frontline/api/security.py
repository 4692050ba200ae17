"""Response headers that fit each page, and the secrets the service refuses to start with.

``SecurityHeaders`` is a pure ASGI middleware: every response gets ``X-Content-Type-Options:
nosniff`` and a Content-Security-Policy chosen by path (``policy_for``), unless the route set
its own (the dashboard's and the help centre's templates do, with the same or a stricter
policy). What each page loads decides its policy:

* the demo page (``/``) has one inline script and one inline style sheet, and the widget it
  embeds falls back to a ``<style>`` in its shadow root where constructed style sheets are
  missing: those are allowed by their SHA-256 hashes, computed from the files at start, so
  nothing else inline runs; it may be framed by itself only;
* the widget script (``/widget.js``) is loaded by customers' sites: it is served with
  ``Cross-Origin-Resource-Policy: cross-origin``; a CSP on a script has no effect on the page
  that embeds it, so its policy only forbids what a script file never needs;
* the dashboard and the help centre load their own scripts and style sheets only and must not
  be framed (``frame-ancestors 'none'``: a framed admin page is a click-jacking target);
* JSON and everything else: ``default-src 'none'; frame-ancestors 'none'``;
* ``/docs`` and ``/redoc`` (FastAPI's API explorer loads its assets from a CDN) only forbid
  framing.

``check_secrets(settings)`` stops the service outside development when the admin token is
shorter than ``ADMIN_TOKEN_MIN`` characters or one of the examples printed in the docs.
"""

from __future__ import annotations

import base64
import hashlib
import re
from functools import cache
from pathlib import Path
from typing import Any

from frontline.settings import Settings

WEBCHAT_STATIC = Path(__file__).resolve().parent.parent.parent / "integrations" / "webchat" \
    / "static"
ADMIN_TOKEN_MIN = 24
# Tokens that appear in the README, the docs, the examples and the tests: never a real secret.
EXAMPLE_TOKENS = frozenset({
    "admin-secret", "e2e-admin-token", "change-me", "changeme", "secret", "admin", "password",
    "token", "test", "example", "replace-me-with-a-long-random-token",
})
COMMON = ("base-uri 'none'; object-src 'none'; form-action 'self'")
PAGE = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self'; frame-ancestors 'none'; {COMMON}")
NOTHING = "default-src 'none'; frame-ancestors 'none'"
SCRIPT_FILE = "default-src 'none'; frame-ancestors 'none'"
EXPLORER = "frame-ancestors 'none'"


class InsecureSettings(ValueError):
    """The settings are not fit to serve outside development."""


def check_secrets(settings: Settings) -> None:
    """Raise ``InsecureSettings`` naming the problem when the service must not start: outside
    development an admin token that is set must be at least ``ADMIN_TOKEN_MIN`` characters
    and not an example value (an empty token keeps the admin endpoints off)."""
    if settings.environment == "development":
        return
    token = settings.admin_token.get_secret_value()
    if not token:
        return
    if token.strip().lower() in EXAMPLE_TOKENS:
        raise InsecureSettings(
            "FRONTLINE_ADMIN_TOKEN is an example value from the documentation; set a random "
            f"one of {ADMIN_TOKEN_MIN}+ characters (e.g. `python -c 'import secrets; "
            "print(secrets.token_urlsafe(32))'`) or FRONTLINE_ENVIRONMENT=development")
    if len(token) < ADMIN_TOKEN_MIN:
        raise InsecureSettings(
            f"FRONTLINE_ADMIN_TOKEN is {len(token)} characters; outside development it must "
            f"be at least {ADMIN_TOKEN_MIN} (e.g. `python -c 'import secrets; "
            "print(secrets.token_urlsafe(32))'`)")


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


@cache
def demo_policy() -> str:
    """The demo page's CSP: its inline script and style sheet, and the widget's fallback
    style sheet, by hash."""
    page = (WEBCHAT_STATIC / "demo.html").read_text(encoding="utf-8")
    widget = (WEBCHAT_STATIC / "widget.js").read_text(encoding="utf-8")
    scripts = re.findall(r"<script>(.*?)</script>", page, re.S)
    styles = re.findall(r"<style>(.*?)</style>", page, re.S)
    styles += re.findall(r"const STYLE = `(.*?)`;", widget, re.S)
    script_src = " ".join(["'self'", *map(_sha256, scripts)])
    style_src = " ".join(["'self'", *map(_sha256, styles)])
    return (f"default-src 'self'; script-src {script_src}; style-src {style_src}; "
            f"img-src 'self' data:; connect-src 'self'; frame-ancestors 'self'; {COMMON}")


def policy_for(path: str) -> str:
    if path == "/":
        return demo_policy()
    if path == "/widget.js":
        return SCRIPT_FILE
    if path in ("/docs", "/redoc") or path.startswith("/docs/"):
        return EXPLORER
    if path.startswith(("/dashboard", "/help")):
        return PAGE
    return NOTHING


class SecurityHeaders:
    """Pure ASGI middleware adding the headers above to every HTTP response that lacks them."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        extra = [(b"content-security-policy", policy_for(path).encode()),
                 (b"x-content-type-options", b"nosniff")]
        if path == "/widget.js":
            extra.append((b"cross-origin-resource-policy", b"cross-origin"))

        async def with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                present = {name.lower() for name, _ in headers}
                headers += [(k, v) for k, v in extra if k not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
