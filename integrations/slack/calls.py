"""What a failed Slack Web API call means: a short reason for the log, and whether to retry."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError

# API errors Slack documents as temporary (worth a retry), next to HTTP 429 and 5xx.
TRANSIENT_ERRORS = frozenset({"ratelimited", "rate_limited", "fatal_error", "internal_error",
                              "service_unavailable", "request_timeout"})


def reason(exc: BaseException) -> str:
    """``"channel_not_found"``, ``"HTTP 503"`` or the exception's type: never a token or body."""
    if isinstance(exc, SlackApiError):
        data = exc.response.data
        error = data.get("error") if isinstance(data, dict) else None
        return str(error or f"HTTP {exc.response.status_code}")
    return type(exc).__name__


def is_transient(exc: BaseException) -> bool:
    """True when the same call may well work later: 429, 5xx, a temporary API error, or no
    answer at all (timeout, refused connection)."""
    if isinstance(exc, SlackApiError):
        status = exc.response.status_code
        return status == 429 or status >= 500 or reason(exc) in TRANSIENT_ERRORS
    return True
