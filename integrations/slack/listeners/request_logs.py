"""Bolt's log lines about requests, without the request body.

Bolt logs a rejected signature as ``Invalid request signature detected (signature: …,
timestamp: …, body: …)`` and an unhandled request with its body; a body holds what reps and
customers wrote. This filter rewrites those records to say what happened and nothing more.
Installed on Bolt's request-verification logger and on the app's logger.
"""

from __future__ import annotations

import logging

VERIFICATION_LOGGER = "slack_bolt.RequestVerification"
REWRITES = {
    "Invalid request signature detected": (
        "rejected a Slack request (401): missing or wrong signature, or a timestamp older "
        "than 5 minutes"),
    "Unhandled request": "a Slack request matched no listener (acknowledged)",
    "A global middleware": "a Slack middleware neither continued nor answered a request",
}


class NoRequestBodies(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.msg if isinstance(record.msg, str) else ""
        for start, text in REWRITES.items():
            if message.startswith(start):
                record.msg, record.args = text, ()
                break
        return True


def install(*loggers: logging.Logger) -> None:
    """Add the filter to ``loggers`` and to Bolt's verification logger (once each)."""
    for logger in (logging.getLogger(VERIFICATION_LOGGER), *loggers):
        if not any(isinstance(f, NoRequestBodies) for f in logger.filters):
            logger.addFilter(NoRequestBodies())
