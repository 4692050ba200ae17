"""Messages that are not questions: thanks or a greeting ("thanks!", "hi there").

Whether a message is a follow-up of an earlier question is decided from the search evidence
(``frontline.knowledge.decision.in_context``), not here.
"""

from __future__ import annotations

import re

# Whole messages that are thanks or a greeting, not a question.
SMALL_TALK = frozenset({
    "thanks", "thank you", "thanks a lot", "thank you so much", "thx", "ty", "cheers", "ok",
    "okay", "ok thanks", "ok thank you", "cool", "great", "perfect", "got it", "nice",
    "hi", "hello", "hey", "hi there", "hello there", "good morning", "bye",
})

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")


def words(text: str) -> list[str]:
    """The words of ``text``, lower-cased (punctuation and emoji dropped)."""
    return [w.lower().replace("’", "'") for w in _WORD.findall(text)]


def is_small_talk(text: str) -> bool:
    """True for a message that is only thanks or a greeting ("thanks!", "hi there")."""
    return " ".join(words(text)) in SMALL_TALK
