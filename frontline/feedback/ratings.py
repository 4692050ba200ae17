"""Reps' 👍/👎 on suggested articles: stored with the query and the reason for a 👎.

They feed article helpfulness (analytics) and the KB editors' queue (``GET /api/kb/feedback``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from frontline.db import Database, Rating, page
from frontline.errors import InvalidFeedback
from frontline.redaction import mask

REASONS = ("wrong_article", "outdated", "incomplete")
COMMENT_MAX = 3000


class Ratings:
    def __init__(self, db: Database) -> None:
        self.db = db

    def record(self, *, rep: str, query: str, article_id: str, helpful: bool,
               reason: str | None = None, comment: str = "", channel: str = "slack") -> Rating:
        """Store one rating. Raises ``InvalidFeedback`` for an unknown reason or a comment
        over the limit."""
        if reason is not None and reason not in REASONS:
            raise InvalidFeedback(f"unknown reason {reason!r} (expected one of {REASONS})",
                                  {"reason": "choose one of the reasons"})
        comment = comment.strip()
        if len(comment) > COMMENT_MAX:
            raise InvalidFeedback(f"the comment is {len(comment)} characters; the limit is "
                                  f"{COMMENT_MAX}", {"comment": f"at most {COMMENT_MAX}"})
        if not article_id:
            raise InvalidFeedback("a rating needs the article it rates")
        rating = Rating(rep=rep, channel=channel, query=mask(query.strip()),
                        article_id=article_id, helpful=helpful,
                        reason=None if helpful else reason, comment=mask(comment))
        with self.db.session() as session:
            session.add(rating)
        return rating

    def explain(self, rating_id: int, *, reason: str, comment: str = "") -> Rating:
        """Add the reason (and a comment) to a 👎 given a moment ago."""
        if reason not in REASONS:
            raise InvalidFeedback(f"unknown reason {reason!r} (expected one of {REASONS})",
                                  {"reason": "choose one of the reasons"})
        with self.db.session() as session:
            rating = session.get(Rating, rating_id)
            if rating is None:
                raise InvalidFeedback(f"no rating {rating_id}")
            rating.reason = reason
            rating.comment = mask(comment.strip()[:COMMENT_MAX])
        return rating

    def find(self, *, article_id: str | None = None, helpful: bool | None = None,
             since: datetime | None = None, limit: int = 100,
             offset: int = 0) -> tuple[list[Rating], int]:
        """Newest first, with the total matching."""
        query = select(Rating)
        if article_id:
            query = query.where(Rating.article_id == article_id)
        if helpful is not None:
            query = query.where(Rating.helpful == helpful)
        if since is not None:
            query = query.where(Rating.created_at >= since)
        with self.db.session() as session:
            return page(session, query, Rating.id.desc(), limit, offset)
