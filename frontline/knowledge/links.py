"""Where an article is read: the one rule every surface links with (Slack, the help centre).

An article's own ``url`` (front matter) wins; otherwise a public article is read on this
service's help centre, ``<public_url>/help/<id>``. An internal article has no public page, so
without its own url it gets no link at all — a rep's suggestion never points at a public page
that would answer 404 (or, worse, at one that shows what it should not).
"""

from __future__ import annotations

from typing import Protocol
from urllib.parse import quote


class Linkable(Protocol):
    @property
    def article_id(self) -> str: ...

    @property
    def url(self) -> str | None: ...

    @property
    def audience(self) -> str: ...


def help_url(article_id: str, public_url: str) -> str:
    """``<public_url>/help/<id>`` (the id percent-encoded as a path segment)."""
    return f"{public_url.rstrip('/')}/help/{quote(article_id, safe='')}"


def article_link(hit: Linkable, public_url: str) -> str | None:
    """The link to show with ``hit``: its ``url`` when set, else the help-centre page of a
    public article, else None (an internal article without a url of its own)."""
    if hit.url:
        return hit.url
    if hit.audience == "public":
        return help_url(hit.article_id, public_url)
    return None
