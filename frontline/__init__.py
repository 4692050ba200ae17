"""Frontline: conversational self-service and agent-assist for customer-support teams."""

__version__ = "0.1.0"
