"""The salient part of a long customer message: what the assistant and the search read.

Customers paste error logs and long stories. The whole text is kept (masked) for the ticket;
the assistant gets at most ``assistant_max_chars`` characters chosen for what they say
(``frontline.knowledge.query.salient``: the question sentences, the lines with error codes or
error words, then the last lines), and the KB search cuts a longer query the same way, so
``frontline eval`` measures what the assistant reads.
"""

from __future__ import annotations

from frontline.knowledge.query import ERROR_CODE, ERROR_WORD, SENTENCE, salient

__all__ = ["ERROR_CODE", "ERROR_WORD", "SENTENCE", "salient"]
