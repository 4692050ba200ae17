"""The salient part of a long customer message: what the assistant and the search read.

Customers paste error logs and long stories. The whole text is kept (masked) for the ticket;
the assistant and the KB search get at most ``limit`` characters chosen for what they say: the
question sentences, the lines with error codes or error words, then the last lines (where a
pasted log usually ends with the failure), in their original order.
"""

from __future__ import annotations

import re

ERROR_CODE = re.compile(
    r"\b(?:[A-Z]{2,}[-_]?\d{2,}|E\d{3,}|HTTP\s?\d{3}|\d{3}\s(?:error|Error))\b")
ERROR_WORD = re.compile(r"\b(?:error|exception|failed|failure|fatal|denied|timeout|refused|"
                        r"cannot|can't|unable)\b", re.IGNORECASE)
SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


def salient(text: str, limit: int) -> str:
    """``text`` itself when it fits, else its most telling parts within ``limit`` chars."""
    text = text.strip()
    if len(text) <= limit:
        return text
    parts = [p.strip() for p in SENTENCE.split(text) if p.strip()]
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
