"""Rasa's action server protocol, served in-process: ``POST /webhook``.

Rasa posts ``{next_action, sender_id, tracker, domain, version}``; the reply is
``{events, responses}``, or Rasa's own error bodies (400 rejection, 404 unknown action), which
Rasa relies on — so this route answers in Rasa's shapes (``error`` holds the message there),
each with a ``detail`` as well, so that every error of the service carries ``error`` and
``detail``.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse
from rasa_sdk.interfaces import ActionExecutionRejection, ActionNotFoundException

from frontline.api.errors import error_body
from frontline.rasa.endpoints import ACTION_TOKEN_HEADER

router = APIRouter(tags=["actions"])
logger = logging.getLogger(__name__)


@router.post("/webhook")
def webhook(request: Request, action_call: dict[str, Any] = Body(...)) -> JSONResponse:  # noqa: B008
    """Run one custom action for the Rasa server (sync route: actions do blocking I/O)."""
    expected = request.app.state.services.settings.action_token.get_secret_value()
    if not expected:
        # Never open: without a secret anyone who reaches /webhook could file tickets or start
        # handoffs for any session. `frontline run` generates one for its Rasa.
        return JSONResponse(error_body(
            "actions_disabled", "actions are disabled: set FRONTLINE_ACTION_TOKEN and send it "
            f"in the {ACTION_TOKEN_HEADER} header"), 401)
    given = request.headers.get(ACTION_TOKEN_HEADER, "")
    if not secrets.compare_digest(given.encode(), expected.encode()):
        return JSONResponse(error_body("unauthorized",
                                       f"invalid or missing {ACTION_TOKEN_HEADER} header"), 401)
    executor = request.app.state.action_executor
    try:
        result = asyncio.run(executor.run(action_call))
    except ActionExecutionRejection as exc:
        return JSONResponse({"error": exc.message, "detail": exc.message,
                             "action_name": exc.action_name}, 400)
    except ActionNotFoundException as exc:
        logger.error("unknown action %s", exc.action_name)
        return JSONResponse({"error": exc.message, "detail": exc.message,
                             "action_name": exc.action_name}, 404)
    return JSONResponse(result.model_dump() if result else None)


@router.get("/actions")
def actions(request: Request) -> list[dict[str, str]]:
    """The registered custom actions."""
    return [a.model_dump() for a in request.app.state.action_executor.list_actions()]
