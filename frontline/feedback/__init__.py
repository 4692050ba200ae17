"""Feedback from the front line: reps' ratings of suggestions, and process feedback to ops."""

from frontline.feedback.process import (
    AREA_LABELS,
    AREAS,
    IMPACTS,
    STATUS_LABELS,
    STATUSES,
    ProcessFeedbackService,
)
from frontline.feedback.ratings import REASONS, Ratings

__all__ = ["AREAS", "AREA_LABELS", "IMPACTS", "REASONS", "STATUSES", "STATUS_LABELS",
           "ProcessFeedbackService", "Ratings"]
