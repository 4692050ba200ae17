"""Text helpers shared by every layer (the indexer is the lowest one)."""

from __future__ import annotations


def shorten(text: str, limit: int) -> str:
    """``text`` with whitespace collapsed, cut at a word boundary to at most ``limit``
    characters, "…" marking the cut."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[: max(limit - 1, 1)].rsplit(" ", 1)[0]
    return cut + "…"


def clip(text: str, limit: int) -> str:
    """Like ``shorten`` but keeps line breaks (for passages shown as Markdown)."""
    text = text.strip()
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 1)].rsplit(" ", 1)[0] + "…"
