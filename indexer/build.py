"""Build a new index version: load → validate → chunk → embed → FAISS + FTS5 → publish.

Incremental by default: an article whose content hash is unchanged and whose previous version
was embedded by the same model with the same chunking is copied, not re-embedded; edited
articles are re-embedded; deleted ones are dropped. ``full=True`` rebuilds everything.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from indexer import classifier, store, terms
from indexer import dense as dense_index
from indexer.articles import Article, ArticleError, Listed, Scan, scan_articles
from indexer.chunking import Chunk, chunk
from indexer.embedding import Embedder

logger = logging.getLogger(__name__)

# Called with (chunks_done, chunks_total) while embedding.
ProgressFn = Callable[[int, int], None]
# The defaults of the index_delta_above and index_delta_share settings (README, "Performance").
DELTA_ABOVE = 10_000  # at 10,000 a full version took 1.4 s, at 20,000 5.8 s (bench/search.py)
DELTA_SHARE = 0.05


@dataclass
class IndexSummary:
    articles: int
    chunks: int
    reembedded: int  # articles embedded in this run
    removed: int  # articles dropped since the previous version
    seconds: float
    chunks_per_s: float  # embedded chunks per second of embedding
    embedded_chunks: int = 0
    version: str | None = None
    changed: bool = True  # False when nothing differed and no new version was written
    skipped: list[str] = field(default_factory=list)  # "path:line: message" of invalid articles

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class _Written:
    chunks: int
    reembedded: int
    removed: int
    embedded: int
    embed_seconds: float
    dim: int


# A full version's listing of its articles (``_listing``, sorted, one a line): what the next
# delta compares the KB with, without reading the base's rows.
LISTING = "articles.listing"


def _listing(articles: list[Listed], kb_dir: Path) -> list[str]:
    """``id NUL content hash NUL path relative to kb_dir`` of each article, in ``articles``'
    order: what tells versions apart (the signature, the delta plan)."""
    rel = _relative(kb_dir)
    return [f"{a.id}\0{a.content_hash}\0{rel(a.path)}" for a in articles]


def _signature(lines: list[str]) -> str:
    """What a version was built from (``_listing``'s lines); a new classifier or terms format
    makes every old version stale."""
    digest = hashlib.sha256(f"classifier {classifier.FORMAT} terms {terms.FORMAT}\n".encode())
    if len(lines) > classifier.MAX_CLASSES:  # the prototype classifier's file format
        digest.update(f"prototypes {classifier.PROTOTYPE_FORMAT}\n".encode())
    # Sorted lines are sorted by id (ids are unique and NUL ends them); one update, since at
    # 100,000 articles a call per article costs seconds.
    if lines:
        digest.update(("\n".join(sorted(lines)) + "\n").encode())
    return digest.hexdigest()


def _write_listing(folder: Path, lines: list[str]) -> None:
    if not any("\n" in line for line in lines):  # else the base's rows are read instead
        (folder / LISTING).write_text("\n".join(sorted(lines)), encoding="utf-8")


def _base_listing(base_dir: Path, conn) -> list[str]:  # type: ignore[no-untyped-def]
    """The base's ``_listing`` lines: its file, or (a version written before it) its rows."""
    try:
        text = (base_dir / LISTING).read_text(encoding="utf-8")
    except FileNotFoundError:
        return [f"{r[0]}\0{r[1]}\0{r[2]}"
                for r in conn.execute("SELECT id, content_hash, path FROM articles")]
    return text.split("\n") if text else []


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """The cyclic garbage collector paused: a scan of 100,000 articles allocates several
    hundred thousand objects (none of them cyclic garbage), and the collections they trigger
    took a third of an edit's scan (measured at 100,000 articles)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def parse_cache_file(index_dir: Path, kb_dir: Path) -> Path:
    """Where the parse cache of ``kb_dir``'s articles lives (beside the versions, never in one:
    it describes the KB folder, not a version)."""
    key = hashlib.sha256(str(kb_dir.resolve()).encode()).hexdigest()[:16]
    return index_dir / "parse-cache" / f"{key}.sqlite"


def _relative(kb_dir: Path) -> Callable[[Path | str], str]:
    """``_rel`` for many paths below one folder."""
    prefix = str(kb_dir) + os.sep
    if str(kb_dir) in ("", ".") or os.sep != "/":
        return lambda path: _rel(path, kb_dir)
    cut = len(prefix)
    return lambda path: p[cut:] if (p := str(path)).startswith(prefix) else _rel(p, kb_dir)


def _rel(path: Path | str, kb_dir: Path) -> str:
    text, root = str(path), str(kb_dir)
    if text.startswith(root + os.sep) and root not in ("", "."):  # Path.relative_to is slow
        return text[len(root) + 1:].replace(os.sep, "/")
    try:
        return Path(path).relative_to(kb_dir).as_posix()
    except ValueError:
        return Path(path).as_posix()


def build_index(
    kb_dir: Path,
    index_dir: Path,
    embedder: Embedder,
    *,
    full: bool = False,
    skip_invalid: bool = False,
    chunk_max_chars: int = 800,
    keep_versions: int = 3,
    lock_timeout: float = 0.0,
    progress: ProgressFn | None = None,
    approximate_above: int = dense_index.APPROXIMATE_ABOVE,
    parse_cache: bool = True,
    delta_above: int = DELTA_ABOVE,
    delta_share: float = DELTA_SHARE,
    changed: Sequence[Path | str] | None = None,
) -> IndexSummary:
    """Index ``kb_dir`` into a new version under ``index_dir`` and publish it.

    ``parse_cache``: articles whose files did not change since the previous build are not
    re-parsed (``load_articles``'s cache, one per KB folder under ``index_dir``).
    ``changed``: the article files written, created or deleted since the previous build, as
    an editor's tool or a file watcher reports them; the folder is then not walked and only
    these files (and those the cache cannot vouch for) are looked at
    (``articles.scan_articles``). Without the parse cache it is ignored (a full scan).

    Above ``delta_above`` articles an incremental build writes a *delta* version over the last
    full one (``store``): only the articles changed since that base are written, so an edit
    costs what it changes, not the KB's size. When the articles changed since the base exceed
    ``delta_share`` of the base's articles, the build writes a full version again
    (compaction), reusing the delta's vectors; ``full=True`` always rebuilds everything.

    The dense index is exact up to ``approximate_above`` chunks and approximate (IVF) above
    (``indexer.dense``).

    Returns an ``IndexSummary``. Raises ``ArticleError`` for the first invalid article (unless
    ``skip_invalid``), ``FileNotFoundError`` if ``kb_dir`` is missing, and ``store.IndexLocked``
    if another writer holds the index.
    """
    started = time.perf_counter()
    with _no_gc():
        loaded = scan_articles(kb_dir, skip_invalid=skip_invalid,
                               cache=parse_cache_file(index_dir, kb_dir) if parse_cache else None,
                               changed=changed)
        listed = loaded.listed
        lines = _listing(listed, kb_dir)
        signature = _signature(lines)
    skipped = [str(err) for err in loaded.errors]
    for message in skipped:
        logger.warning("skipped invalid article %s", message)

    with store.writer_lock(index_dir, timeout=lock_timeout):
        store.prune(index_dir, keep_versions)  # also clears temps of interrupted runs
        previous = store.current_version(index_dir)
        prev_dir = store.version_path(index_dir, previous) if previous else None
        prev_manifest = None
        if prev_dir is not None and (prev_dir / "manifest.json").exists():
            prev_manifest = store.Manifest.read(prev_dir)
        reusable = (
            not full
            and prev_manifest is not None
            and prev_manifest.model == embedder.name
            and prev_manifest.chunk_max_chars == chunk_max_chars
        )
        if reusable and prev_manifest is not None and prev_manifest.signature == signature:
            return IndexSummary(
                articles=prev_manifest.articles,
                chunks=prev_manifest.chunks,
                reembedded=0,
                removed=0,
                seconds=round(time.perf_counter() - started, 3),
                chunks_per_s=0.0,
                version=previous,
                changed=False,
                skipped=skipped,
            )

        name = store.new_version_name(index_dir)
        tmp = store.versions_dir(index_dir) / f"{store.TMP_PREFIX}{name}"
        tmp.mkdir(parents=True)
        try:
            base_dir, donor = (prev_dir, None) if reusable else (None, None)
            if reusable and prev_manifest is not None and prev_manifest.base is not None:
                # the previous version is a delta: its base is what a version starts from
                base_dir, donor = store.version_path(index_dir, prev_manifest.base), prev_dir
                if not (base_dir / "manifest.json").exists():  # removed by hand: start over
                    base_dir, donor = None, None
            with _no_gc():
                plan = _delta_plan(base_dir, loaded, lines, delta_above, delta_share, donor)
            if plan is not None:  # a few articles: no collection of the caller's heap in it
                with _no_gc():
                    written = _write_delta(tmp, plan, kb_dir, embedder, donor,
                                           chunk_max_chars, progress)
            else:
                written = _write_version(
                    tmp,
                    loaded.articles(),
                    kb_dir,
                    embedder,
                    base_dir,
                    chunk_max_chars,
                    progress,
                    approximate_above,
                    donor,
                )
                _write_listing(tmp, lines)
            store.Manifest(
                version=name,
                model=embedder.name,
                dim=written.dim,
                chunk_max_chars=chunk_max_chars,
                articles=len(listed),
                chunks=written.chunks,
                created_at=time.time(),
                signature=signature,
                base=base_dir.name if plan is not None and base_dir is not None else None,
            ).write(tmp)
            store.publish(index_dir, tmp, name)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        store.prune(index_dir, keep_versions)

    seconds = time.perf_counter() - started
    embed_seconds = written.embed_seconds
    result = IndexSummary(
        articles=len(listed),
        chunks=written.chunks,
        reembedded=written.reembedded,
        removed=written.removed,
        seconds=round(seconds, 3),
        chunks_per_s=round(written.embedded / embed_seconds, 1) if embed_seconds else 0.0,
        embedded_chunks=written.embedded,
        version=name,
        skipped=skipped,
    )
    logger.info(
        "indexed %d articles (%d chunks): %d re-embedded, %d removed, %.2f s, %.1f chunks/s",
        result.articles,
        result.chunks,
        result.reembedded,
        result.removed,
        result.seconds,
        result.chunks_per_s,
    )
    return result


def _write_version(
    folder: Path,
    articles: list[Article],
    kb_dir: Path,
    embedder: Embedder,
    prev_dir: Path | None,
    chunk_max_chars: int,
    progress: ProgressFn | None,
    approximate_above: int = dense_index.APPROXIMATE_ABOVE,
    donor: Path | None = None,
) -> _Written:
    """A full version in ``folder``: a copy of ``prev_dir`` (a full version) edited in place,
    or everything from scratch without one. ``donor``: a delta version whose vectors of
    unchanged articles are reused rather than embedded (compaction)."""
    import faiss

    db_path = folder / "meta.sqlite"
    by_id = {a.id: a for a in articles}
    if prev_dir is not None:
        shutil.copyfile(prev_dir / "meta.sqlite", db_path)
        dense = faiss.read_index(str(prev_dir / "dense.faiss"))
    else:
        dense = None

    conn = store.connect(db_path)
    try:
        if prev_dir is None:
            conn.executescript(store.SCHEMA)
        store.ensure_public_lexical(conn)
        # Article terms are cheap (no embedding): rewritten for all when their format changed.
        terms_current = conn.execute("PRAGMA user_version").fetchone()[0] == terms.FORMAT
        if not terms_current:
            conn.execute("DROP TABLE IF EXISTS article_terms")
        conn.executescript(terms.SCHEMA)
        previous = {
            row["id"]: (row["content_hash"], row["path"])
            for row in conn.execute("SELECT id, content_hash, path FROM articles")
        }
        stale = [
            aid for aid, (digest, _) in previous.items()
            if aid not in by_id or by_id[aid].content_hash != digest
        ]
        removed = sum(1 for aid in previous if aid not in by_id)
        todo = [a for a in articles if a.id in stale or a.id not in previous]
        moved = [
            a for a in articles
            if a.id in previous and a.id not in stale and previous[a.id][1] != _rel(a.path, kb_dir)
        ]

        if stale:
            stale_rows = _chunk_rows(conn, stale)
            if dense is not None and stale_rows:
                dense.remove_ids(np.asarray(stale_rows, dtype=np.int64))  # type: ignore[arg-type]
            conn.executemany("DELETE FROM chunks_fts WHERE rowid = ?", [(r,) for r in stale_rows])
            conn.executemany("DELETE FROM chunks_fts_public WHERE rowid = ?",
                             [(r,) for r in stale_rows])
            conn.executemany("DELETE FROM chunks WHERE article_id = ?", [(a,) for a in stale])
            conn.executemany("DELETE FROM articles WHERE id = ?", [(a,) for a in stale])
            conn.executemany("DELETE FROM article_terms WHERE article_id = ?",
                             [(a,) for a in stale])
        for article in moved:
            conn.execute(
                "UPDATE articles SET path = ? WHERE id = ?",
                (_rel(article.path, kb_dir), article.id),
            )

        ids, vectors, embedded, embed_seconds = _insert(
            conn, todo, kb_dir, embedder, chunk_max_chars, progress, donor)
        terms.write(conn, ((a.id, _term_text(a), a.audience == "public")
                           for a in (todo if terms_current else articles)))
        conn.execute(f"PRAGMA user_version = {terms.FORMAT}")
        rowids = np.asarray(ids, dtype=np.int64)
        if dense is None and vectors is not None and len(ids) > approximate_above:
            dense = dense_index.approximate(vectors, rowids)
        else:
            if dense is None:
                dense = dense_index.exact(embedder.dim)
            if vectors is not None and len(ids):
                dense.add_with_ids(vectors, rowids)
            dense = dense_index.fit(dense, approximate_above)
        conn.commit()
        total_chunks = conn.execute("SELECT count(*) FROM chunks").fetchone()[0]
        examples = conn.execute(EXAMPLES).fetchall()
    finally:
        conn.close()
    _write_classifiers(folder, prev_dir, dense, examples)
    if dense.ntotal != total_chunks:  # pragma: no cover - a bug, never a user error
        raise RuntimeError(f"index mismatch: {dense.ntotal} vectors for {total_chunks} chunks")
    faiss.write_index(dense, str(folder / "dense.faiss"))
    return _Written(
        chunks=int(total_chunks),
        reembedded=embedded[0],
        removed=removed,
        embedded=embedded[1],
        embed_seconds=embed_seconds,
        dim=int(dense.d),
    )


def _insert(conn, todo: list[Article], kb_dir: Path, embedder: Embedder,  # type: ignore[no-untyped-def]
            chunk_max_chars: int, progress: ProgressFn | None, donor: Path | None,
            ) -> tuple[list[int], np.ndarray | None, tuple[int, int], float]:
    """Chunk, embed and insert ``todo``'s articles, chunks and lexical rows (not their terms):
    ``(chunk rowids, their vectors, (articles, chunks) embedded, embedding seconds)``. Articles
    the ``donor`` version holds with the same content keep its vectors."""
    pieces: list[tuple[Article, Chunk]] = [
        (a, c) for a in todo for c in chunk(a, max_chars=chunk_max_chars)
    ]
    counts: dict[str, int] = {}
    for article, _ in pieces:
        counts[article.id] = counts.get(article.id, 0) + 1
    reused = _donor_vectors(donor, todo, counts) if donor is not None else {}
    texts = [c.embedding_text(a.title) for a, c in pieces if a.id not in reused]
    embed_started = time.perf_counter()
    done = 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        if progress is not None:
            progress(done, len(texts))

    if progress is not None:
        progress(0, len(texts))
    fresh = embedder.embed(texts, progress=tick) if texts else None
    embed_seconds = time.perf_counter() - embed_started
    vectors = None
    if pieces:
        parts, at = [], 0
        for article in dict.fromkeys(a for a, _ in pieces):
            if article.id in reused:
                parts.append(reused[article.id])
            else:
                assert fresh is not None
                parts.append(fresh[at:at + counts[article.id]])
                at += counts[article.id]
        vectors = np.ascontiguousarray(np.vstack(parts), dtype=np.float32)

    now = time.time()
    conn.executemany(
        "INSERT INTO articles (id, title, audience, url, tags, path, content_hash, indexed_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                a.id, a.title, a.audience, a.url, json.dumps(list(a.tags)),
                _rel(a.path, kb_dir), a.content_hash, now,
            )
            for a in todo
        ],
    )
    ids = []
    for article, piece in pieces:
        cursor = conn.execute(
            "INSERT INTO chunks (article_id, kind, heading, text, position, audience)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (article.id, piece.kind, piece.heading, piece.text, piece.position,
             article.audience),
        )
        rowid = int(cursor.lastrowid or 0)
        ids.append(rowid)
        lexical = _lexical_text(article, piece)
        conn.execute("INSERT INTO chunks_fts (rowid, text) VALUES (?, ?)", (rowid, lexical))
        if article.audience == "public":  # public statistics never see internal rows
            conn.execute("INSERT INTO chunks_fts_public (rowid, text) VALUES (?, ?)",
                         (rowid, lexical))
    embedded = (sum(1 for a in todo if a.id not in reused), len(texts))
    return ids, vectors, embedded, embed_seconds


def _donor_vectors(donor: Path, todo: list[Article], counts: dict[str, int]
                   ) -> dict[str, np.ndarray]:
    """The vectors ``donor`` (a version) holds for articles of ``todo`` with the same content
    and as many chunks: chunking is deterministic, so they are what embedding would give."""
    import faiss

    conn = store.connect(donor / "meta.sqlite", readonly=True)
    try:
        held = {r[0]: r[1] for r in conn.execute("SELECT id, content_hash FROM articles")}
        wanted = [a.id for a in todo if held.get(a.id) == a.content_hash and a.id in counts]
        rows: dict[str, list[int]] = {}
        for start in range(0, len(wanted), 500):
            part = wanted[start:start + 500]
            for aid, rowid in conn.execute(
                    f"SELECT article_id, id FROM chunks WHERE article_id IN "
                    f"({','.join('?' * len(part))}) ORDER BY id", part):
                rows.setdefault(aid, []).append(rowid)
    finally:
        conn.close()
    usable = {a: r for a, r in rows.items() if len(r) == counts[a]}
    if not usable:
        return {}
    dense = faiss.read_index(str(donor / "dense.faiss"))
    return {a: dense.reconstruct_batch(np.asarray(r, np.int64)) for a, r in usable.items()}


@dataclass(frozen=True)
class _DeltaPlan:
    base: Path  # the full version the delta extends
    changed: list[Article]  # articles new, edited or moved since the base
    tombstones: list[str]  # the base's articles that are gone or changed
    removed: int  # articles gone since the previous version


# Title and question rows: the classifier's training examples.
EXAMPLES = ("SELECT id, article_id, text, audience FROM chunks "
            "WHERE kind IN ('title', 'question') ORDER BY id")
# A delta's own tables: the base's articles it hides, and every token of its lexical rows
# (a delta's BM25 is computed with the base's statistics, ``retriever.DeltaVersion``).
DELTA_SCHEMA = """
CREATE TABLE tombstones (article_id TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE VIRTUAL TABLE chunks_fts_instance USING fts5vocab(chunks_fts, 'instance');
CREATE VIRTUAL TABLE chunks_fts_public_instance USING fts5vocab(chunks_fts_public, 'instance');
"""


def _delta_plan(base_dir: Path | None, scan: Scan, lines: list[str],
                delta_above: int, delta_share: float, donor: Path | None
                ) -> _DeltaPlan | None:
    """What a delta over ``base_dir`` would hold, or None when a full version is due: at or
    below ``delta_above`` articles, without a base of the current formats, or when more than
    ``delta_share`` of the base's articles changed (compaction). ``lines``: the scan's
    ``_listing``, compared with the base's as sets of lines (no per-article lookups)."""
    articles = scan.listed
    if base_dir is None or len(articles) <= delta_above:
        return None
    conn = store.connect(base_dir / "meta.sqlite", readonly=True)
    try:
        if (conn.execute("PRAGMA user_version").fetchone()[0] != terms.FORMAT
                or not store.has_table(conn, "chunks_fts_public_vocab")):
            return None
        base = _base_listing(base_dir, conn)
    finally:
        conn.close()
    in_base, now = set(base), set(lines)
    changed = [a for a, line in zip(articles, lines, strict=True) if line not in in_base]
    # A base line not in the scan is a base article edited, moved or gone: its id is
    # tombstoned (ids are unique on both sides, so an unchanged id keeps its line).
    tombstoned = {line.split("\0", 1)[0] for line in base if line not in now}
    gone = tombstoned - {a.id for a in changed}
    if len(changed) + len(gone) > delta_share * len(base):
        return None
    removed = gone
    if donor is not None:
        current = {a.id for a in articles}
        conn = store.connect(donor / "meta.sqlite", readonly=True)
        try:
            removed = gone - {r[0] for r in conn.execute("SELECT article_id FROM tombstones")}
            removed |= {r[0] for r in conn.execute("SELECT id FROM articles")
                        if r[0] not in current}
        finally:
            conn.close()
    return _DeltaPlan(base_dir, [scan.article(a) for a in changed], sorted(tombstoned),
                      len(removed))


class _Segments:
    """Vectors by rowid across a base's FAISS file and a delta's (read only when needed)."""

    def __init__(self, base: Path, above: int, delta) -> None:  # type: ignore[no-untyped-def]
        self.base_file, self.above, self.delta = base / "dense.faiss", above, delta
        self._base: Any = None

    def reconstruct_batch(self, rows: np.ndarray) -> np.ndarray:
        import faiss

        rows = np.asarray(rows, np.int64)
        out = np.zeros((len(rows), self.delta.d), np.float32)
        mine = rows > self.above
        if mine.any():
            out[mine] = self.delta.reconstruct_batch(rows[mine])
        if (~mine).any():
            if self._base is None:
                self._base = faiss.read_index(str(self.base_file))
            out[~mine] = self._base.reconstruct_batch(rows[~mine])
        return out


def _write_delta(folder: Path, plan: _DeltaPlan, kb_dir: Path, embedder: Embedder,
                 donor: Path | None, chunk_max_chars: int, progress: ProgressFn | None
                 ) -> _Written:
    """A delta version in ``folder`` over ``plan.base``: the changed articles' rows (rowids
    above every rowid of the base), terms, lexical rows and vectors (a flat FAISS index), the
    tombstones, and the classifier (``_write_delta_classifiers``). ``donor``: the previous
    delta, whose vectors of unchanged articles are reused."""
    import faiss

    base = store.connect(plan.base / "meta.sqlite", readonly=True)
    try:
        seq = base.execute("SELECT seq FROM sqlite_sequence WHERE name = 'chunks'").fetchone()
        top = max(int(seq[0]) if seq else 0,
                  int(base.execute("SELECT coalesce(max(id), 0) FROM chunks").fetchone()[0]))
        base_chunks = int(base.execute("SELECT count(*) FROM chunks").fetchone()[0])
        hidden = len(_chunk_rows(base, plan.tombstones))
    finally:
        base.close()
    conn = store.connect(folder / "meta.sqlite")
    try:
        # A new file in an unpublished folder: no rollback journal and no sync per statement
        # (each CREATE of the schema was a transaction with its own fsyncs, 0.3 s of an edit
        # at 20,000 articles); the file is synced once, before it is published.
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        conn.executescript(store.SCHEMA)
        store.ensure_public_lexical(conn)
        conn.executescript(terms.SCHEMA)
        conn.executescript(DELTA_SCHEMA)
        conn.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('chunks', ?)", (top,))
        ids, vectors, embedded, embed_seconds = _insert(
            conn, plan.changed, kb_dir, embedder, chunk_max_chars, progress, donor)
        terms.write(conn, ((a.id, _term_text(a), a.audience == "public") for a in plan.changed))
        conn.executemany("INSERT INTO tombstones (article_id) VALUES (?)",
                         [(a,) for a in plan.tombstones])
        conn.execute(f"PRAGMA user_version = {terms.FORMAT}")
        conn.commit()
        examples = conn.execute(EXAMPLES).fetchall()
    finally:
        conn.close()
    dense = dense_index.exact(embedder.dim, vectors, np.asarray(ids, np.int64))
    _write_delta_classifiers(folder, plan, donor, _Segments(plan.base, top, dense), examples)
    faiss.write_index(dense, str(folder / "dense.faiss"))
    with open(folder / "meta.sqlite", "rb") as fh:
        os.fsync(fh.fileno())
    return _Written(
        chunks=base_chunks - hidden + len(ids),
        reembedded=embedded[0],
        removed=plan.removed,
        embedded=embedded[1],
        embed_seconds=embed_seconds,
        dim=int(dense.d),
    )


def _write_delta_classifiers(folder: Path, plan: _DeltaPlan, donor: Path | None,
                             vectors: _Segments, examples: list) -> None:  # type: ignore[type-arg]
    """Over a base with a prototype classifier, the delta holds the prototype rows of its own
    articles (``classifier.DELTA_FILE``, public ones again in ``PUBLIC_DELTA_FILE``), refitted
    only where they changed since ``donor``; the service joins them to the base's rows.
    Otherwise (a logistic regression, small enough to train in seconds) the delta holds the
    whole classifier, trained on the base's examples that are not tombstoned and its own."""
    public = [r for r in examples if r[3] == "public"]
    if classifier.stored_kind(plan.base) == classifier.PrototypeClassifier.kind:
        for name, rows in ((classifier.DELTA_FILE, examples),
                           (classifier.PUBLIC_DELTA_FILE, public)):
            _write_classifier(folder, donor, vectors, rows, name, prototypes=True)
        return
    conn = store.connect(plan.base / "meta.sqlite", readonly=True)
    try:
        hidden = set(plan.tombstones)
        everything = [r for r in conn.execute(EXAMPLES) if r[1] not in hidden]
    finally:
        conn.close()
    _write_classifiers(folder, donor if donor is not None else plan.base, vectors,
                       everything + examples)


def _write_classifiers(folder: Path, prev_dir: Path | None, dense, examples) -> None:  # type: ignore[no-untyped-def]
    """The article classifier of every example and, when internal articles exist, the public
    articles' own."""
    _write_classifier(folder, prev_dir, dense, examples, classifier.FILE)
    public = [r for r in examples if r[3] == "public"]
    if len(public) < len(examples):  # internal articles exist: public ones get their own
        _write_classifier(folder, prev_dir, dense, public, classifier.PUBLIC_FILE)


def _write_classifier(folder: Path, prev_dir: Path | None, dense, examples,  # type: ignore[no-untyped-def]
                      name: str, *, prototypes: bool = False) -> None:
    """Train the article classifier ``name`` on ``examples`` (rows of chunk id, article id,
    text), or copy the previous version's when it was trained on the same examples.
    ``prototypes``: a prototype classifier whatever the number of articles (a delta's rows)."""
    if not examples:
        return
    questions, labels = [r[2] for r in examples], [r[1] for r in examples]
    if prev_dir is not None and classifier.stored_digest(prev_dir, name) == (
        classifier.examples_digest(questions, labels)
    ):
        shutil.copyfile(prev_dir / name, folder / name)
        return
    rows = np.asarray([int(r[0]) for r in examples], np.int64)
    started = time.perf_counter()
    # Above classifier.MAX_CLASSES articles only the articles whose examples changed since the
    # previous version are refitted, and only their vectors are read back.
    previous = prev_dir / name if prev_dir is not None else None
    model: classifier.ArticleClassifier | classifier.PrototypeClassifier | None
    if prototypes:
        model = classifier.train_prototypes(
            questions, labels, lambda at: dense.reconstruct_batch(rows[at]),
            classifier._stored_prototypes(previous))
    else:
        model = classifier.fit(questions, labels, lambda at: dense.reconstruct_batch(rows[at]),
                               previous)
    if model is not None:
        model.save(folder, name)
        refitted = len(model.refitted) if isinstance(model, classifier.PrototypeClassifier) \
            else len(model.classes)
        logger.info("%s: %s classifier, %d of %d articles fitted in %.2f s", name, model.kind,
                    refitted, len(model.classes), time.perf_counter() - started)


def _chunk_rows(conn, article_ids: list[str]) -> list[int]:  # type: ignore[no-untyped-def]
    rows: list[int] = []
    for start in range(0, len(article_ids), 500):
        part = article_ids[start : start + 500]
        marks = ",".join("?" * len(part))
        rows += [
            r[0]
            for r in conn.execute(f"SELECT id FROM chunks WHERE article_id IN ({marks})", part)
        ]
    return rows


def _term_text(article: Article) -> str:
    return "\n".join([article.title, *article.questions, article.body])


def _lexical_text(article: Article, piece: Chunk) -> str:
    """What the lexical index holds for an entry: sections carry title and heading words."""
    if piece.kind == "section":
        return f"{article.title}\n{piece.heading}\n{piece.text}"
    if piece.kind == "question":
        return f"{piece.text}\n{article.title}"
    return piece.text


__all__ = ["ArticleError", "IndexSummary", "build_index"]
