"""Split an article into the entries the index holds.

Each article yields one ``title`` entry, one ``question`` entry per phrasing in its front matter
(so a customer's wording can match the editor's), and ``section`` entries: the body cut at
Markdown headings, with long sections cut again at paragraph and then sentence boundaries so no
entry exceeds ``max_chars``. Every entry keeps its article id and heading path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from indexer.articles import Article

HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")

KINDS = ("title", "question", "section")


@dataclass(frozen=True)
class Chunk:
    article_id: str
    kind: str  # one of KINDS
    heading: str  # heading path, " > "-joined; "" for text before the first heading
    text: str  # what a reader sees (snippet source)
    position: int  # order within the article

    def embedding_text(self, title: str) -> str:
        """What is embedded: sections carry their article title and heading for context."""
        if self.kind != "section":
            return self.text
        context = " > ".join(p for p in (title, self.heading) if p)
        return f"{context}\n{self.text}"


def chunk(article: Article, max_chars: int = 800) -> list[Chunk]:
    """Entries for one article, in order: title, questions, then body sections."""
    entries = [Chunk(article.id, "title", "", article.title, 0)]
    entries += [Chunk(article.id, "question", "", q, 0) for q in article.questions]
    for heading, text in _sections(article.body):
        for piece in _split(text, max_chars):
            entries.append(Chunk(article.id, "section", heading, piece, 0))
    return [
        Chunk(e.article_id, e.kind, e.heading, e.text, i) for i, e in enumerate(entries)
    ]


def _sections(body: str) -> list[tuple[str, str]]:
    """(heading path, text) for each heading-delimited part of a Markdown body."""
    path: list[tuple[int, str]] = []
    sections: list[tuple[str, str]] = []
    current: list[str] = []
    in_fence = False

    def flush() -> None:
        text = "\n".join(current).strip()
        if text:
            sections.append((" > ".join(title for _, title in path), text))
        current.clear()

    for line in body.splitlines():
        if FENCE.match(line):
            in_fence = not in_fence
        match = None if in_fence else HEADING.match(line)
        if match:
            flush()
            level = len(match.group(1))
            path = [(lvl, t) for lvl, t in path if lvl < level]
            path.append((level, match.group(2).strip()))
        else:
            current.append(line)
    flush()
    return sections


def _split(text: str, max_chars: int) -> list[str]:
    """Cut ``text`` into pieces of at most ``max_chars``: at paragraphs, then sentences, then
    words, packing small units together; a single word longer than the bound is cut hard."""
    if len(text) <= max_chars:
        return [text]
    separator = " "
    for pattern, sep in ((r"\n\s*\n", "\n\n"), (SENTENCE_END.pattern, " "), (r"\s+", " ")):
        units = [u.strip() for u in re.split(pattern, text) if u.strip()]
        if len(units) > 1:
            separator = sep
            break
    else:
        return [text[i : i + max_chars] for i in range(0, len(text), max_chars)]
    pieces: list[str] = []
    current = ""
    for unit in units:
        if len(unit) > max_chars:
            if current:
                pieces.append(current)
                current = ""
            pieces.extend(_split(unit, max_chars))
            continue
        candidate = f"{current}{separator}{unit}" if current else unit
        if len(candidate) <= max_chars:
            current = candidate
        else:
            pieces.append(current)
            current = unit
    if current:
        pieces.append(current)
    return pieces
