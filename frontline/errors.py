"""The one catalogue of domain errors. Each has a stable ``code``; none knows about HTTP.

Surfaces translate them: ``frontline.api.errors`` maps each class to a status once, the Rasa
actions and the Slack app turn them into honest messages.
"""

from __future__ import annotations


class FrontlineError(Exception):
    code = "error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


# -- access ----------------------------------------------------------------------------------
class Unauthorized(FrontlineError):
    code = "unauthorized"


class AdminDisabled(FrontlineError):
    code = "admin_disabled"


class RateLimited(FrontlineError):
    code = "rate_limited"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


# -- bad input -------------------------------------------------------------------------------
class InvalidQuery(FrontlineError):
    code = "invalid_query"


class EmptyMessage(FrontlineError):
    code = "empty_message"


class MessageTooLong(FrontlineError):
    code = "message_too_long"


class InvalidMessage(FrontlineError):
    """Text that no store can keep as typed: NUL, or an unpaired UTF-16 surrogate."""

    code = "invalid_message"


class InvalidTicket(FrontlineError):
    code = "invalid_ticket"


class InvalidFeedback(FrontlineError):
    code = "invalid_feedback"

    def __init__(self, detail: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.fields = fields or {}  # field name -> what is wrong with it


class InvalidArticle(FrontlineError):
    code = "invalid_article"


# -- not found / conflict --------------------------------------------------------------------
class ArticleNotFound(FrontlineError):
    code = "article_not_found"


class TicketNotFound(FrontlineError):
    code = "ticket_not_found"


class FeedbackNotFound(FrontlineError):
    code = "feedback_not_found"


class NotAHandoff(FrontlineError):
    code = "not_a_handoff"


class ReindexInProgress(FrontlineError):
    code = "reindex_in_progress"


# -- a part is down --------------------------------------------------------------------------
class IndexNotReady(FrontlineError):
    code = "index_unavailable"


class IndexWriteFailed(FrontlineError):
    """A new index version could not be written (out of disk); the previous one serves on."""

    code = "index_write_failed"


class DatabaseUnavailable(FrontlineError):
    code = "database_unavailable"


class AssistantUnavailable(FrontlineError):
    """The Rasa server did not answer (down, refused, timed out, or an error status)."""

    code = "assistant_unavailable"


class SlackDisabled(FrontlineError):
    code = "slack_disabled"
