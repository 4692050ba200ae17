"""Analytics: the event log (reports, metrics and KB gaps build on it)."""

from frontline.analytics.events import EventLog, hits_summary

__all__ = ["EventLog", "hits_summary"]
