"""``Analytics``: the one entry point the dashboard and ``frontline report`` share — the
metrics, the period comparison, the breakdowns, the drill-downs, the KB gaps and the report,
over one database and (for gaps and topics) the knowledge base."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import datetime

from frontline.analytics.breakdown import Breakdown, Breakdowns
from frontline.analytics.drilldown import DrillDown
from frontline.analytics.gaps import Closest, Cluster, Embed, GapFinder
from frontline.analytics.metrics import ALL, ArticleInfo, Catalog, Metrics, Scope
from frontline.analytics.overview import Overview, build
from frontline.analytics.periods import Period, resolve
from frontline.analytics.report import Report
from frontline.analytics.rollup import RolledMetrics
from frontline.db import Database
from frontline.knowledge import KnowledgeBase
from frontline.settings import Settings

logger = logging.getLogger(__name__)


def knowledge_catalog(knowledge: KnowledgeBase) -> Catalog:
    """Titles and tags of the published index's articles (empty while there is none)."""
    cache: dict[str, Mapping[str, ArticleInfo]] = {}

    def catalog() -> Mapping[str, ArticleInfo]:
        try:
            version = knowledge.retriever.current()
        except Exception:  # no index yet: articles show by id, topics as untagged
            return {}
        if version.name not in cache:
            cache.clear()
            cache[version.name] = {
                row["id"]: ArticleInfo(row["title"], tuple(json.loads(row["tags"] or "[]")),
                                       row["audience"], row["url"])
                for row in version.articles.values()
            }
        return cache[version.name]

    return catalog


def knowledge_closest(knowledge: KnowledgeBase) -> Closest:
    def closest(text: str) -> tuple[str, str, float] | None:
        hits = knowledge.search(text, "internal", 1)
        return (hits[0].article_id, hits[0].title, hits[0].certainty) if hits else None

    return closest


class Analytics:
    def __init__(self, db: Database, settings: Settings, knowledge: KnowledgeBase | None = None,
                 *, catalog: Catalog | None = None, embed: Embed | None = None,
                 closest: Closest | None = None) -> None:
        self.settings = settings
        self.zone = settings.zone
        if catalog is None and knowledge is not None:
            catalog = knowledge_catalog(knowledge)
        if embed is None and knowledge is not None:
            embed = knowledge.embedder.embed
        if closest is None and knowledge is not None:
            closest = knowledge_closest(knowledge)
        self.metrics: Metrics = RolledMetrics(db, catalog=catalog,
                                              review_threshold=settings.article_review_threshold,
                                              review_min_votes=settings.article_review_min_votes)
        self.breakdowns = Breakdowns(self.metrics)
        self.drill = DrillDown(self.metrics, self.zone)
        self.gaps = GapFinder(self.metrics, embed, closest) if embed is not None else None

    def period(self, *, days: int | None = None, first: str | None = None,
               last: str | None = None, now: datetime | None = None) -> Period:
        return resolve(self.zone, days=days, first=first, last=last, now=now)

    def overview(self, period: Period, scope: Scope = ALL) -> Overview:
        return build(self.metrics, period, scope)

    def why(self, metric: str, period: Period, scope: Scope = ALL) -> Breakdown:
        return self.breakdowns.explain(metric, period, scope)

    def gap_clusters(self, period: Period, scope: Scope = ALL,
                     top: int | None = None) -> list[Cluster]:
        if self.gaps is None:
            return []
        return self.gaps.clusters(period, scope, top=top)

    def report(self, period: Period, scope: Scope = ALL, *, top_gaps: int = 5) -> Report:
        overview = self.overview(period, scope)
        review = [a for a in self.metrics.articles(period, scope) if a.needs_review]
        return Report(overview, self.gap_clusters(period, scope, top=top_gaps), review,
                      self.metrics.feedback(period, scope), scope.hide_simulated)
