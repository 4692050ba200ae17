"""Agent assist in Slack: a rep's question → suggested articles, and how replies reach the rep.

The three ways to ask (``/ask``, an @mention, a DM) differ only in where the answer goes;
``Assist.suggest`` is the one path they share:

1. the previous question of the same conversation (thread, or DM / ``/ask`` within
   ``FOLLOWUP_WINDOW_S``) from the event log, and ``frontline.knowledge.context`` to read an
   elliptical follow-up with it;
2. the audience of the channel (``ChannelAudience``: public only where internal articles must
   not go);
3. the answer decision (``KnowledgeBase.decide``), recorded in the event log;
4. the best ``SUGGESTIONS`` hits, each with its level (``frontline.knowledge.level``) and link
   (``frontline.knowledge.links.article_link``), rendered by ``blocks.suggestions_message``.

A failed search comes back as an honest error message (``Reply.ok`` False), never as silence.
One ``Assist`` exists per Slack app (``assist_for``), shared by the listeners and the mirror.
"""

from __future__ import annotations

import asyncio
import logging
import re
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from slack_sdk.webhook.async_client import AsyncWebhookClient

from frontline.db import Event
from frontline.errors import IndexNotReady, InvalidQuery
from frontline.knowledge import Decision, ScoredHit, Thresholds, level
from frontline.knowledge.context import is_small_talk
from frontline.knowledge.links import article_link
from integrations.slack import blocks
from integrations.slack.audience import Audience, ChannelAudience
from integrations.slack.calls import is_transient, reason
from integrations.slack.dm import DirectMessages
from integrations.slack.threads import ticket_for_thread

if TYPE_CHECKING:
    from integrations.slack.app import SlackIntegration

logger = logging.getLogger(__name__)

SUGGESTIONS = 3
FOLLOWUP_WINDOW_S = 30 * 60  # a DM or /ask follow-up is read with a question this recent
SEARCH_FAILED = ("I couldn't search the knowledge base just now, so I have no suggestions. "
                 "Please try again in a minute.")

_MENTION = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^<>]*)?>")
_LABELLED = re.compile(r"<[#!]?([^<>|]+)\|([^<>]*)>")
_BARE = re.compile(r"<([^<>|]+)>")


@dataclass(frozen=True)
class Question:
    """One question from a rep, and where it was asked."""

    text: str
    channel: str
    user: str
    session_id: str  # "slack:<channel>:<thread ts>" (or ":dm" / ":ask-<user>")
    window_s: float | None = None  # how recent the previous question must be; None: any
    channel_type: str | None = None  # from an event ("im" for the app's DM)
    ext_shared: bool = False  # the event envelope said the channel is shared externally
    handoff_ticket: int | None = None  # asked in a live handoff's thread


@dataclass(frozen=True)
class Reply:
    message: dict[str, Any]
    ok: bool = True  # False: an error to show the rep only (ephemeral)
    decision: Decision | None = None
    query: str = ""
    audience: Audience = "internal"


def plain_text(text: str) -> str:
    """Slack's markup made plain: user mentions dropped, ``<url|label>`` → label, ``<#C1|name>``
    → name, ``&amp;`` etc. decoded."""
    text = _MENTION.sub(" ", text)
    text = _LABELLED.sub(lambda m: m.group(2) or m.group(1), text)
    text = _BARE.sub(lambda m: "" if m.group(1).startswith(("!", "@")) else
                     m.group(1).lstrip("#"), text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return " ".join(text.split())


def suggestion(hit: ScoredHit, thresholds: Thresholds, public_url: str) -> blocks.Suggestion:
    """One hit as a rep's suggestion, linked at the section it matched: the article's own
    ``url`` when it has one, else ``<public_url>/help/<id>#<section>`` (internal: no link)."""
    return blocks.Suggestion(hit, level(hit, thresholds),
                             article_link(hit, public_url, section=hit.heading))


class Assist:
    def __init__(self, slack: SlackIntegration) -> None:
        self.slack = slack
        self.services = slack.services
        settings = self.services.settings
        self.audience = ChannelAudience(slack.client, settings.slack_public_only_channels)
        self.dms = DirectMessages(slack.client, slack.outbox)

    # -- answering ---------------------------------------------------------------------------
    async def suggest(self, question: Question) -> Reply:
        """Suggestions for ``question`` (or an honest error); records the decision."""
        if is_small_talk(question.text):
            return Reply(blocks.small_talk_message())
        previous = await self._previous(question.session_id, question.window_s)
        query = " ".join(question.text.split())
        if not query:
            return Reply(blocks.error_message(
                "Ask me a question, e.g. `/ask customer wants a refund after 14 days`."), False)
        audience = await self.audience.of(question.channel, user=question.user,
                                          channel_type=question.channel_type,
                                          ext_shared=question.ext_shared)
        knowledge = self.services.knowledge
        try:
            # Read with the conversation's earlier question when the evidence says it is a
            # follow-up (the same rule as the customer assistant's).
            decision, query = await asyncio.to_thread(knowledge.decide_in_context, query,
                                                      previous, audience)
        except InvalidQuery as exc:
            return Reply(blocks.error_message(f"I can't search for that: {exc.detail}."), False)
        except IndexNotReady:
            logger.warning("slack ask: the knowledge base index is not ready")
            return Reply(blocks.error_message(SEARCH_FAILED), False)
        except Exception:
            logger.exception("slack ask: the knowledge-base search failed")
            return Reply(blocks.error_message(SEARCH_FAILED), False)
        await self._record(decision, query, question.session_id, audience)

        public_url = self.services.settings.public_url
        suggestions = [suggestion(hit, knowledge.thresholds, public_url)
                       for hit in decision.hits[:SUGGESTIONS]]
        notes = []
        if query != " ".join(question.text.split()):
            notes.append("Read together with the earlier question in this conversation.")
        if audience == "public":
            notes.append("Public articles only in this conversation (it is shared outside the "
                         "company, or listed as public-only).")
        message = blocks.suggestions_message(
            query, suggestions, outcome=decision.outcome, context=" ".join(notes) or None,
            handoff_ticket=question.handoff_ticket)
        return Reply(message, True, decision, query, audience)

    async def _previous(self, session_id: str, window_s: float | None) -> str | None:
        try:
            event: Event | None = await asyncio.to_thread(self.services.events.last_decision,
                                                          session_id)
        except Exception as exc:
            logger.warning("slack ask: no context for a follow-up (%s)", type(exc).__name__)
            return None
        if event is None or not event.query:
            return None
        if window_s is not None:
            at = event.created_at if event.created_at.tzinfo else event.created_at.replace(
                tzinfo=UTC)
            if (datetime.now(UTC) - at).total_seconds() > window_s:
                return None
        return event.query

    async def _record(self, decision: Decision, query: str, session_id: str,
                      audience: Audience) -> None:
        try:
            await asyncio.to_thread(lambda: self.services.events.decision(
                decision, query=query, session_id=session_id, channel="slack",
                audience=audience))
        except Exception as exc:  # the rep still gets the answer
            logger.error("slack ask: the decision was not recorded (%s)", type(exc).__name__)

    def handoff_ticket(self, channel: str, thread_ts: str | None) -> int | None:
        """The ticket number when ``thread_ts`` in ``channel`` is a live handoff's thread."""
        number = ticket_for_thread(self.services.db, channel, thread_ts)
        if number is None:
            return None
        ticket = self.services.tickets.get(number)
        return number if self.services.handoff.active(ticket) else None

    # -- delivering --------------------------------------------------------------------------
    async def answer(self, question: Question, *, thread_ts: str | None, where: str) -> None:
        """Suggest for ``question`` and reply where it was asked (``thread_ts``); an honest
        error goes to the asker only."""
        reply = await self.suggest(question)
        if not reply.ok:
            await self.ephemeral(reply.message, channel=question.channel, user=question.user,
                                 thread_ts=thread_ts)
            return
        try:
            await self.post(question.channel, reply.message, thread_ts=thread_ts)
        except Exception as exc:
            logger.error("could not answer %s in %s (%s)", where, question.channel,
                         reason(exc))

    async def post(self, channel: str, message: dict[str, Any], *,
                   thread_ts: str | None = None) -> None:
        """Post in ``channel`` (in a thread); when Slack is busy or down, via the retry queue."""
        params: dict[str, Any] = {"channel": channel, **message, "unfurl_links": False,
                                  "unfurl_media": False}
        if thread_ts:
            params["thread_ts"] = thread_ts
        try:
            await self.slack.client.chat_postMessage(**params)
            return
        except Exception as exc:
            if not is_transient(exc):
                raise
            logger.warning("slack reply not posted now (%s); queued for retry", reason(exc))
        key = f"reply:{channel}:{thread_ts or 'top'}"
        await asyncio.to_thread(self.slack.outbox.enqueue, key, "chat.postMessage", params)

    async def ephemeral(self, message: dict[str, Any], *, channel: str | None, user: str,
                        response_url: str | None = None,
                        thread_ts: str | None = None) -> bool:
        """Show ``message`` to ``user`` only: through the interaction's ``response_url`` (works
        in any conversation, even one the app is not in), else ``chat.postEphemeral``.
        Returns False when neither worked (logged)."""
        if response_url:
            try:
                sent = await AsyncWebhookClient(response_url).send_dict(
                    {**message, "response_type": "ephemeral", "replace_original": False})
                if sent.status_code == 200:
                    return True
                logger.warning("slack response_url answered HTTP %d", sent.status_code)
            except Exception as exc:
                logger.warning("slack response_url failed (%s)", type(exc).__name__)
        if not channel:
            return False
        params: dict[str, Any] = {"channel": channel, "user": user, **message}
        if thread_ts:
            params["thread_ts"] = thread_ts
        try:
            await self.slack.client.chat_postEphemeral(**params)
            return True
        except Exception as exc:
            logger.error("could not show a message to %s in %s (%s)", user, channel,
                         reason(exc))
            return False


_assists: weakref.WeakKeyDictionary[SlackIntegration, Assist] = weakref.WeakKeyDictionary()


def assist_for(slack: SlackIntegration) -> Assist:
    """The one ``Assist`` of this Slack app."""
    found = _assists.get(slack)
    if found is None:
        found = _assists[slack] = Assist(slack)
    return found

