"""What a customer's message is searched on: its salient part, and the part that asks.

Customers write "Hi team, we moved from Trello last month and… How do I get my boards in?",
paste error messages and logs, and sign off politely. Two things follow for the search
(``RankedSearch``, which the assistant's KB action, the help-centre search and ``frontline
eval`` all call):

* **the salient part** (``salient``): a message longer than the search reads is cut to its most
  telling parts within the limit — the question sentences, the lines with error codes or error
  words, the first sentence, then the last lines (where a pasted log usually ends with the
  failure), in their original order. The chat keeps the whole text (masked) for the ticket and
  sends the assistant this part;
* **the part that asks** (``asking_part``): in a message with backstory, the question
  sentences and the quoted error messages or error codes. Query-term coverage (the decision's
  evidence that an article uses the question's words) is also computed over this part, and
  the better of the two coverages counts: a greeting and a story about the team's move dilute
  the coverage of the whole message, though they do not change what it asks. The retrieval
  itself (embedding, classifier, BM25) still reads the whole salient text, so the backstory
  still decides *which* article ranks first.

Nothing here decides: the answer decision (``frontline.knowledge.decision``) and its
thresholds are the same for every message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from indexer.terms import query_terms

ERROR_CODE = re.compile(
    r"\b(?:[A-Z]{2,}[-_]?\d{2,}|E\d{3,}|HTTP\s?\d{3}|\d{3}\s(?:error|Error))\b")
ERROR_WORD = re.compile(r"\b(?:error|exception|failed|failure|fatal|denied|timeout|refused|"
                        r"cannot|can't|unable)\b", re.IGNORECASE)
SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
# A quoted message ("This invite link has expired"): what the customer saw on screen.
QUOTED = re.compile(r"[\"“][^\"”]{6,}[\"”]")
# A sentence that asks without a question mark ("how do I export everything").
ASKS = re.compile(r"^(?:how|what|why|where|when|who|which|can|could|is|are|do|does|did|should|"
                  r"will|would|may|any|has|have)\b", re.IGNORECASE)
# A pasted log line or data row without an error in it: noise for the part that asks.
LOG_LINE = re.compile(r"^\s*(?:\d{1,4}[-/.:]\d{1,2}|\[[^\]]{1,40}\]|[A-Z]/\w+|\w+=\S+\s+\w+=)")
DATA_ROW = re.compile(r"^[^;\t|]*(?:[;\t|][^;\t|]*){2,}$")
# The part that asks is used only when it and the rest each have at least this many topic
# words (indexer.terms.query_terms): "how do I set that up?" leans on the sentence before
# it, and "can we pay by wire transfer? we're on annual" has no backstory to leave out.
# Chosen on the sample KB's dev split (docs/evaluation.md, "Long messages").
MIN_TOPIC_WORDS = 3


def sentences(text: str) -> list[str]:
    """The sentences and lines of ``text``, stripped, empty ones left out."""
    return [p.strip() for p in SENTENCE.split(text.strip()) if p.strip()]


def salient(text: str, limit: int) -> str:
    """``text`` itself when it fits, else its most telling parts within ``limit`` chars."""
    text = text.strip()
    if len(text) <= limit:
        return text
    parts = sentences(text)
    ranked: list[tuple[int, int]] = []  # (priority, index); lower priority value = first
    for i, part in enumerate(parts):
        if "?" in part:
            ranked.append((0, i))
        elif ERROR_CODE.search(part):
            ranked.append((1, i))
        elif ERROR_WORD.search(part):
            ranked.append((2, i))
    # The first sentence states the problem more often than not; the last lines end a log.
    ranked += [(3, 0), *((4, i) for i in range(len(parts) - 1, max(len(parts) - 4, 0), -1))]
    chosen: list[int] = []
    used = 0
    for _, i in sorted(dict.fromkeys(ranked)):
        piece = parts[i][: max(limit // 3, 80)]
        if i in chosen or used + len(piece) + 1 > limit:
            continue
        chosen.append(i)
        used += len(piece) + 1
    return " ".join(parts[i][: max(limit // 3, 80)] for i in sorted(chosen))[:limit]


def _noise(line: str) -> bool:
    """A pasted log line or data row that reports no error."""
    line = line.strip()
    return bool((LOG_LINE.match(line) or DATA_ROW.match(line))
                and not (ERROR_CODE.search(line) or ERROR_WORD.search(line)))


def _asks(sentence: str) -> bool:
    return ("?" in sentence or ASKS.match(sentence) is not None
            or ERROR_CODE.search(sentence) is not None or QUOTED.search(sentence) is not None)


def asking_part(message: str) -> str | None:
    """The sentences of ``message`` that ask (a question mark, or a question word first) or
    quote what went wrong (an error code, a quoted message), in their order; None when the
    message has no backstory to leave out, or the asking part alone would say too little
    (either has fewer than ``MIN_TOPIC_WORDS`` topic words)."""
    lines = [line for line in message.splitlines() if line.strip() and not _noise(line)]
    asking: list[str] = []
    rest: list[str] = []
    for sentence in sentences("\n".join(lines)):
        (asking if _asks(sentence) else rest).append(sentence)
    if not asking or not rest:
        return None
    part = " ".join(asking)
    if len(query_terms(part)) < MIN_TOPIC_WORDS or (
            len(query_terms(" ".join(rest))) < MIN_TOPIC_WORDS):
        return None
    return part


@dataclass(frozen=True)
class Shaped:
    """A message as the search reads it."""

    searched: str  # the salient part: what retrieval embeds and matches
    asking: str | None  # the part that asks, when it differs: coverage is also computed on it


def shape(message: str, limit: int) -> Shaped:
    """``message`` cut to its salient part within ``limit`` chars, and the part of that which
    asks (``asking_part``)."""
    searched = salient(message, limit)
    return Shaped(searched, asking_part(searched))
