"""Every identifier the Slack app and its listeners share: action_ids, callback_ids, block_ids.

Listeners match on these (``app.action(ids.RATE_HELPFUL)``, ``app.view(ids.FEEDBACK_MODAL)``),
the builders in ``integrations.slack.blocks`` put them on the elements, and
``integrations/slack/manifest.yml`` repeats the shortcut callback_ids and slash commands — change
one there and here together.

Slack requires an ``action_id`` to be unique only within its block, so the same action_id is used
on every suggestion's buttons; what has to differ between suggestions is the *block_id*, which the
builders make unique by appending ``:<n>`` to the ``*_PREFIX`` constants below. Both kinds of id
are at most 255 characters.
"""

from __future__ import annotations

# -- Slash commands and shortcuts (must match manifest.yml) ----------------------------------
ASK_COMMAND = "/ask"
FEEDBACK_COMMAND = "/feedback"
FEEDBACK_SHORTCUT = "process_feedback"  # global shortcut
FEEDBACK_MESSAGE_SHORTCUT = "message_process_feedback"  # message shortcut: pre-fills the modal

# -- Buttons on suggestion messages (action_id) -----------------------------------------------
RATE_HELPFUL = "suggestion_helpful"
RATE_NOT_HELPFUL = "suggestion_not_helpful"  # opens the rating reason modal
SEND_TO_CUSTOMER = "send_to_customer"  # only on public articles, only in a handoff thread
FLAG_GAP = "flag_kb_gap"  # only when the bot abstained

# -- Buttons on ticket messages (action_id) ---------------------------------------------------
TICKET_ASSIGN = "ticket_assign"
TICKET_RESOLVE = "ticket_resolve"
TICKET_REOPEN = "ticket_reopen"
HANDOFF_END = "handoff_end"

# -- Modals (callback_id) ---------------------------------------------------------------------
FEEDBACK_MODAL = "process_feedback_modal"
RATING_MODAL = "rating_reason_modal"

# -- Process feedback modal inputs: view["state"]["values"][*_BLOCK][*_ACTION] ---------------
FEEDBACK_AREA_BLOCK = "feedback_area"
FEEDBACK_AREA_ACTION = "feedback_area_select"
FEEDBACK_WHAT_HAPPENED_BLOCK = "feedback_what_happened"
FEEDBACK_WHAT_HAPPENED_ACTION = "feedback_what_happened_input"
FEEDBACK_WHAT_WOULD_HELP_BLOCK = "feedback_what_would_help"
FEEDBACK_WHAT_WOULD_HELP_ACTION = "feedback_what_would_help_input"
FEEDBACK_IMPACT_BLOCK = "feedback_impact"
FEEDBACK_IMPACT_ACTION = "feedback_impact_select"
FEEDBACK_TICKET_BLOCK = "feedback_ticket_number"
FEEDBACK_TICKET_ACTION = "feedback_ticket_number_input"

# The service's field names (what validation errors are keyed by) → the block showing the field.
FEEDBACK_FIELD_BLOCKS: dict[str, str] = {
    "area": FEEDBACK_AREA_BLOCK,
    "what_happened": FEEDBACK_WHAT_HAPPENED_BLOCK,
    "what_would_help": FEEDBACK_WHAT_WOULD_HELP_BLOCK,
    "impact": FEEDBACK_IMPACT_BLOCK,
    "ticket_number": FEEDBACK_TICKET_BLOCK,
    # ProcessFeedbackService.submit names the ticket field ``ticket`` (its keyword argument).
    "ticket": FEEDBACK_TICKET_BLOCK,
}
FEEDBACK_INTRO_BLOCK = "feedback_intro"

# -- Rating reason modal inputs -----------------------------------------------------------------
RATING_INTRO_BLOCK = "rating_intro"
RATING_REASON_BLOCK = "rating_reason"
RATING_REASON_ACTION = "rating_reason_choice"
RATING_COMMENT_BLOCK = "rating_comment"
RATING_COMMENT_ACTION = "rating_comment_input"

# The rating service's field names (``InvalidFeedback.fields``) → the block showing the field.
RATING_FIELD_BLOCKS: dict[str, str] = {
    "reason": RATING_REASON_BLOCK,
    "comment": RATING_COMMENT_BLOCK,
}

# -- Blocks of the suggestions message (block_id) ---------------------------------------------
SUGGESTIONS_INTRO_BLOCK = "suggestions_intro"
SUGGESTIONS_CONTEXT_BLOCK = "suggestions_context"
SUGGESTIONS_MORE_BLOCK = "suggestions_more"
GAP_ACTIONS_BLOCK = "gap_actions"
# One suggestion = four blocks; the builders append ":<n>" (n = 0, 1, …) to these prefixes.
SUGGESTION_TEXT_PREFIX = "suggestion_text"
SUGGESTION_META_PREFIX = "suggestion_meta"
SUGGESTION_ACTIONS_PREFIX = "suggestion_actions"
SUGGESTION_DIVIDER_PREFIX = "suggestion_divider"

# -- Blocks of the ticket message (block_id) --------------------------------------------------
TICKET_HEADER_BLOCK = "ticket_header"
TICKET_FIELDS_BLOCK = "ticket_fields"
TICKET_ASKED_BLOCK = "ticket_asked"
TICKET_SHOWN_BLOCK = "ticket_shown"
TICKET_SUGGESTED_BLOCK = "ticket_suggested"
TICKET_ACTIONS_BLOCK = "ticket_actions"

# -- Blocks of the smaller messages (block_id) ------------------------------------------------
HANDOFF_CUSTOMER_BLOCK = "handoff_customer"
HANDOFF_ENDED_BLOCK = "handoff_ended"
HANDOFF_REP_BLOCK = "handoff_rep"  # a rep's reply made outside the thread, mirrored in
FEEDBACK_HEADER_BLOCK = "feedback_header"
FEEDBACK_FIELDS_BLOCK = "feedback_fields"
FEEDBACK_BODY_BLOCK = "feedback_body"
FEEDBACK_REPLY_BLOCK = "feedback_reply"
FEEDBACK_STATUS_BLOCK = "feedback_status"
ERROR_BLOCK = "error"
NOTE_BLOCK = "note"  # a private note to a rep that is not an error
GAP_FLAGGED_BLOCK = "gap_flagged"
FEEDBACK_RECEIVED_BLOCK = "feedback_received"
SMALL_TALK_BLOCK = "small_talk"
RATING_THANKS_BLOCK = "rating_thanks"
TRUNCATED_BLOCK = "truncated"  # the note a message gets when it had to drop blocks


def indexed(prefix: str, n: int) -> str:
    """The block_id of the ``n``-th repeated block: ``"suggestion_actions:2"``."""
    return f"{prefix}:{n}"
