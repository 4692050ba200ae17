"""Messages that are not questions: thanks or a greeting ("thanks!", "hi there"); and how a
message sounds: frustrated (shouting or swearing) or not.

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


# Swear words as customers type them (matched as whole words, or as the start of one:
# "fucking", "shitty"). A lexicon, because swearing is a matter of vocabulary.
SWEARING = re.compile(
    r"\b(?:\w*fuck\w*|f\*+k\w*|\w*shit\w*|sh\*t|crap(?:py)?|damn(?:ed|it)?|dammit|wtf|ffs|"
    r"bloody|hell|piss(?:ed)?|bastards?|screw (?:this|you|it)|sucks?|useless|rubbish|garbage|"
    r"ridiculous)\b", re.IGNORECASE)
SHOUT_MIN_LETTERS = 12  # "SAML SSO API" is acronyms, not shouting
SHOUT_SHARE = 0.7  # of the letters in capitals


def is_shouting(text: str) -> bool:
    """Mostly capitals over at least a few words' worth of letters, or "!!!"."""
    letters = [c for c in text if c.isalpha()]
    if "!!!" in text:
        return True
    if len(letters) < SHOUT_MIN_LETTERS:
        return False
    return sum(c.isupper() for c in letters) / len(letters) >= SHOUT_SHARE


def is_frustrated(text: str) -> bool:
    """True for a message that shouts or swears ("THIS STILL DOESN'T WORK", "wtf is this")."""
    return is_shouting(text) or SWEARING.search(text) is not None
