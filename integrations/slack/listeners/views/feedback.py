"""The process-feedback modal: opened by ``/feedback`` and the two shortcuts, submitted here.

The submission is validated by ``ProcessFeedbackService.submit`` before the ack: a problem is
shown under its field (``response_action: errors``) and the modal stays open with everything
the rep typed. On success the modal closes and the rep gets a receipt in their DM with the
app — the same DM where ops' replies arrive later.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from frontline.errors import DatabaseUnavailable, InvalidFeedback
from integrations.slack import blocks, ids
from integrations.slack.assist import Assist, assist_for
from integrations.slack.calls import reason
from integrations.slack.mirror.feedback import feedback_card

if TYPE_CHECKING:
    from integrations.slack.app import SlackIntegration

logger = logging.getLogger(__name__)
NOT_SAVED = ("We couldn't save this just now. Please press Send again in a minute — what you "
             "typed is still here.")
NOT_OPENED = "I couldn't open the feedback form just now. Please try again."
NAME_MAX = 128


def field_errors(exc: InvalidFeedback) -> dict[str, str]:
    """The service's ``{field: problem}`` as the modal can show it (a problem without a
    field goes under "What happened?")."""
    known = {k: v for k, v in exc.fields.items() if k in ids.FEEDBACK_FIELD_BLOCKS}
    return known or {"what_happened": exc.detail}


async def open_feedback_modal(assist: Assist, client: AsyncWebClient, body: dict[str, Any], *,
                              prefill: str = "", channel: str | None = None) -> None:
    """``views.open`` with the trigger of this interaction; tells the rep when it fails."""
    view = blocks.feedback_modal(prefill_what_happened=prefill)
    try:
        await client.views_open(trigger_id=body["trigger_id"], view=view)
    except Exception as exc:
        logger.warning("could not open the feedback modal (%s)", reason(exc))
        user = (body.get("user") or {}).get("id") or body.get("user_id") or ""
        await assist.ephemeral(blocks.error_message(NOT_OPENED), channel=channel, user=user,
                               response_url=body.get("response_url"))


def register(app: AsyncApp, slack: SlackIntegration) -> None:
    assist = assist_for(slack)
    services = slack.services

    @app.view(ids.FEEDBACK_MODAL)
    async def submit(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        user = body["user"]
        fields = blocks.parse_feedback_submission(view["state"]["values"])
        name = str(user.get("name") or user.get("username") or "")[:NAME_MAX]
        try:
            item = await asyncio.to_thread(lambda: services.feedback.submit(
                rep=user["id"], rep_name=name, area=fields["area"],
                what_happened=fields["what_happened"],
                what_would_help=fields["what_would_help"], impact=fields["impact"],
                ticket=fields["ticket_number"]))
        except InvalidFeedback as exc:
            await ack(**blocks.modal_errors(field_errors(exc)))
            return
        except DatabaseUnavailable:
            await ack(**blocks.modal_errors({"what_happened": NOT_SAVED}))
            return
        await ack()
        try:
            card = await asyncio.to_thread(feedback_card, services, item)
            await assist.dms.send(user["id"], blocks.feedback_received_message(card))
        except Exception as exc:  # the item is saved; only the receipt is missing
            logger.warning("no receipt for feedback #%d (%s)", item.id, reason(exc))
