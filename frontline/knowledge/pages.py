"""The public help centre's content: published articles as safe HTML pages, categories from
their tags, related articles.

Only public articles have a page: an internal article and an unknown id raise the same
``ArticleNotFound``, so a URL reveals nothing. An article's Markdown is read from the file the
published index names (``kb_dir / path``) and rendered with markdown-it-py (raw HTML off: a
``<script>`` in the Markdown is shown as text), every heading given an anchor (``slugify`` of its
text, made unique), then sanitised with nh3 (no scripts, no ``javascript:`` links, whatever the
Markdown holds). Renders are cached by the file's content hash.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import nh3
from markdown_it import MarkdownIt

from frontline.errors import ArticleNotFound, IndexNotReady
from frontline.knowledge.base import KnowledgeBase
from frontline.knowledge.links import slugify
from indexer import IndexUnavailable
from indexer.articles import ArticleError, content_hash, parse_article

logger = logging.getLogger(__name__)
CACHE_SIZE = 512
RELATED = 5
ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "div", "dl", "dt",
    "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre",
    "s", "strong", "sub", "summary", "sup", "table", "tbody", "td", "th", "thead", "tr", "ul",
}
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    **{f"h{n}": {"id"} for n in range(1, 7)},
}
# A table column's alignment is a class, not a style attribute (a strict CSP blocks those).
ALIGN_CLASSES = {"align-left", "align-center", "align-right"}
URL_SCHEMES = {"http", "https", "mailto"}


@dataclass(frozen=True)
class Heading:
    level: int
    text: str
    anchor: str


@dataclass(frozen=True)
class Page:
    id: str
    title: str
    tags: tuple[str, ...]
    html: str  # sanitised
    headings: tuple[Heading, ...]
    content_hash: str


@dataclass(frozen=True)
class Summary:
    """A public article as a list entry."""

    id: str
    title: str
    tags: tuple[str, ...]


def _markdown() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


def render_markdown(body: str) -> tuple[str, tuple[Heading, ...]]:
    """Sanitised HTML of a Markdown body, and its headings with their (unique) anchors."""
    md = _markdown()
    tokens = md.parse(body)
    headings: list[Heading] = []
    seen: dict[str, int] = {}
    for i, token in enumerate(tokens):
        if token.type != "heading_open" or i + 1 >= len(tokens):
            continue
        text = tokens[i + 1].content.strip()
        anchor = base = slugify(text)
        while anchor in seen:
            seen[base] += 1
            anchor = f"{base}-{seen[base]}"
        seen[anchor] = 1
        token.attrSet("id", anchor)
        headings.append(Heading(int(token.tag[1]), text, anchor))
    for token in tokens:
        style = token.attrGet("style") if token.type in ("th_open", "td_open") else None
        if isinstance(style, str) and style.startswith("text-align:"):
            del token.attrs["style"]
            token.attrSet("class", "align-" + style.split(":", 1)[1].strip())
    html = md.renderer.render(tokens, md.options, {})
    safe = nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                     url_schemes=URL_SCHEMES, link_rel="noopener noreferrer nofollow",
                     allowed_classes={"td": ALIGN_CLASSES, "th": ALIGN_CLASSES})
    return safe, tuple(headings)


class HelpCentre:
    """Public articles of the published index version as pages."""

    def __init__(self, knowledge: KnowledgeBase) -> None:
        self.knowledge = knowledge
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, tuple[str, tuple[Heading, ...]]] = OrderedDict()
        # Per published version (a reindex starts afresh): the public articles by title, and
        # each article's related articles (at 10,000 articles both were a scan per page view).
        self._version: object = None
        self._articles: list[Summary] = []
        self._related: OrderedDict[tuple[str, int], list[Summary]] = OrderedDict()

    def _rows(self) -> dict[str, dict[str, Any]]:
        try:
            version = self.knowledge.retriever.current()
        except IndexUnavailable as exc:
            raise IndexNotReady(str(exc)) from exc
        return version.articles

    def version(self) -> tuple[str, float]:
        """The published index version's name (changes on every reindex) and when it was
        built (seconds since the epoch): what the pages' ETag and Last-Modified come from."""
        try:
            current = self.knowledge.retriever.current()
        except IndexUnavailable as exc:
            raise IndexNotReady(str(exc)) from exc
        return current.name, current.manifest.created_at

    def _fresh(self) -> dict[str, dict[str, Any]]:
        """The published version's rows, forgetting what was cached for an older version."""
        rows = self._rows()
        with self._lock:
            if self._version is not rows:
                self._version = rows
                self._articles = sorted(
                    (Summary(r["id"], r["title"], _tags(r)) for r in rows.values()
                     if r["audience"] == "public"),
                    key=lambda s: (s.title.lower(), s.id))
                self._related.clear()
        return rows

    def articles(self) -> list[Summary]:
        """Every public article, by title."""
        self._fresh()
        with self._lock:
            return list(self._articles)

    def categories(self) -> list[tuple[str, list[Summary]]]:
        """(tag, its public articles) for every tag, by tag; untagged articles under
        "general"."""
        groups: dict[str, list[Summary]] = {}
        for summary in self.articles():
            for tag in summary.tags or ("general",):
                groups.setdefault(tag, []).append(summary)
        return sorted(groups.items())

    def summary(self, article_id: str) -> Summary | None:
        row = self._rows().get(article_id)
        if row is None or row["audience"] != "public":
            return None
        return Summary(row["id"], row["title"], _tags(row))

    def page(self, article_id: str) -> Page:
        """One public article rendered; ``ArticleNotFound`` for an unknown or internal id (or
        an article whose file is gone or no longer public)."""
        row = self._rows().get(article_id)
        if row is None or row["audience"] != "public":
            raise ArticleNotFound(f"no article {article_id!r}")
        path = self.knowledge.settings.kb_dir / row["path"]
        try:
            raw = path.read_bytes()
            digest = content_hash(raw)
            with self._lock:
                cached = self._cache.get(digest)
                if cached is not None:
                    self._cache.move_to_end(digest)
            if cached is None:
                article = parse_article(path, raw)
                if not article.public or article.id != article_id:
                    raise ArticleNotFound(f"no article {article_id!r}")
                cached = render_markdown(article.body)
                with self._lock:
                    self._cache[digest] = cached
                    while len(self._cache) > CACHE_SIZE:
                        self._cache.popitem(last=False)
        except (OSError, ArticleError) as exc:
            logger.warning("help page %s: cannot read %s: %s", article_id, path, exc)
            raise ArticleNotFound(f"no article {article_id!r}") from exc
        html, headings = cached
        return Page(article_id, row["title"], _tags(row), html, headings, digest)

    def related(self, article_id: str, limit: int = RELATED) -> list[Summary]:
        """Public articles sharing the most tags with this one; when none share a tag, the
        nearest by a search on its title. Cached per published version."""
        rows = self._fresh()
        key = (article_id, limit)
        with self._lock:
            cached = self._related.get(key)
            if cached is not None:
                self._related.move_to_end(key)
                return list(cached)
        found = self._find_related(article_id, limit)
        with self._lock:
            if self._version is not rows:  # a reindex meanwhile: not for the new version
                return found
            self._related[key] = found
            while len(self._related) > CACHE_SIZE * 4:
                self._related.popitem(last=False)
        return list(found)

    def _find_related(self, article_id: str, limit: int) -> list[Summary]:
        me = self.summary(article_id)
        if me is None:
            return []
        mine = set(me.tags)
        scored = [(len(mine & set(s.tags)), s) for s in self.articles() if s.id != article_id]
        shared = sorted(((n, s) for n, s in scored if n), key=lambda p: (-p[0], p[1].title))
        if shared:
            return [s for _, s in shared[:limit]]
        found = []
        for hit in self.knowledge.search(me.title, "public", limit + 1):
            summary = self.summary(hit.article_id)
            if summary is not None and summary.id != article_id:
                found.append(summary)
        return found[:limit]


def _tags(row: dict[str, Any]) -> tuple[str, ...]:
    try:
        tags = json.loads(row.get("tags") or "[]")
    except ValueError:
        return ()
    return tuple(str(t) for t in tags if str(t).strip())
