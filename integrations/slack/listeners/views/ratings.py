"""The reason for a 👎 (wrong article / outdated / incomplete, and a comment), added to the
rating the click stored; the rep is thanked through the click's ``response_url``."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from frontline.errors import InvalidFeedback
from integrations.slack import blocks, ids
from integrations.slack.assist import assist_for

if TYPE_CHECKING:
    from integrations.slack.app import SlackIntegration

logger = logging.getLogger(__name__)
NOT_SAVED = "We couldn't save this just now. Please press Send again in a minute."


def register(app: AsyncApp, slack: SlackIntegration) -> None:
    assist = assist_for(slack)
    ratings = slack.services.ratings

    @app.view(ids.RATING_MODAL)
    async def explain(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        meta = blocks.decode_value(view.get("private_metadata") or "")
        given = blocks.parse_rating_submission(view["state"]["values"])
        reason, comment = given["reason"], given["comment"] or ""
        if not reason:
            await ack(**blocks.modal_errors({"reason": "Choose what was wrong."},
                                            ids.RATING_FIELD_BLOCKS))
            return
        try:
            await asyncio.to_thread(ratings.explain, int(meta["rating"]), reason=reason,
                                    comment=comment)
        except InvalidFeedback as exc:
            known = {k: v for k, v in exc.fields.items() if k in ids.RATING_FIELD_BLOCKS}
            await ack(**blocks.modal_errors(known or {"reason": exc.detail},
                                            ids.RATING_FIELD_BLOCKS))
            return
        except Exception as exc:
            logger.error("slack rating reason not saved (%s)", type(exc).__name__)
            await ack(**blocks.modal_errors({"reason": NOT_SAVED}, ids.RATING_FIELD_BLOCKS))
            return
        await ack()
        await assist.ephemeral(blocks.rating_thanks(False, reason=reason),
                               channel=meta.get("channel"), user=body["user"]["id"],
                               response_url=meta.get("response_url"))
