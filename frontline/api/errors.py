"""Domain errors → HTTP, once: the status of each error class, and the one handler that
answers ``{"error": code, "detail": text}``."""

from __future__ import annotations

import logging

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from frontline import errors

logger = logging.getLogger(__name__)

STATUS: dict[type[errors.FrontlineError], int] = {
    errors.Unauthorized: 401,
    errors.AdminDisabled: 403,
    errors.RateLimited: 429,
    errors.InvalidQuery: 422,
    errors.EmptyMessage: 422,
    errors.MessageTooLong: 413,
    errors.InvalidMessage: 422,
    errors.InvalidTicket: 422,
    errors.InvalidFeedback: 422,
    errors.InvalidArticle: 422,
    errors.ArticleNotFound: 404,
    errors.TicketNotFound: 404,
    errors.FeedbackNotFound: 404,
    errors.NotAHandoff: 409,
    errors.ReindexInProgress: 409,
    errors.IndexNotReady: 503,
    errors.IndexWriteFailed: 507,
    errors.DatabaseUnavailable: 503,
    errors.AssistantUnavailable: 503,
    errors.SlackDisabled: 404,
}


HTTP_CODES = {400: "invalid_request", 404: "not_found", 405: "method_not_allowed"}


def status_of(exc: errors.FrontlineError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def error_body(code: str, detail: str) -> dict[str, str]:
    return {"error": code, "detail": detail}


async def handle_error(request: Request, exc: Exception) -> JSONResponse:
    """The one place errors become HTTP."""
    if isinstance(exc, errors.FrontlineError):
        retry = getattr(exc, "retry_after", None)
        headers = {"Retry-After": str(retry)} if retry else None
        return JSONResponse(error_body(exc.code, exc.detail), status_code=status_of(exc),
                            headers=headers)
    if isinstance(exc, RequestValidationError):
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        return JSONResponse(error_body("invalid_request", problems), status_code=422)
    if isinstance(exc, StarletteHTTPException):
        code = HTTP_CODES.get(exc.status_code, "http_error")
        detail = str(exc.detail)
        if exc.status_code == 400 and detail == "There was an error parsing the body":
            detail = "the request body could not be read: send JSON encoded as UTF-8"
        return JSONResponse(error_body(code, detail), status_code=exc.status_code,
                            headers=exc.headers)
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return JSONResponse(error_body("internal_error", "internal server error"), status_code=500)


HANDLED = (errors.FrontlineError, RequestValidationError, StarletteHTTPException, Exception)
