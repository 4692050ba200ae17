"""Domain errors, each with a stable code and HTTP status; translated once, in ``app.py``."""

from __future__ import annotations


class FrontlineError(Exception):
    code = "error"
    status = 500

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class Unauthorized(FrontlineError):
    code = "unauthorized"
    status = 401


class AdminDisabled(FrontlineError):
    code = "admin_disabled"
    status = 403


class ArticleNotFound(FrontlineError):
    code = "article_not_found"
    status = 404


class IndexNotReady(FrontlineError):
    code = "index_unavailable"
    status = 503


class ReindexInProgress(FrontlineError):
    code = "reindex_in_progress"
    status = 409


class InvalidArticle(FrontlineError):
    code = "invalid_article"
    status = 422


class InvalidQuery(FrontlineError):
    code = "invalid_query"
    status = 422
