"""Index versions on disk.

::

    var/index/
      CURRENT                 name of the published version (replaced atomically)
      .lock                   held by the one writer at a time (CLI or service)
      versions/<name>/        one complete version:
        meta.sqlite           articles, chunks, and the FTS5 lexical indexes (all, public)
        dense.faiss           inner-product FAISS index (exact or IVF), ids = chunk rowids
        manifest.json         model, dimension, chunking, counts, signature
      versions/.tmp-<name>/   a version being written; never read, removed by the next writer
      parse-cache/            validated articles by file stat (``articles.load_articles``)

Above a size (``build_index(delta_above=...)``) an edit publishes a *delta* version: its
manifest names a full ``base`` version, and its own files hold only the articles changed
since that base (rows, FTS5 rows, terms, a flat FAISS index of their vectors, classifier rows)
plus ``tombstones``, the base's articles that are gone or replaced. A delta is complete over
its base (never over another delta) and, like every version, immutable; ``prune`` keeps the
base of every version it keeps.

A reader only ever follows ``CURRENT``; a writer builds a complete version in a temporary folder,
renames it into place, and only then replaces ``CURRENT``. An interrupted run therefore leaves
the previous version serving.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE articles (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    audience TEXT NOT NULL,
    url TEXT,
    tags TEXT NOT NULL,
    path TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    indexed_at REAL NOT NULL
);
CREATE TABLE chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    article_id TEXT NOT NULL REFERENCES articles(id),
    kind TEXT NOT NULL,
    heading TEXT NOT NULL,
    text TEXT NOT NULL,
    position INTEGER NOT NULL,
    audience TEXT NOT NULL
);
CREATE INDEX chunks_article ON chunks(article_id);
CREATE VIRTUAL TABLE chunks_fts USING fts5(
    text, tokenize = 'porter unicode61 remove_diacritics 2'
);
"""
# The public rows again, in their own FTS5 table: BM25's document frequencies and lengths for
# a public search are then those of public rows only, so an internal article never changes a
# public score (chunks_fts, with every row, serves reps).
PUBLIC_LEXICAL = """
CREATE VIRTUAL TABLE chunks_fts_public USING fts5(
    text, tokenize = 'porter unicode61 remove_diacritics 2'
);
INSERT INTO chunks_fts_public (rowid, text)
    SELECT f.rowid, f.text FROM chunks_fts AS f JOIN chunks AS c ON c.id = f.rowid
    WHERE c.audience = 'public';
"""

CURRENT = "CURRENT"
LOCK = ".lock"
TMP_PREFIX = ".tmp-"


class IndexLocked(RuntimeError):
    """Another process is writing the index right now."""


@dataclass(frozen=True)
class Manifest:
    version: str
    model: str
    dim: int
    chunk_max_chars: int
    articles: int
    chunks: int
    created_at: float
    signature: str  # digest of (id, content hash, path) of every article
    base: str | None = None  # a delta version: the full version it extends

    def write(self, folder: Path) -> None:
        (folder / "manifest.json").write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def read(cls, folder: Path) -> Manifest:
        return cls(**json.loads((folder / "manifest.json").read_text()))


def versions_dir(index_dir: Path) -> Path:
    return index_dir / "versions"


def current_version(index_dir: Path) -> str | None:
    """Name of the published version, or None when nothing was published yet."""
    try:
        name = (index_dir / CURRENT).read_text().strip()
    except FileNotFoundError:
        return None
    return name or None


def version_path(index_dir: Path, name: str) -> Path:
    return versions_dir(index_dir) / name


def new_version_name(index_dir: Path) -> str:
    """``v<sequence>-<UTC time>``: names sort in publication order (call under the writer lock)."""
    root = versions_dir(index_dir)
    numbers = [0]
    if root.is_dir():
        for path in root.iterdir():
            match = re.match(r"^(?:\.tmp-)?v(\d+)-", path.name)
            if match:
                numbers.append(int(match.group(1)))
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    return f"v{max(numbers) + 1:06d}-{stamp}"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(index_dir: Path, tmp: Path, name: str) -> Path:
    """Move a complete temporary version into place and point ``CURRENT`` at it."""
    final = version_path(index_dir, name)
    tmp.rename(final)
    _fsync_dir(final.parent)
    pointer_tmp = index_dir / f"{CURRENT}.{os.getpid()}.tmp"
    with open(pointer_tmp, "w") as fh:
        fh.write(name + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(pointer_tmp, index_dir / CURRENT)
    _fsync_dir(index_dir)
    return final


def prune(index_dir: Path, keep: int) -> list[str]:
    """Remove all but the newest ``keep`` versions (never the published one) and stale temps."""
    root = versions_dir(index_dir)
    if not root.is_dir():
        return []
    current = current_version(index_dir)
    removed = []
    for tmp in root.glob(f"{TMP_PREFIX}*"):
        shutil.rmtree(tmp, ignore_errors=True)
    names = sorted(p.name for p in root.iterdir() if p.is_dir())
    kept = set(names[max(0, len(names) - keep):]) | ({current} if current else set())
    kept |= {b for b in (base_of(root / name) for name in list(kept)) if b is not None}
    for name in names:
        if name not in kept:
            shutil.rmtree(root / name, ignore_errors=True)
            removed.append(name)
    return removed


def base_of(folder: Path) -> str | None:
    """The full version a delta version extends (None: a full version, or unreadable)."""
    try:
        return Manifest.read(folder).base
    except (OSError, ValueError, TypeError):
        return None


@contextlib.contextmanager
def writer_lock(index_dir: Path, timeout: float = 0.0) -> Iterator[None]:
    """Hold the single-writer lock; raises ``IndexLocked`` if it is not free within ``timeout``."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / LOCK, "a+") as fh:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise IndexLocked(
                        f"another reindex of {index_dir} is running; try again when it ends"
                    ) from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def has_table(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (name,)).fetchone() \
        is not None


# Each lexical table's document frequencies (how many rows hold a term), read by a search to
# bound its candidate set: virtual tables over the FTS5 index, no storage of their own.
LEXICAL_VOCABULARY = """
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts_vocab USING fts5vocab(chunks_fts, 'row');
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts_public_vocab
    USING fts5vocab(chunks_fts_public, 'row');
"""


def ensure_public_lexical(conn: sqlite3.Connection) -> None:
    """Add the public lexical table (filled from the full one) and the vocabulary tables to a
    version written before they existed."""
    if not has_table(conn, "chunks_fts_public"):
        conn.executescript(PUBLIC_LEXICAL)
    conn.executescript(LEXICAL_VOCABULARY)


def connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    else:
        conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    return conn
