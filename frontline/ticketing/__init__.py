"""Ticketing: the ``TicketBackend`` protocol and the built-in SQL backend."""

from frontline.ticketing.backend import (
    NUMBER_OFFSET,
    PRIORITIES,
    STATUSES,
    SUMMARY_MAX,
    TicketBackend,
    propose_summary,
)
from frontline.ticketing.history import TicketStatusChange
from frontline.ticketing.sql import SqlTicketBackend

__all__ = ["NUMBER_OFFSET", "PRIORITIES", "STATUSES", "SUMMARY_MAX", "SqlTicketBackend",
           "TicketBackend", "TicketStatusChange", "propose_summary"]
