"""Build a new index version: load → validate → chunk → embed → FAISS + FTS5 → publish.

Incremental by default: an article whose content hash is unchanged and whose previous version
was embedded by the same model with the same chunking is copied, not re-embedded; edited
articles are re-embedded; deleted ones are dropped. ``full=True`` rebuilds everything.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from indexer import classifier, store, terms
from indexer import dense as dense_index
from indexer.articles import Article, ArticleError, load_articles
from indexer.chunking import Chunk, chunk
from indexer.embedding import Embedder

logger = logging.getLogger(__name__)

# Called with (chunks_done, chunks_total) while embedding.
ProgressFn = Callable[[int, int], None]


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


def _signature(articles: list[Article], kb_dir: Path) -> str:
    """What a version was built from; a new classifier or terms format makes every old version
    stale."""
    digest = hashlib.sha256(f"classifier {classifier.FORMAT} terms {terms.FORMAT}\n".encode())
    if len(articles) > classifier.MAX_CLASSES:  # the prototype classifier's file format
        digest.update(f"prototypes {classifier.PROTOTYPE_FORMAT}\n".encode())
    for a in sorted(articles, key=lambda a: a.id):
        digest.update(f"{a.id}\0{a.content_hash}\0{_rel(a.path, kb_dir)}\n".encode())
    return digest.hexdigest()


def _rel(path: Path, kb_dir: Path) -> str:
    try:
        return path.relative_to(kb_dir).as_posix()
    except ValueError:
        return path.as_posix()


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
) -> IndexSummary:
    """Index ``kb_dir`` into a new version under ``index_dir`` and publish it.

    The dense index is exact up to ``approximate_above`` chunks and approximate (IVF) above
    (``indexer.dense``).

    Returns an ``IndexSummary``. Raises ``ArticleError`` for the first invalid article (unless
    ``skip_invalid``), ``FileNotFoundError`` if ``kb_dir`` is missing, and ``store.IndexLocked``
    if another writer holds the index.
    """
    started = time.perf_counter()
    loaded = load_articles(kb_dir, skip_invalid=skip_invalid)
    skipped = [str(err) for err in loaded.errors]
    for message in skipped:
        logger.warning("skipped invalid article %s", message)
    articles = loaded.articles
    signature = _signature(articles, kb_dir)

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
            written = _write_version(
                tmp,
                articles,
                kb_dir,
                embedder,
                prev_dir if reusable else None,
                chunk_max_chars,
                progress,
                approximate_above,
            )
            store.Manifest(
                version=name,
                model=embedder.name,
                dim=written.dim,
                chunk_max_chars=chunk_max_chars,
                articles=len(articles),
                chunks=written.chunks,
                created_at=time.time(),
                signature=signature,
            ).write(tmp)
            store.publish(index_dir, tmp, name)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        store.prune(index_dir, keep_versions)

    seconds = time.perf_counter() - started
    embed_seconds = written.embed_seconds
    result = IndexSummary(
        articles=len(articles),
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
) -> _Written:
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

        pieces: list[tuple[Article, Chunk]] = [
            (a, c) for a in todo for c in chunk(a, max_chars=chunk_max_chars)
        ]
        texts = [c.embedding_text(a.title) for a, c in pieces]
        embed_started = time.perf_counter()
        done = 0

        def tick(n: int) -> None:
            nonlocal done
            done += n
            if progress is not None:
                progress(done, len(texts))

        if progress is not None:
            progress(0, len(texts))
        vectors = embedder.embed(texts, progress=tick) if texts else None
        embed_seconds = time.perf_counter() - embed_started

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
        examples = conn.execute(
            "SELECT id, article_id, text, audience FROM chunks "
            "WHERE kind IN ('title', 'question') ORDER BY id"
        ).fetchall()
    finally:
        conn.close()
    _write_classifier(folder, prev_dir, dense, examples, classifier.FILE)
    public = [r for r in examples if r[3] == "public"]
    if len(public) < len(examples):  # internal articles exist: public ones get their own
        _write_classifier(folder, prev_dir, dense, public, classifier.PUBLIC_FILE)
    if dense.ntotal != total_chunks:  # pragma: no cover - a bug, never a user error
        raise RuntimeError(f"index mismatch: {dense.ntotal} vectors for {total_chunks} chunks")
    faiss.write_index(dense, str(folder / "dense.faiss"))
    return _Written(
        chunks=int(total_chunks),
        reembedded=len(todo),
        removed=removed,
        embedded=len(texts),
        embed_seconds=embed_seconds,
        dim=int(dense.d),
    )


def _write_classifier(folder: Path, prev_dir: Path | None, dense, examples,  # type: ignore[no-untyped-def]
                      name: str) -> None:
    """Train the article classifier ``name`` on ``examples`` (rows of chunk id, article id,
    text), or copy the previous version's when it was trained on the same examples."""
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
    model = classifier.fit(questions, labels, lambda at: dense.reconstruct_batch(rows[at]),
                           prev_dir / name if prev_dir is not None else None)
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
