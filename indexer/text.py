"""Text helpers shared by every layer (the indexer is the lowest one)."""

from __future__ import annotations

from functools import lru_cache


def plain(markdown: str) -> str:
    """The words a reader sees in a Markdown passage, whitespace collapsed: emphasis and code
    marks, link targets, list and heading markers and table pipes dropped (markdown-it-py's
    tokens, not a regex: ``**14 days**`` → ``14 days``, ``[Help](https://…)`` → ``Help``)."""
    return _plain(markdown)


@lru_cache(maxsize=8192)
def _plain(markdown: str) -> str:
    parts: list[str] = []
    for token in _markdown().parse(markdown):
        if token.type == "inline":
            for child in token.children or ():
                if child.type in ("text", "code_inline"):
                    parts.append(child.content)
                elif child.type in ("softbreak", "hardbreak"):
                    parts.append(" ")
            parts.append(" ")
        elif token.type in ("code_block", "fence"):
            parts.append(f" {token.content} ")
    return " ".join("".join(parts).split())


@lru_cache(maxsize=1)
def _markdown():  # type: ignore[no-untyped-def]
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable("table")


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
