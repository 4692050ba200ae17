"""Where an article is read: the one rule every surface links with (Slack, the help centre).

An article's own ``url`` (front matter) wins; otherwise a public article is read on this
service's help centre, ``<public_url>/help/<id>``. An internal article has no public page, so
without its own url it gets no link at all — a rep's suggestion never points at a public page
that would answer 404 (or, worse, at one that shows what it should not).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Protocol
from urllib.parse import quote

_NOT_SLUG = re.compile(r"[^\w\s-]", re.UNICODE)
_DASHES = re.compile(r"[\s_-]+")


class Linkable(Protocol):
    @property
    def article_id(self) -> str: ...

    @property
    def url(self) -> str | None: ...

    @property
    def audience(self) -> str: ...


def slugify(text: str) -> str:
    """A heading's anchor: lower case, punctuation dropped, runs of spaces and dashes as one
    ``-`` ("Email link" -> ``email-link``); ``section`` when nothing is left. The help centre's
    renderer and every link to a section use this one function, so they agree."""
    text = unicodedata.normalize("NFKC", text).lower()
    slug = _DASHES.sub("-", _NOT_SLUG.sub("", text)).strip("-")
    return slug or "section"


def section_anchor(heading: str) -> str:
    """The anchor of a passage's section from its heading path (``"A > B"`` -> ``b``); ""
    for the text before the first heading."""
    last = heading.rsplit(" > ", 1)[-1].strip()
    return slugify(last) if last else ""


def help_url(article_id: str, public_url: str) -> str:
    """``<public_url>/help/<id>`` (the id percent-encoded as a path segment)."""
    return f"{public_url.rstrip('/')}/help/{quote(article_id, safe='')}"


def article_link(hit: Linkable, public_url: str, section: str = "") -> str | None:
    """The link to show with ``hit``: its ``url`` when set, else the help-centre page of a
    public article (at the section of heading path ``section`` when given), else None (an
    internal article without a url of its own)."""
    if hit.url:
        return hit.url
    if hit.audience == "public":
        anchor = section_anchor(section) if section else ""
        return help_url(hit.article_id, public_url) + (f"#{anchor}" if anchor else "")
    return None
