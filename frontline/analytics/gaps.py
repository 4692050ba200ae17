"""KB gaps: the questions the knowledge base could not answer, grouped by meaning.

A gap question is one the bot abstained on, a clarify whose offered articles the customer did
not take — told apart: "None of these" (a ``clarify_none`` event from the KB feedback action)
or left without choosing — the question behind a "no" that no later "yes" made good,
or one a rep flagged from Slack (``gap_flag``). They are embedded with the product's own
embedding model and clustered greedily (most frequent question first, each joining the
nearest cluster whose centroid is at least ``THRESHOLD`` cosine away, or starting its own).
Each cluster has its count, the previous period's count of questions that fall into it, a
daily trend, example questions and the closest existing article.

*Draft an article* writes ``<kb>/_drafts/<slug>.md`` (not indexed: a folder starting with
``_``) with the cluster's questions under ``questions:``, for an editor to finish.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from sqlalchemy import and_, false, select, true

from frontline.analytics.metrics import ALL, EVENTS, Metrics, Scope
from frontline.analytics.periods import Period, local_date

THRESHOLD = 0.6  # cosine similarity to join a cluster (all-MiniLM-L6-v2 paraphrases: ~0.6-0.9)
MAX_QUESTIONS = 1000  # newest gap questions clustered per period: the cost stays bounded
EXAMPLES = 5
DRAFT_QUESTIONS = 30
SOURCES = {
    "abstain": "abstained",
    "none_of_these": "clarified, said none of these",
    "clarify_left": "clarified, left without choosing",
    "no": "answered, then a no",
    "flagged": "flagged by a rep",
    "help_search": "help-centre search, no good result",
}
Embed = Callable[[list[str]], np.ndarray]
Closest = Callable[[str], "tuple[str, str, float] | None"]


@dataclass
class GapQuestion:
    text: str
    source: str
    at: datetime
    session_id: str | None
    channel: str


@dataclass
class Cluster:
    key: str
    count: int
    previous: int
    examples: list[tuple[str, int]]
    questions: list[str]
    sources: Counter[str]
    channels: Counter[str]
    daily: dict[date, int]
    closest: tuple[str, str, float] | None = None  # article id, title, certainty
    centroid: np.ndarray | None = field(default=None, repr=False)

    @property
    def title(self) -> str:
        text = self.examples[0][0] if self.examples else "Untitled"
        text = text.strip().rstrip("?!. ")
        return (text[:1].upper() + text[1:])[:90]

    @property
    def trend(self) -> str:
        if self.previous == 0:
            return "new"
        change = (self.count - self.previous) / self.previous
        return f"{100 * change:+.0f} %"

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key, "title": self.title, "count": self.count,
            "previous": self.previous, "trend": self.trend,
            "examples": [{"question": q, "count": n} for q, n in self.examples],
            "sources": dict(self.sources), "channels": dict(self.channels),
            "daily": {d.isoformat(): n for d, n in sorted(self.daily.items())},
            "closest_article": None if self.closest is None else {
                "id": self.closest[0], "title": self.closest[1],
                "certainty": round(self.closest[2], 4)},
        }


def normalize(text: str) -> str:
    return " ".join(text.lower().split())


class GapFinder:
    """Gap questions from the event log, clustered with ``embed`` (the KB's embedder);
    embeddings are kept in memory by text, so a page reload embeds only new questions."""

    def __init__(self, metrics: Metrics, embed: Embed, closest: Closest | None = None,
                 *, threshold: float = THRESHOLD, cache_size: int = 20_000) -> None:
        self.metrics = metrics
        self._embed = embed
        self.closest = closest
        self.threshold = threshold
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    # -- the questions ----------------------------------------------------------------------
    def questions(self, period: Period, scope: Scope = ALL,
                  limit: int = MAX_QUESTIONS) -> list[GapQuestion]:
        m = self.metrics
        e = EVENTS
        real = m._real(e, scope)
        when = [e.c.created_at >= period.start, e.c.created_at < period.end, *real]
        later = EVENTS.alias("later")
        picked = select(later.c.id).where(
            later.c.session_id == e.c.session_id, later.c.kind == "decision",
            later.c.decision == "answer", later.c.query == e.c.query, later.c.id > e.c.id,
        ).exists()
        made_good = select(later.c.id).where(
            later.c.session_id == e.c.session_id, later.c.kind == "feedback",
            later.c.deflected == true(), later.c.id > e.c.id,
        ).exists()
        said_none = select(later.c.id).where(
            later.c.session_id == e.c.session_id, later.c.kind == "clarify_none",
            later.c.query == e.c.query, later.c.id > e.c.id,
        ).exists()
        asked = EVENTS.alias("asked")
        question_of = (select(asked.c.query).where(
            asked.c.session_id == e.c.session_id, asked.c.kind == "decision",
            asked.c.id < e.c.id).order_by(asked.c.id.desc()).limit(1).scalar_subquery())
        sources: dict[str, Any] = {
            "abstain": (e.c.query, and_(e.c.kind == "decision", e.c.decision == "abstain",
                                        m.is_question())),
            "none_of_these": (e.c.query, and_(e.c.kind == "decision",
                                              e.c.decision == "clarify", ~picked, said_none)),
            "clarify_left": (e.c.query, and_(e.c.kind == "decision", e.c.decision == "clarify",
                                             ~picked, ~said_none)),
            "no": (question_of, and_(e.c.kind == "feedback", e.c.deflected == false(),
                                     ~made_good)),
            "flagged": (e.c.query, e.c.kind == "gap_flag"),
            # Recorded only when the help-centre search found nothing good enough.
            "help_search": (e.c.query, e.c.kind == "help_search"),
        }
        out: list[GapQuestion] = []
        for source, (text, condition) in sources.items():
            for value, at, session_id, channel in m._rows(
                select(text, e.c.created_at, e.c.session_id, e.c.channel)
                .where(condition, *when).order_by(e.c.id.desc()).limit(limit)
            ):
                if value and value.strip():
                    out.append(GapQuestion(value.strip(), source, _utc(at), session_id,
                                           channel))
        out.sort(key=lambda q: q.at, reverse=True)
        return out[:limit]

    # -- clustering -------------------------------------------------------------------------
    def embed(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            vectors = np.asarray(self._embed(list(missing)), dtype=np.float32)
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            vectors = (vectors / np.where(norms == 0, 1, norms)).astype(np.float32)
            with self._lock:
                for text, vector in zip(missing, vectors, strict=True):
                    self._cache[text] = vector
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        with self._lock:
            for text in texts:
                self._cache.move_to_end(text)
            return np.stack([self._cache[t] for t in texts]) if texts else np.zeros((0, 1))

    def clusters(self, period: Period, scope: Scope = ALL, *, top: int | None = None,
                 with_closest: bool = True) -> list[Cluster]:
        """This period's clusters, largest first; ``top`` keeps the largest few."""
        now = self.questions(period, scope)
        clusters = self.cluster(now, period)
        if clusters:
            self._count_previous(clusters, self.questions(period.previous(), scope))
        clusters.sort(key=lambda c: (-c.count, -c.previous, c.key))
        if top is not None:
            clusters = clusters[:top]
        if with_closest and self.closest is not None:
            for cluster in clusters:
                try:
                    cluster.closest = self.closest(cluster.examples[0][0])
                except Exception:  # the index may be unavailable: the gap still shows
                    cluster.closest = None
        return clusters

    def cluster(self, questions: list[GapQuestion], period: Period) -> list[Cluster]:
        counts: Counter[str] = Counter(normalize(q.text) for q in questions)
        shown: dict[str, str] = {}
        for q in questions:  # the newest spelling of each question is the one shown
            shown.setdefault(normalize(q.text), q.text)
        texts = sorted(counts, key=lambda t: (-counts[t], t))
        if not texts:
            return []
        vectors = self.embed(texts)
        centroids: list[np.ndarray] = []
        members: list[list[int]] = []
        for i, vector in enumerate(vectors):
            if centroids:
                sims = np.stack(centroids) @ vector
                best = int(np.argmax(sims))
                if sims[best] >= self.threshold:
                    members[best].append(i)
                    total = sum(counts[texts[j]] * vectors[j] for j in members[best])
                    centroids[best] = total / np.linalg.norm(total)
                    continue
            centroids.append(vector.copy())
            members.append([i])
        by_text: dict[str, list[GapQuestion]] = {}
        for q in questions:
            by_text.setdefault(normalize(q.text), []).append(q)
        clusters = []
        for centroid, idx in zip(centroids, members, strict=True):
            own = [texts[i] for i in idx]
            asked = [q for t in own for q in by_text[t]]
            daily: Counter[date] = Counter(local_date(q.at, period.zone) for q in asked)
            clusters.append(Cluster(
                key=_key(own),
                count=len(asked),
                previous=0,
                examples=[(shown[t], counts[t]) for t in own[:EXAMPLES]],
                questions=[shown[t] for t in own[:DRAFT_QUESTIONS]],
                sources=Counter(q.source for q in asked),
                channels=Counter(q.channel for q in asked),
                daily=dict(daily),
                centroid=centroid,
            ))
        return clusters

    def _count_previous(self, clusters: list[Cluster], before: list[GapQuestion]) -> None:
        if not before:
            return
        counts = Counter(normalize(q.text) for q in before)
        texts = list(counts)
        vectors = self.embed(texts)
        centroids = np.stack([c.centroid for c in clusters if c.centroid is not None])
        sims = vectors @ centroids.T
        for text, row in zip(texts, sims, strict=True):
            best = int(np.argmax(row))
            if row[best] >= self.threshold:
                clusters[best].previous += counts[text]


def _key(texts: list[str]) -> str:
    return hashlib.sha1("\n".join(sorted(texts)).encode()).hexdigest()[:12]


def _utc(value: Any) -> datetime:
    from datetime import UTC

    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# -- drafts ------------------------------------------------------------------------------------
SLUG = re.compile(r"[^a-z0-9]+")
QUESTION_MAX = 300


class InvalidDraft(ValueError):
    pass


def slugify(text: str, limit: int = 60) -> str:
    slug = SLUG.sub("-", text.lower()).strip("-")[:limit].strip("-")
    return slug or "kb-gap"


def write_draft(drafts_dir: Path, title: str, questions: Sequence[str], *,
                closest: str | None = None, note: str = "") -> Path:
    """Write a new draft article (never overwriting one) and return its path. Raises
    ``InvalidDraft`` without a title or a question."""
    title = " ".join(title.split())[:150]
    kept = list(dict.fromkeys(" ".join(q.split())[:QUESTION_MAX] for q in questions
                              if q and q.strip()))[:DRAFT_QUESTIONS]
    if not title:
        raise InvalidDraft("a draft needs a title")
    if not kept:
        raise InvalidDraft("a draft needs at least one question")
    drafts_dir.mkdir(parents=True, exist_ok=True)
    base = slugify(title)
    slug, n = base, 1
    while (drafts_dir / f"{slug}.md").exists():
        n += 1
        slug = f"{base}-{n}"
    front = {"id": slug, "title": title, "audience": "public", "tags": [], "questions": kept}
    body = [
        "<!-- Draft from a KB gap on the ops dashboard: customers asked the questions above",
        "     and the knowledge base could not answer them."
        + (f" Closest existing article: {closest}." if closest else ""),
        "     Write the answer, add tags, move the file out of _drafts/ and reindex. -->",
        "",
        f"TODO: answer “{kept[0]}”.",
    ]
    if note:
        body += ["", note]
    text = "---\n" + yaml.safe_dump(front, sort_keys=False, allow_unicode=True) + "---\n" + \
        "\n".join(body) + "\n"
    path = drafts_dir / f"{slug}.md"
    with open(path, "x", encoding="utf-8") as fh:  # "x": never replace a file
        fh.write(text)
    return path
