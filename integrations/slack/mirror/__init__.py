"""Frontline's domain notifications mirrored into Slack (through the retry queue)."""
