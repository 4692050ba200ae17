"""Analytics: the event log, and the ops metrics, comparisons, breakdowns, drill-downs, KB gaps
and report built on it (the dashboard and ``frontline report`` share them)."""

from frontline.analytics.events import EventLog, hits_summary
from frontline.analytics.metrics import Scope
from frontline.analytics.periods import InvalidPeriod, Period
from frontline.analytics.service import Analytics

__all__ = ["Analytics", "EventLog", "InvalidPeriod", "Period", "Scope", "hits_summary"]
