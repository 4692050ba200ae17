"""Frontline's custom actions, served in-process by the Frontline service at ``/webhook``."""

from bot.actions.csat import ActionRecordCsat
from bot.actions.handoff import ActionHandoff
from bot.actions.knowledge import ActionAnswerFromKB, ActionKBFeedback, ActionShowArticle
from bot.actions.nps import ActionRecordNps
from bot.actions.tickets import (
    ActionAskSummary,
    ActionFileTicket,
    ActionStopForm,
    ActionTicketStatus,
    ValidateTicketForm,
    ValidateTicketStatusForm,
)

ACTIONS = (
    ActionAnswerFromKB,
    ActionShowArticle,
    ActionKBFeedback,
    ActionAskSummary,
    ValidateTicketForm,
    ActionFileTicket,
    ValidateTicketStatusForm,
    ActionTicketStatus,
    ActionStopForm,
    ActionHandoff,
    ActionRecordCsat,
    ActionRecordNps,
)

__all__ = ["ACTIONS"]
