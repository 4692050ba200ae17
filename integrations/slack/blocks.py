"""Block Kit builders for the Slack app: pure functions from Frontline data to Slack payloads.

Every builder returns plain dicts/lists ready for the Web API — a message is
``{"text": fallback, "blocks": [...]}`` (spread it into ``chat_postMessage(channel=…, **msg)``), a
modal is a view dict for ``views_open(trigger_id=…, view=…)``. No I/O happens here; the listeners
that call these live elsewhere and match on the ids in ``integrations.slack.ids``.

Two rules hold for everything built here:

* **Slack's limits are enforced by the builders** (see the ``MAX_*`` constants): text is cut with
  ``truncate`` (ending in "…"), lists are capped, so a long article or a chatty customer can never
  make Slack reject a message (``invalid_blocks``) or a modal.
* **Text that did not come from us is escaped** (``escape``: ``&``, ``<``, ``>``) before it goes
  into mrkdwn or a fallback ``text``, so a customer cannot inject ``<!channel>``, ``<@U…>`` or a
  disguised link ``<https://evil|your invoice>``.

Button values and modal ``private_metadata`` are compact JSON (``encode_value``/``decode_value``)
so a listener gets back exactly what the builder put in: the article id and query for a rating,
the ticket number for a ticket button, and so on.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from integrations.slack import ids

if TYPE_CHECKING:
    from indexer import Hit

# -- Slack's limits (Block Kit reference; characters) -----------------------------------------
MAX_MESSAGE_BLOCKS = 50
MAX_MODAL_BLOCKS = 100
MAX_SECTION_TEXT = 3000
MAX_FIELD_TEXT = 2000  # each of a section's ``fields``
MAX_SECTION_FIELDS = 10
MAX_CONTEXT_ELEMENTS = 10
MAX_FALLBACK_TEXT = 4000
MAX_HEADER_TEXT = 150
MAX_BUTTON_TEXT = 75
MAX_OPTION_TEXT = 75
MAX_OPTION_DESCRIPTION = 75
MAX_BUTTON_VALUE = 2000
MAX_ACTION_ID = 255
MAX_BLOCK_ID = 255
MAX_MODAL_TITLE = 24
MAX_MODAL_BUTTON = 24  # submit / close
MAX_PRIVATE_METADATA = 3000
MAX_PLACEHOLDER = 150
MAX_INPUT_LABEL = 2000
MAX_INPUT_VALUE = 3000  # plain_text_input max_length
MAX_CONFIRM_TITLE = 100
MAX_CONFIRM_TEXT = 300
MAX_CONFIRM_BUTTON = 30

# -- Our own budgets, well inside Slack's -----------------------------------------------------
MAX_SUGGESTIONS = 5  # shown per message; the rest are counted in a note
MAX_LISTED_ARTICLES = 10  # "already shown" / "suggested" lists on a ticket
PASSAGE_CHARS = 500
TITLE_CHARS = 200
HEADING_CHARS = 150
QUERY_DISPLAY_CHARS = 300
ASKED_CHARS = 1500
FEEDBACK_TEXT_CHARS = 1200
ELLIPSIS = "…"

OUTCOMES = ("answer", "clarify", "abstain")
LEVELS: dict[str, str] = {"high": "🟢 High", "medium": "🟡 Medium", "low": "🟠 Low"}
INTERNAL_BADGE = "🔒 _Internal_"
TICKET_STATUSES: dict[str, str] = {"open": "Open", "pending": "Pending", "resolved": "✅ Resolved"}
PRIORITIES: dict[str, str] = {"normal": "Normal", "high": "🔴 High"}
FEEDBACK_AREAS: dict[str, str] = {
    "process": "Process",
    "tooling": "Tooling",
    "knowledge_base": "Knowledge base",
    "policy": "Policy",
    "other": "Other",
}
FEEDBACK_IMPACTS: dict[str, tuple[str, str]] = {
    "low": ("Low", "A small annoyance"),
    "medium": ("Medium", "Costs real time, or a customer's patience"),
    "high": ("High", "Blocks me, or hurts customers"),
}
FEEDBACK_STATUSES: dict[str, str] = {
    "new": "🆕 New",
    "planned": "🗓️ Planned",
    "done": "✅ Done",
    "wont_do": "🚫 Won't do",
}
RATING_REASONS: dict[str, str] = {
    "wrong_article": "Wrong article",
    "outdated": "Outdated",
    "incomplete": "Incomplete",
}

_PARTIAL_ENTITY = re.compile(r"&(?:amp|am|a|lt|l|gt|g)?$")
_SAFE_URL = re.compile(r"^https?://[^\s<>|\"]+$")
_USER_ID = re.compile(r"^[UW][A-Z0-9]+$")
_BLANK_LINES = re.compile(r"\n\s*\n+")


# == Inputs ===================================================================================


@dataclass(frozen=True)
class Suggestion:
    """One knowledge-base article to show: the hit, how sure the match is, and the link to use
    (may differ from ``hit.url``, e.g. an internal viewer; ``None`` shows the title unlinked)."""

    hit: Hit
    level: str  # "high" | "medium" | "low", decided by the caller
    link: str | None = None

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise ValueError(f"unknown level {self.level!r}; expected one of {sorted(LEVELS)}")

    @property
    def internal(self) -> bool:
        return self.hit.audience == "internal"


@dataclass(frozen=True)
class TicketCard:
    """What a ticket / handoff message shows."""

    number: int
    status: str  # "open" | "pending" | "resolved"
    priority: str  # "normal" | "high"
    summary: str
    email_masked: str
    handoff: bool
    handoff_active: bool
    assignee: str | None  # a Slack user id (shown as a mention) or a name
    asked: str
    shown_articles: list[tuple[str, str | None]] = field(default_factory=list)  # (title, url)
    suggestions: list[Suggestion] = field(default_factory=list)
    channel: str = "webchat"

    def __post_init__(self) -> None:
        if self.status not in TICKET_STATUSES:
            raise ValueError(f"unknown ticket status {self.status!r}")
        if self.priority not in PRIORITIES:
            raise ValueError(f"unknown ticket priority {self.priority!r}")


@dataclass(frozen=True)
class FeedbackCard:
    """One process-feedback item, for the feedback channel and the rep's DM."""

    id: int
    area: str
    what_happened: str
    what_would_help: str
    impact: str
    ticket_number: int | None
    status: str  # "new" | "planned" | "done" | "wont_do"
    reply: str | None
    rep: str  # Slack user id of the rep who sent it (or a name)


# == Text helpers =============================================================================


def truncate(text: str, limit: int) -> str:
    """``text`` if it fits in ``limit`` characters, else cut to ``limit`` ending with "…"."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + ELLIPSIS


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def safe(text: str, limit: int) -> str:
    """``text`` escaped for mrkdwn and cut to ``limit`` without leaving half an entity."""
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    cut = _PARTIAL_ENTITY.sub("", escaped[: limit - 1])
    return cut.rstrip() + ELLIPSIS


def link(url: str | None, text: str, limit: int = TITLE_CHARS) -> str:
    """A mrkdwn link ``<url|text>`` — or just the escaped text when the url is missing or is not
    a plain http(s) url (which could break out of the link syntax)."""
    label = safe(text, limit) or "(untitled)"
    if url and len(url) <= 2000 and _SAFE_URL.match(url):
        return f"<{url}|{label}>"
    return label


def quote(text: str, limit: int) -> str:
    """``text`` escaped, cut, and shown as a mrkdwn block quote (``> `` on every line)."""
    body = safe(_BLANK_LINES.sub("\n", text.strip()), limit)
    return "\n".join(f"> {line}" if line.strip() else ">" for line in body.split("\n"))


def who(user: str | None) -> str:
    """A Slack user id as a mention (``<@U123>``), any other name escaped."""
    if not user:
        return "_nobody_"
    if _USER_ID.match(user):
        return f"<@{user}>"
    return safe(user, 80)


def encode_value(data: Mapping[str, Any], limit: int = MAX_BUTTON_VALUE) -> str:
    """Compact JSON for a button value (≤ 2000 chars) or ``private_metadata`` (pass 3000)."""
    encoded = _json(data)
    if len(encoded) > limit:
        raise ValueError(f"encoded value is {len(encoded)} characters; the limit is {limit}")
    return encoded


def decode_value(value: str) -> dict[str, Any]:
    """The dict ``encode_value`` made (a button's ``value``, a view's ``private_metadata``)."""
    if not value:
        return {}
    decoded = json.loads(value)
    if not isinstance(decoded, dict):
        raise ValueError("not an encoded value: expected a JSON object")
    return decoded


def fit_value(
    data: Mapping[str, Any], key: str, text: str, limit: int = MAX_BUTTON_VALUE
) -> str:
    """``encode_value({**data, key: text})`` with ``text`` cut as far as needed to fit in
    ``limit`` (JSON escaping can make a string longer than it looks)."""
    base = len(_json({**data, key: ""}))
    if base > limit:
        raise ValueError(f"{sorted(data)} alone do not fit in {limit} characters")
    budget = len(text)
    while True:
        encoded = _json({**data, key: truncate(text, budget) if budget else ""})
        if len(encoded) <= limit:
            return encoded
        # shrink in proportion to how much longer the text is in JSON than as characters
        budget = min(budget - 1, budget * (limit - base) // (len(encoded) - base))


def _json(data: Mapping[str, Any]) -> str:
    return json.dumps(dict(data), separators=(",", ":"), ensure_ascii=False)


# == Block helpers ============================================================================


def plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": truncate(text.strip() or "-", limit), "emoji": True}


def mrkdwn(text: str, limit: int = MAX_SECTION_TEXT) -> dict[str, Any]:
    """A mrkdwn text object; ``text`` must already be escaped (this only enforces the limit)."""
    return {"type": "mrkdwn", "text": truncate(text, limit) or " "}


def section(block_id: str, text: str) -> dict[str, Any]:
    return {"type": "section", "block_id": _block_id(block_id), "text": mrkdwn(text)}


def fields_section(block_id: str, fields: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """A section of ``*label*\\nvalue`` fields (values already escaped), two columns in Slack."""
    return {
        "type": "section",
        "block_id": _block_id(block_id),
        "fields": [
            mrkdwn(f"*{label}*\n{value}", MAX_FIELD_TEXT)
            for label, value in fields[:MAX_SECTION_FIELDS]
        ],
    }


def context_block(block_id: str, *texts: str) -> dict[str, Any]:
    return {
        "type": "context",
        "block_id": _block_id(block_id),
        "elements": [mrkdwn(t) for t in texts[:MAX_CONTEXT_ELEMENTS]],
    }


def header(block_id: str, text: str) -> dict[str, Any]:
    return {"type": "header", "block_id": _block_id(block_id), "text": plain(text, MAX_HEADER_TEXT)}


def divider(block_id: str) -> dict[str, Any]:
    return {"type": "divider", "block_id": _block_id(block_id)}


def button(
    label: str,
    action_id: str,
    value: str,
    *,
    style: str | None = None,
    confirm: dict[str, Any] | None = None,
) -> dict[str, Any]:
    if len(value) > MAX_BUTTON_VALUE:
        raise ValueError(f"button value is {len(value)} characters; the limit is 2000")
    element: dict[str, Any] = {
        "type": "button",
        "action_id": _action_id(action_id),
        "text": plain(label, MAX_BUTTON_TEXT),
        "value": value,
    }
    if style:
        element["style"] = style
    if confirm:
        element["confirm"] = confirm
    return element


def confirm_dialog(title: str, text: str, yes: str, no: str = "Cancel") -> dict[str, Any]:
    return {
        "title": plain(title, MAX_CONFIRM_TITLE),
        "text": plain(text, MAX_CONFIRM_TEXT),
        "confirm": plain(yes, MAX_CONFIRM_BUTTON),
        "deny": plain(no, MAX_CONFIRM_BUTTON),
    }


def actions(block_id: str, elements: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "actions", "block_id": _block_id(block_id), "elements": list(elements)}


def option(value: str, label: str, description: str | None = None) -> dict[str, Any]:
    opt: dict[str, Any] = {"text": plain(label, MAX_OPTION_TEXT), "value": value}
    if description:
        opt["description"] = plain(description, MAX_OPTION_DESCRIPTION)
    return opt


def message(text: str, blocks: list[dict[str, Any]]) -> dict[str, Any]:
    """``{"text", "blocks"}`` with the fallback text cut and at most 50 blocks."""
    if len(blocks) > MAX_MESSAGE_BLOCKS:
        dropped = len(blocks) - MAX_MESSAGE_BLOCKS + 1
        blocks = [*blocks[: MAX_MESSAGE_BLOCKS - 1],
                  context_block(ids.TRUNCATED_BLOCK, f"_…{dropped} more blocks not shown_")]
    return {"text": truncate(text.strip() or "-", MAX_FALLBACK_TEXT), "blocks": blocks}


def modal(
    callback_id: str,
    title: str,
    blocks: list[dict[str, Any]],
    *,
    submit: str | None = "Send",
    close: str = "Cancel",
    private_metadata: str = "",
) -> dict[str, Any]:
    if len(blocks) > MAX_MODAL_BLOCKS:
        raise ValueError(f"a modal holds at most {MAX_MODAL_BLOCKS} blocks")
    if len(private_metadata) > MAX_PRIVATE_METADATA:
        raise ValueError("private_metadata is longer than 3000 characters")
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": _action_id(callback_id),
        "title": plain(title, MAX_MODAL_TITLE),
        "close": plain(close, MAX_MODAL_BUTTON),
        "blocks": blocks,
        "private_metadata": private_metadata,
    }
    if submit:
        view["submit"] = plain(submit, MAX_MODAL_BUTTON)
    return view


def _block_id(block_id: str) -> str:
    if not block_id or len(block_id) > MAX_BLOCK_ID:
        raise ValueError(f"block_id must be 1–{MAX_BLOCK_ID} characters: {block_id!r}")
    return block_id


def _action_id(action_id: str) -> str:
    if not action_id or len(action_id) > MAX_ACTION_ID:
        raise ValueError(f"action_id must be 1–{MAX_ACTION_ID} characters: {action_id!r}")
    return action_id


# == Suggestions ==============================================================================


def suggestions_message(
    query: str,
    suggestions: Sequence[Suggestion],
    *,
    outcome: str,
    context: str | None = None,
    handoff_ticket: int | None = None,
) -> dict[str, Any]:
    """The reply to a rep's question (/ask, @mention, DM, or in a handoff thread).

    ``outcome``: "answer" (confident suggestions), "clarify" (possible matches; ask for detail) or
    "abstain" (nothing good enough: said plainly, with a "Flag a KB gap" button). ``context`` is
    an optional line shown under the intro (plain text, escaped). With ``handoff_ticket`` every
    *public* suggestion gets "Send to customer"; internal articles never do.
    """
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}; expected one of {OUTCOMES}")
    q = safe(" ".join(query.split()), QUERY_DISPLAY_CHARS)
    shown = list(suggestions[:MAX_SUGGESTIONS])

    if outcome == "answer":
        intro = f"*Suggested answers* for “{q}”"
        fallback = f"Suggested answers for “{q}”: " + ", ".join(
            safe(s.hit.title, TITLE_CHARS) for s in shown
        )
    elif outcome == "clarify":
        intro = (
            f"I'm not sure which of these fits “{q}”. Here are the closest matches — adding "
            "detail (product, error message, what the customer already tried) sharpens them."
        )
        fallback = f"Possible matches for “{q}” — not sure which fits"
    else:
        intro = f"I couldn't find a good match in the knowledge base for “{q}”."
        if shown:
            intro += "\nThe closest articles are below, but they are probably not it."
        fallback = f"I couldn't find a good match in the knowledge base for “{q}”."

    blocks: list[dict[str, Any]] = [section(ids.SUGGESTIONS_INTRO_BLOCK, intro)]
    if context:
        blocks.append(context_block(ids.SUGGESTIONS_CONTEXT_BLOCK,
                                    safe(context, MAX_SECTION_TEXT)))
    for n, suggestion in enumerate(shown):
        blocks.extend(_suggestion_blocks(n, suggestion, query, handoff_ticket))
    if len(suggestions) > len(shown):
        more = len(suggestions) - len(shown)
        blocks.append(context_block(ids.SUGGESTIONS_MORE_BLOCK,
                                     f"_{more} more lower-ranked article(s) not shown._"))
    if outcome == "abstain":
        data: dict[str, Any] = {} if handoff_ticket is None else {"ticket": handoff_ticket}
        blocks.append(actions(ids.GAP_ACTIONS_BLOCK, [
            button("🚩 Flag a KB gap", ids.FLAG_GAP, fit_value(data, "query", query)),
        ]))
    return message(fallback, blocks)


def _suggestion_blocks(
    n: int, suggestion: Suggestion, query: str, handoff_ticket: int | None
) -> list[dict[str, Any]]:
    hit = suggestion.hit
    title = f"*{link(suggestion.link, hit.title)}*"
    if suggestion.internal:
        title += f"   {INTERNAL_BADGE}"
    lines = [title]
    if hit.heading and hit.heading.strip() != hit.title.strip():
        lines.append(f"_{safe(hit.heading, HEADING_CHARS)}_")
    passage = hit.passage or hit.snippet
    if passage.strip():
        lines.append(quote(passage, PASSAGE_CHARS))

    meta = [f"Match: *{LEVELS[suggestion.level]}*"]
    if suggestion.internal:
        meta.append("Internal article: for reps only, never send it to a customer")

    rating: dict[str, Any] = {"article_id": hit.article_id, "level": suggestion.level}
    if handoff_ticket is not None:
        rating["ticket"] = handoff_ticket
    rating_value = fit_value(rating, "query", query)
    elements = [
        button("👍 Helpful", ids.RATE_HELPFUL, rating_value),
        button("👎 Not helpful", ids.RATE_NOT_HELPFUL, rating_value),
    ]
    if handoff_ticket is not None and not suggestion.internal:
        send = {"ticket": handoff_ticket, "article_id": hit.article_id}
        elements.append(button(
            "📨 Send to customer", ids.SEND_TO_CUSTOMER,
            fit_value(send, "heading", hit.heading or ""),
            style="primary",
            confirm=confirm_dialog(
                "Send to customer?",
                f"The customer on ticket #{handoff_ticket} gets this passage and its link: "
                f"{hit.title}",
                "Send",
            ),
        ))
    return [
        divider(ids.indexed(ids.SUGGESTION_DIVIDER_PREFIX, n)),
        section(ids.indexed(ids.SUGGESTION_TEXT_PREFIX, n), "\n".join(lines)),
        context_block(ids.indexed(ids.SUGGESTION_META_PREFIX, n), " · ".join(meta)),
        actions(ids.indexed(ids.SUGGESTION_ACTIONS_PREFIX, n), elements),
    ]


def rating_reason_modal(
    article_id: str,
    query: str,
    *,
    title: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The modal 👎 opens: why wasn't it helpful (required) and an optional comment.

    ``private_metadata`` carries ``article_id``, ``query`` (cut to fit) and ``extra`` (e.g. the
    channel and message ts to update afterwards) back to the view_submission listener.
    """
    about = f"*{safe(title, TITLE_CHARS)}*" if title else "this suggestion"
    metadata = fit_value({**(extra or {}), "article_id": article_id}, "query", query,
                         MAX_PRIVATE_METADATA)
    blocks = [
        section(ids.RATING_INTRO_BLOCK, f"What was wrong with {about}?"),
        {
            "type": "input",
            "block_id": ids.RATING_REASON_BLOCK,
            "label": plain("Reason", MAX_INPUT_LABEL),
            "element": {
                "type": "radio_buttons",
                "action_id": ids.RATING_REASON_ACTION,
                "options": [option(value, label) for value, label in RATING_REASONS.items()],
            },
        },
        {
            "type": "input",
            "block_id": ids.RATING_COMMENT_BLOCK,
            "optional": True,
            "label": plain("Anything to add?", MAX_INPUT_LABEL),
            "element": {
                "type": "plain_text_input",
                "action_id": ids.RATING_COMMENT_ACTION,
                "multiline": True,
                "max_length": MAX_INPUT_VALUE,
                "placeholder": plain("What was missing or wrong", MAX_PLACEHOLDER),
            },
        },
    ]
    return modal(ids.RATING_MODAL, "Not helpful", blocks, private_metadata=metadata)


def parse_rating_submission(values: Mapping[str, Any]) -> dict[str, str | None]:
    """``reason`` (a ``RATING_REASONS`` key, or None) and ``comment`` ("" when empty) from a
    rating modal's ``view["state"]["values"]``."""
    return {
        "reason": _selected(values, ids.RATING_REASON_BLOCK, ids.RATING_REASON_ACTION),
        "comment": _typed(values, ids.RATING_COMMENT_BLOCK, ids.RATING_COMMENT_ACTION),
    }


def rating_thanks(helpful: bool, *, reason: str | None = None) -> dict[str, Any]:
    """The short acknowledgement after a rating (ephemeral, or via ``response_url``)."""
    if helpful:
        text = "👍 Thanks — marked as helpful."
    else:
        why = f" ({RATING_REASONS.get(reason or '', escape(reason or ''))})" if reason else ""
        text = f"👎 Thanks — noted as not helpful{why}. It goes to the knowledge-base team."
    return message(text, [section(ids.RATING_THANKS_BLOCK, text)])


def gap_flagged_message(query: str) -> dict[str, Any]:
    """Confirmation after "Flag a KB gap"."""
    q = safe(" ".join(query.split()), QUERY_DISPLAY_CHARS)
    text = f"🚩 Flagged as a knowledge-base gap: “{q}”. Thanks — the KB team will pick it up."
    return message(text, [section(ids.GAP_FLAGGED_BLOCK, text)])


def error_message(text: str) -> dict[str, Any]:
    """Something went wrong, said plainly (``text`` is escaped)."""
    body = f"⚠️ {safe(text, MAX_SECTION_TEXT - 3)}"
    return message(body, [section(ids.ERROR_BLOCK, body)])


def note_message(text: str) -> dict[str, Any]:
    """A short private note to a rep that is not an error (``text`` is escaped)."""
    body = safe(text, MAX_SECTION_TEXT)
    return message(body, [section(ids.NOTE_BLOCK, body)])


# == Process feedback =========================================================================


def feedback_modal(
    *,
    prefill_what_happened: str = "",
    initial: Mapping[str, str] | None = None,
    private_metadata: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The process-feedback modal (/feedback, the global shortcut, the message shortcut).

    ``prefill_what_happened``: the message text from "Send as process feedback". ``initial``:
    values to show again (keys as ``parse_feedback_submission`` returns them), e.g. when the
    modal is rebuilt. ``private_metadata``: anything the submission listener needs back.
    """
    initial = initial or {}
    area = initial.get("area")
    impact = initial.get("impact")
    area_element: dict[str, Any] = {
        "type": "static_select",
        "action_id": ids.FEEDBACK_AREA_ACTION,
        "placeholder": plain("Choose an area", MAX_PLACEHOLDER),
        "options": [option(value, label) for value, label in FEEDBACK_AREAS.items()],
    }
    if area in FEEDBACK_AREAS:
        area_element["initial_option"] = option(area, FEEDBACK_AREAS[area])
    impact_element: dict[str, Any] = {
        "type": "radio_buttons",
        "action_id": ids.FEEDBACK_IMPACT_ACTION,
        "options": [option(v, label, hint) for v, (label, hint) in FEEDBACK_IMPACTS.items()],
    }
    if impact in FEEDBACK_IMPACTS:
        label, hint = FEEDBACK_IMPACTS[impact]
        impact_element["initial_option"] = option(impact, label, hint)

    blocks = [
        section(ids.FEEDBACK_INTRO_BLOCK,
                "Tell the ops team what got in your way. They read every item and reply here."),
        _input(ids.FEEDBACK_AREA_BLOCK, "Area", area_element),
        _input(ids.FEEDBACK_WHAT_HAPPENED_BLOCK, "What happened?", _text_input(
            ids.FEEDBACK_WHAT_HAPPENED_ACTION,
            initial.get("what_happened") or prefill_what_happened,
            "What you were doing, and what got in the way",
            multiline=True,
        )),
        _input(ids.FEEDBACK_WHAT_WOULD_HELP_BLOCK, "What would help?", _text_input(
            ids.FEEDBACK_WHAT_WOULD_HELP_ACTION,
            initial.get("what_would_help", ""),
            "A change, a tool, an article…",
            multiline=True,
        ), optional=True),
        _input(ids.FEEDBACK_IMPACT_BLOCK, "Impact", impact_element),
        _input(ids.FEEDBACK_TICKET_BLOCK, "Ticket number", _text_input(
            ids.FEEDBACK_TICKET_ACTION,
            initial.get("ticket_number", ""),
            "e.g. 1042",
            max_length=20,
        ), optional=True),
    ]
    metadata = encode_value(private_metadata, MAX_PRIVATE_METADATA) if private_metadata else ""
    return modal(ids.FEEDBACK_MODAL, "Process feedback", blocks, private_metadata=metadata)


def parse_feedback_submission(values: Mapping[str, Any]) -> dict[str, str | None]:
    """The fields of a submitted feedback modal (``view["state"]["values"]``): ``area`` and
    ``impact`` (option values, or None), ``what_happened``, ``what_would_help`` and
    ``ticket_number`` (stripped strings, "" when empty). Validation is the service's job."""
    return {
        "area": _selected(values, ids.FEEDBACK_AREA_BLOCK, ids.FEEDBACK_AREA_ACTION),
        "what_happened": _typed(values, ids.FEEDBACK_WHAT_HAPPENED_BLOCK,
                                ids.FEEDBACK_WHAT_HAPPENED_ACTION),
        "what_would_help": _typed(values, ids.FEEDBACK_WHAT_WOULD_HELP_BLOCK,
                                  ids.FEEDBACK_WHAT_WOULD_HELP_ACTION),
        "impact": _selected(values, ids.FEEDBACK_IMPACT_BLOCK, ids.FEEDBACK_IMPACT_ACTION),
        "ticket_number": _typed(values, ids.FEEDBACK_TICKET_BLOCK, ids.FEEDBACK_TICKET_ACTION),
    }


def modal_errors(
    field_errors: Mapping[str, str], fields: Mapping[str, str] = ids.FEEDBACK_FIELD_BLOCKS
) -> dict[str, Any]:
    """The ``view_submission`` ack that shows ``{field: message}`` under the fields. Field names
    as in ``parse_feedback_submission`` or as the feedback service names them (``ticket``);
    ``fields=ids.RATING_FIELD_BLOCKS`` for the rating modal."""
    unknown = set(field_errors) - set(fields)
    if unknown:
        raise ValueError(f"no such field(s): {sorted(unknown)}")
    return {
        "response_action": "errors",
        "errors": {fields[name]: truncate(msg, MAX_SECTION_TEXT)
                   for name, msg in field_errors.items()},
    }


def feedback_received_message(card: FeedbackCard) -> dict[str, Any]:
    """The rep's receipt for the feedback they just sent (DM): what happens next, and what
    they wrote."""
    text = (f"✅ Thanks — your process feedback #{card.id} is with the ops team. You'll get a "
            "message here when its status changes.")
    blocks = [
        section(ids.FEEDBACK_RECEIVED_BLOCK, text),
        section(ids.FEEDBACK_BODY_BLOCK, _feedback_body(card)),
        context_block(ids.FEEDBACK_FIELDS_BLOCK, " · ".join(
            f"{label}: {value}" for label, value in _feedback_fields(card, with_rep=False)
        )),
    ]
    return message(text, blocks)


def small_talk_message() -> dict[str, Any]:
    """The answer to "thanks" or "hi" in a DM or a mention: what the app is for."""
    text = ("👋 Ask me a customer's question — in a DM, with @Frontline in a channel, or with "
            "`/ask` — and I'll suggest knowledge-base articles.")
    return message(text, [section(ids.SMALL_TALK_BLOCK, text)])


def feedback_posted_message(card: FeedbackCard) -> dict[str, Any]:
    """A feedback item as posted to the ops feedback channel."""
    blocks = [
        header(ids.FEEDBACK_HEADER_BLOCK, f"📝 Process feedback #{card.id}"),
        fields_section(ids.FEEDBACK_FIELDS_BLOCK, _feedback_fields(card, with_rep=True)),
        section(ids.FEEDBACK_BODY_BLOCK, _feedback_body(card)),
    ]
    if card.reply:
        blocks.append(section(ids.FEEDBACK_REPLY_BLOCK,
                              "*Reply from ops*\n" + quote(card.reply, FEEDBACK_TEXT_CHARS)))
    fallback = (
        f"Process feedback #{card.id} ({_area(card.area)}, {_impact(card.impact)} impact): "
        f"{safe(card.what_happened, 300)}"
    )
    return message(fallback, blocks)


def feedback_update_dm(card: FeedbackCard) -> dict[str, Any]:
    """The DM a rep gets when ops change the status of, or reply to, their feedback."""
    status = FEEDBACK_STATUSES.get(card.status, escape(card.status))
    lines = [f"*Update on your process feedback #{card.id}*", f"Status: *{status}*"]
    if card.reply:
        lines += ["*Reply from ops*", quote(card.reply, FEEDBACK_TEXT_CHARS)]
    blocks = [
        section(ids.FEEDBACK_STATUS_BLOCK, "\n".join(lines)),
        section(ids.FEEDBACK_BODY_BLOCK,
                "_You wrote:_\n" + quote(card.what_happened, FEEDBACK_TEXT_CHARS)),
        context_block(ids.FEEDBACK_FIELDS_BLOCK, " · ".join(
            f"{label}: {value}" for label, value in _feedback_fields(card, with_rep=False)
        )),
    ]
    fallback = f"Update on your process feedback #{card.id}: {status}"
    if card.reply:
        fallback += f" — {safe(card.reply, 500)}"
    return message(fallback, blocks)


def _feedback_fields(card: FeedbackCard, *, with_rep: bool) -> list[tuple[str, str]]:
    fields = [
        ("Area", _area(card.area)),
        ("Impact", _impact(card.impact)),
        ("Status", FEEDBACK_STATUSES.get(card.status, escape(card.status))),
        ("Ticket", f"#{card.ticket_number}" if card.ticket_number is not None else "—"),
    ]
    if with_rep:
        fields.append(("From", who(card.rep)))
    return fields


def _feedback_body(card: FeedbackCard) -> str:
    body = "*What happened*\n" + quote(card.what_happened, FEEDBACK_TEXT_CHARS)
    if card.what_would_help.strip():
        body += "\n*What would help*\n" + quote(card.what_would_help, FEEDBACK_TEXT_CHARS)
    return body


def _area(area: str) -> str:
    return FEEDBACK_AREAS.get(area, escape(area))


def _impact(impact: str) -> str:
    return FEEDBACK_IMPACTS[impact][0] if impact in FEEDBACK_IMPACTS else escape(impact)


# == Tickets and handoff ======================================================================


def ticket_message(card: TicketCard) -> dict[str, Any]:
    """A ticket / handoff as posted to the tickets channel (and redrawn with ``chat.update``).

    Buttons by state: open/pending → Assign to me + Resolve; resolved → Reopen; a live handoff →
    End conversation. Every button's value is ``{"ticket": number}``.
    """
    summary = " ".join(card.summary.split())
    fields = [
        ("Status", TICKET_STATUSES[card.status]),
        ("Priority", PRIORITIES[card.priority]),
        ("Customer", safe(card.email_masked, 200) or "—"),
        ("Channel", safe(card.channel, 80)),
        ("Assignee", who(card.assignee) if card.assignee else "_Unassigned_"),
    ]
    if card.handoff:
        fields.append(("Handoff", "🟢 Live — reply in the thread" if card.handoff_active
                       else "Ended"))
    blocks = [
        header(ids.TICKET_HEADER_BLOCK, f"🎫 Ticket #{card.number}: {summary}"),
        fields_section(ids.TICKET_FIELDS_BLOCK, fields),
        section(ids.TICKET_ASKED_BLOCK, "*Customer asked*\n" + quote(card.asked, ASKED_CHARS)),
    ]
    if card.shown_articles:
        items = [link(url, title) for title, url in card.shown_articles]
        blocks.append(section(ids.TICKET_SHOWN_BLOCK,
                              "*Already shown by the bot*\n" + _bullets(items)))
    if card.suggestions:
        items = []
        for s in card.suggestions:
            item = f"{link(s.link, s.hit.title)} — {LEVELS[s.level]}"
            items.append(f"{item}   {INTERNAL_BADGE}" if s.internal else item)
        blocks.append(section(ids.TICKET_SUGGESTED_BLOCK,
                              "*Suggested articles*\n" + _bullets(items)))

    value = encode_value({"ticket": card.number})
    elements = []
    if card.status == "resolved":
        elements.append(button("Reopen", ids.TICKET_REOPEN, value))
    else:
        elements.append(button("🙋 Assign to me", ids.TICKET_ASSIGN, value))
        elements.append(button("✅ Resolve", ids.TICKET_RESOLVE, value, style="primary"))
    if card.handoff_active:
        elements.append(button(
            "End conversation", ids.HANDOFF_END, value, style="danger",
            confirm=confirm_dialog("End conversation?",
                                   f"The live chat on ticket #{card.number} ends for the "
                                   "customer too.", "End it"),
        ))
    blocks.append(actions(ids.TICKET_ACTIONS_BLOCK, elements))

    fallback = (
        f"Ticket #{card.number} ({card.priority} priority, {card.status}): "
        f"{safe(summary, 500)}"
    )
    return message(fallback, blocks)


def _bullets(items: Sequence[str]) -> str:
    lines = [f"• {item}" for item in items[:MAX_LISTED_ARTICLES]]
    if len(items) > MAX_LISTED_ARTICLES:
        lines.append(f"_…and {len(items) - MAX_LISTED_ARTICLES} more_")
    return "\n".join(lines)


def handoff_customer_message(text: str) -> dict[str, Any]:
    """What the customer wrote, posted into the ticket's thread during a live handoff."""
    body = safe(text.strip(), MAX_SECTION_TEXT - 20)
    return message(f"Customer: {body}",
                   [section(ids.HANDOFF_CUSTOMER_BLOCK, f"💬 *Customer:* {body}")])


REP_REPLY_VIA: dict[str, str] = {
    "api": "replied through the tickets API",
    "suggestion": "sent from the suggestions",
}


def handoff_rep_message(author: str, text: str, *, via: str = "api") -> dict[str, Any]:
    """A rep's reply to the customer that was not typed in this thread (the tickets API, or
    *Send to customer*), posted into the ticket's thread so the thread holds the whole
    conversation. ``author``: a Slack user id (shown as a mention) or a name."""
    how = REP_REPLY_VIA.get(via, "replied")
    body = quote(text, MAX_SECTION_TEXT - 200)
    head = f"🎧 {who(author)} {how} — the customer sees:"
    return message(f"{who(author)} {how}: {safe(text.strip(), 500)}",
                   [section(ids.HANDOFF_REP_BLOCK, f"{head}\n{body}")])


def handoff_ended_message(by_user: str | None) -> dict[str, Any]:
    """Posted into the thread when the live conversation ends (``by_user`` None: not by a rep,
    e.g. the customer left)."""
    text = (f"🔚 {who(by_user)} ended the live conversation." if by_user
            else "🔚 The live conversation has ended.")
    return message(text, [section(ids.HANDOFF_ENDED_BLOCK, text)])


# == Modal helpers ============================================================================


def _input(
    block_id: str, label: str, element: dict[str, Any], *, optional: bool = False
) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "input",
        "block_id": _block_id(block_id),
        "label": plain(label, MAX_INPUT_LABEL),
        "element": element,
    }
    if optional:
        block["optional"] = True
    return block


def _text_input(
    action_id: str,
    initial_value: str,
    placeholder: str,
    *,
    multiline: bool = False,
    max_length: int = MAX_INPUT_VALUE,
) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": _action_id(action_id),
        "multiline": multiline,
        "max_length": max_length,
        "placeholder": plain(placeholder, MAX_PLACEHOLDER),
    }
    if initial_value:
        element["initial_value"] = truncate(initial_value, max_length)
    return element


def _state(values: Mapping[str, Any], block_id: str, action_id: str) -> Mapping[str, Any]:
    return (values.get(block_id) or {}).get(action_id) or {}


def _selected(values: Mapping[str, Any], block_id: str, action_id: str) -> str | None:
    selected = _state(values, block_id, action_id).get("selected_option")
    return selected.get("value") if selected else None


def _typed(values: Mapping[str, Any], block_id: str, action_id: str) -> str:
    return (_state(values, block_id, action_id).get("value") or "").strip()
