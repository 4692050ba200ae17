"""Support: conversations, the channel-agnostic chat turn, handoff and transcripts."""

from frontline.support.chat import Assistant, ChatService, OutMessage, replies_from
from frontline.support.conversations import BOT, CUSTOMER, NOTE, REP, SYSTEM, Conversations
from frontline.support.handoff import Handoff
from frontline.support.transcript import summary_from_events, transcript

__all__ = ["BOT", "CUSTOMER", "NOTE", "REP", "SYSTEM", "Assistant", "ChatService",
           "Conversations", "Handoff", "OutMessage", "replies_from", "summary_from_events",
           "transcript"]
