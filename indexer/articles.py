"""Knowledge-base articles: Markdown files with YAML front matter.

``load_articles(path)`` reads every ``*.md`` below a folder (files and folders whose names start
with ``_`` or ``.`` are drafts and are not articles) and validates them. A broken article is never
skipped silently: it raises ``ArticleError`` naming the file and line, or, with
``skip_invalid=True``, is reported in the returned ``LoadResult.errors``.

With ``cache=<file>`` (the indexer keeps one per KB folder in the index folder) a file whose
path, size, mtime, ctime and inode all match what the previous load recorded is not re-read
or re-parsed: its validated fields come from the cache. Only valid articles are cached, so a
broken one is parsed, and reported with file and line, every time; duplicate ids are checked
over all articles as before. A file changed within ``RACY_S`` seconds of a load is not cached
(a second edit of the same size inside one timestamp tick would otherwise look unchanged).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

logger = logging.getLogger(__name__)

try:  # the C loader is ~10x faster on large knowledge bases
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

AUDIENCES = ("public", "internal")
KNOWN_KEYS = {"id", "title", "audience", "tags", "url", "questions"}
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
MAX_QUESTIONS = 500
CACHE_FORMAT = 1  # of the parse cache; bump when ``Article`` or the validation changes
RACY_S = 2.0


class ArticleError(ValueError):
    """An article that cannot be indexed; ``str()`` reads ``path:line: message``."""

    def __init__(self, path: Path, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.path = path
        self.line = line
        self.message = message


@dataclass(frozen=True)
class Article:
    id: str
    title: str
    audience: str
    body: str
    path: Path
    tags: tuple[str, ...] = ()
    url: str | None = None
    questions: tuple[str, ...] = ()
    body_line: int = 1  # 1-based line of the first body line in the file
    content_hash: str = ""

    @property
    def public(self) -> bool:
        return self.audience == "public"


@dataclass
class LoadResult:
    articles: list[Article] = field(default_factory=list)
    errors: list[ArticleError] = field(default_factory=list)


def content_hash(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def article_files(kb_dir: Path) -> list[Path]:
    """Every article file below ``kb_dir``, sorted; ``FileNotFoundError`` if it is missing."""
    return [Path(f) for f in _article_paths(kb_dir)]


def _article_paths(kb_dir: Path) -> list[str]:
    if not kb_dir.is_dir():
        raise FileNotFoundError(f"knowledge-base folder not found: {kb_dir}")
    # os.walk on strings, pruning hidden and "_" folders as it goes: pathlib's rglob, sort and
    # relative_to cost seconds at 100,000 articles, where every edit scans the whole folder.
    found: list[str] = []
    for folder, dirs, names in os.walk(kb_dir):
        dirs[:] = [d for d in dirs if not d.startswith(("_", "."))]
        prefix = folder if folder.endswith(os.sep) else folder + os.sep
        found += [prefix + n for n in names  # os.path.join's checks cost ~1 s at 100,000
                  if n.endswith(".md") and not n.startswith(("_", "."))]
    # by path components: the separator sorts before every other character
    return sorted(found, key=lambda f: f.replace(os.sep, "\0"))


def _key_line(front_lines: list[str], key: str, offset: int) -> int:
    """1-based file line of ``key:`` in the front matter, or the front matter's first line."""
    pattern = re.compile(rf"^{re.escape(key)}\s*:")
    for i, line in enumerate(front_lines):
        if pattern.match(line):
            return offset + i
    return offset - 1


def parse_article(path: Path, raw: bytes | None = None) -> Article:
    """Parse and validate one article file.

    Takes the file path (and optionally its bytes, to avoid a second read); returns an
    ``Article``; raises ``ArticleError`` with the file and line for anything a KB editor must fix.
    """
    if raw is None:
        raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ArticleError(path, line, "file is not valid UTF-8") from exc
    text = text.removeprefix("\ufeff")
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise ArticleError(path, 1, "missing front matter: the file must start with a '---' line")
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        raise ArticleError(path, 1, "front matter is not closed by a '---' line") from None
    front_lines = lines[1:end]
    first = 2  # file line of front_lines[0]
    try:
        meta = yaml.load("\n".join(front_lines), Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        # The parser may notice a problem only at the end of the block: clamp to its last line.
        line = first + min(mark.line, max(len(front_lines) - 1, 0)) if mark is not None else first
        problem = getattr(exc, "problem", None) or str(exc)
        raise ArticleError(path, line, f"invalid YAML in front matter: {problem}") from exc
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise ArticleError(path, first, "front matter must be a mapping of keys to values")

    def fail(key: str, message: str) -> ArticleError:
        return ArticleError(path, _key_line(front_lines, key, first), message)

    unknown = sorted(set(map(str, meta)) - KNOWN_KEYS)
    if unknown:
        raise fail(
            unknown[0],
            f"unknown front-matter key {unknown[0]!r} (known: {', '.join(sorted(KNOWN_KEYS))})",
        )

    article_id = meta.get("id", path.stem)
    if not isinstance(article_id, str) or not ID_PATTERN.match(article_id):
        raise fail(
            "id",
            f"invalid id {article_id!r}: use lower-case letters, digits, '-', '_' or '.'",
        )
    title = meta.get("title")
    if not isinstance(title, str) or not title.strip():
        raise fail("title", "missing title: every article needs a non-empty 'title'")
    audience = meta.get("audience", "public")
    if audience not in AUDIENCES:
        raise fail("audience", f"unknown audience {audience!r} (expected public or internal)")
    tags = _string_list(meta.get("tags", []), "tags", fail)
    questions = _string_list(meta.get("questions", []), "questions", fail)
    if len(questions) > MAX_QUESTIONS:
        raise fail("questions", f"too many questions ({len(questions)}; at most {MAX_QUESTIONS})")
    url = meta.get("url")
    if url is not None and (not isinstance(url, str) or not re.match(r"^https?://\S+$", url)):
        raise fail("url", f"invalid url {url!r}: expected an http(s) address")

    body = "\n".join(lines[end + 1 :]).strip()
    body_line = end + 2
    if not body:
        raise ArticleError(path, body_line, "empty body: write the article below the front matter")
    return Article(
        id=article_id,
        title=title.strip(),
        audience=audience,
        body=body,
        path=path,
        tags=tuple(tags),
        url=url,
        questions=tuple(questions),
        body_line=body_line,
        content_hash=content_hash(raw),
    )


def _string_list(value: Any, key: str, fail: Any) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise fail(key, f"'{key}' must be a list of non-empty strings")
    return [v.strip() for v in value]


def check_unique_ids(articles: Iterable[Article]) -> list[ArticleError]:
    """One error per article whose id repeats an earlier one (in path order)."""
    seen: dict[str, Article] = {}
    errors = []
    for article in articles:
        first = seen.setdefault(article.id, article)
        if first is not article:
            raw_lines = article.path.read_text("utf-8").splitlines()
            line = _key_line(raw_lines[1:], "id", 2)  # the file's first line if id is implicit
            errors.append(
                ArticleError(
                    article.path,
                    line,
                    f"duplicate id {article.id!r}: already used by {first.path}",
                )
            )
    return errors


def load_articles(kb_dir: Path, *, skip_invalid: bool = False,
                  cache: Path | None = None) -> LoadResult:
    """Load and validate every article below ``kb_dir``.

    Returns the valid articles (path order) and, with ``skip_invalid``, the errors of the rest.
    Raises ``ArticleError`` for the first broken article unless ``skip_invalid`` is set, and
    ``FileNotFoundError`` if the folder does not exist. ``cache``: a parse-cache file, read and
    updated (see the module docstring); a missing or unreadable one is rebuilt.
    """
    scan = scan_articles(kb_dir, skip_invalid=skip_invalid, cache=cache)
    return LoadResult(scan.articles(), scan.errors)


@dataclass(frozen=True, slots=True)
class Listed:
    """A valid article as a scan lists it: what tells versions apart, without its text."""

    id: str
    content_hash: str
    path: str  # the file, as found below the KB folder


@dataclass
class Scan:
    """Every valid article of a KB folder (``listed``, path order) and the errors of the
    others; ``article`` gives an entry's ``Article``, parsed now or read from the cache."""

    listed: list[Listed]
    errors: list[ArticleError]
    parsed: dict[str, Article]
    cache: _ParseCache | None

    def article(self, entry: Listed) -> Article:
        found = self.parsed.get(entry.path)
        if found is None and self.cache is not None:
            found = self.cache.article(Path(entry.path))
        return found if found is not None else parse_article(Path(entry.path))

    def articles(self) -> list[Article]:
        if self.cache is not None:
            self.cache.read_all()
        return [self.article(e) for e in self.listed]


def scan_articles(kb_dir: Path, *, skip_invalid: bool = False,
                  cache: Path | None = None) -> Scan:
    """``load_articles`` without building the ``Article`` of files the cache vouches for:
    at 100,000 articles an edit then costs a ``stat`` per file, not a parse (or even a read
    of the cached text). The same validation and errors as ``load_articles``."""
    parsed = _ParseCache(cache) if cache is not None else None
    files = _article_paths(kb_dir)
    listed: list[Listed] = []
    fresh: dict[str, Article] = {}
    errors: list[ArticleError] = []
    try:
        for path in files:
            known = parsed.listed(path) if parsed is not None else None
            if known is not None:
                listed.append(known)
                continue
            try:
                article = parse_article(Path(path))
            except ArticleError as exc:
                if not skip_invalid:
                    raise
                errors.append(exc)
                continue
            if parsed is not None:
                parsed.put(article)
            fresh[path] = article
            listed.append(Listed(article.id, article.content_hash, path))
    finally:
        if parsed is not None:
            parsed.save(files)
    scan = Scan(listed, errors, fresh, parsed)
    seen: dict[str, int] = {}
    for entry in listed:
        seen[entry.id] = seen.get(entry.id, 0) + 1
    repeated = [scan.article(e) for e in listed if seen[e.id] > 1]
    duplicates = check_unique_ids(repeated)
    if duplicates and not skip_invalid:
        raise duplicates[0]
    bad = {str(err.path) for err in duplicates}
    scan.listed = [e for e in listed if e.path not in bad]
    scan.errors.extend(duplicates)
    return scan


_CACHE_SCHEMA = """
CREATE TABLE IF NOT EXISTS parsed (
    path TEXT PRIMARY KEY, stat TEXT NOT NULL, id TEXT NOT NULL, title TEXT NOT NULL,
    audience TEXT NOT NULL, body TEXT NOT NULL, tags TEXT NOT NULL, url TEXT,
    questions TEXT NOT NULL, body_line INTEGER NOT NULL, content_hash TEXT NOT NULL
);
"""


class _ParseCache:
    """Validated articles by path, each with the ``stat`` it was parsed from. Only paths,
    stats, ids and hashes are read up front; an article's text when it is asked for."""

    def __init__(self, file: Path) -> None:
        self.file = file
        self.trusted_ns = time.time_ns() - int(RACY_S * 1e9)  # files changed before this
        self.rows: dict[str, tuple[str, str, str]] = {}  # path -> (stat, id, content hash)
        self.full: dict[str, tuple] = {}  # type: ignore[type-arg]
        self.fresh: list[tuple] = []  # type: ignore[type-arg]
        self.stats: dict[str, str] = {}
        self.corrupt = False
        try:
            conn = sqlite3.connect(file, timeout=10)
            try:
                if conn.execute("PRAGMA user_version").fetchone()[0] == CACHE_FORMAT:
                    self.rows = {r[0]: r[1:] for r in conn.execute(
                        "SELECT path, stat, id, content_hash FROM parsed")}
            finally:
                conn.close()
        except sqlite3.Error:
            self.rows, self.corrupt = {}, True  # unreadable: rebuilt by save()

    def _stat(self, path: str) -> str | None:
        st = os.stat(path)
        # ctime moves with every write (and with a touch back to an old mtime)
        if st.st_ctime_ns > self.trusted_ns or st.st_mtime_ns > self.trusted_ns:
            return None  # too recent to trust the timestamps
        return f"{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}"

    def listed(self, path: str) -> Listed | None:
        """The cached entry of ``path`` when its stat still matches, else None."""
        stat = self._stat(path)
        if stat is None:
            return None
        self.stats[path] = stat
        row = self.rows.get(path)
        if row is None or row[0] != stat:
            return None
        return Listed(row[1], row[2], path)

    def read_all(self) -> None:
        """Read every cached text at once (a whole-KB load)."""
        if len(self.full) >= len(self.rows):
            return
        self._read("SELECT * FROM parsed", ())

    def _read(self, sql: str, args: tuple) -> None:  # type: ignore[type-arg]
        try:
            conn = sqlite3.connect(self.file, timeout=10)
            try:
                self.full.update((r[0], r[1:]) for r in conn.execute(sql, args))
            finally:
                conn.close()
        except sqlite3.Error:
            pass  # parsed again by the caller

    def article(self, path: Path) -> Article | None:
        """The cached ``Article`` of a path ``listed`` vouched for (None: not cached)."""
        key = str(path)
        if key not in self.full:
            self._read("SELECT * FROM parsed WHERE path = ?", (key,))
        row = self.full.get(key)
        if row is None or row[0] != self.rows.get(key, ("",))[0]:
            return None
        aid, title, audience, body, tags, url, questions, body_line, digest = row[1:]
        return Article(id=aid, title=title, audience=audience, body=body, path=path,
                       tags=tuple(json.loads(tags)), url=url,
                       questions=tuple(json.loads(questions)), body_line=body_line,
                       content_hash=digest)

    def put(self, article: Article) -> None:
        stat = self.stats.get(str(article.path))
        if stat is None:
            return
        self.fresh.append((str(article.path), stat, article.id, article.title,
                           article.audience, article.body, json.dumps(list(article.tags)),
                           article.url, json.dumps(list(article.questions)),
                           article.body_line, article.content_hash))

    def save(self, files: list[str]) -> None:
        """Record the newly parsed articles and forget files that are gone (best effort: a
        cache that cannot be written only costs the next load its speed)."""
        present = set(files)
        gone = [(p,) for p in self.rows if p not in present]
        if not self.fresh and not gone and self.rows:
            return
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            if self.corrupt:
                self.file.unlink(missing_ok=True)
            conn = sqlite3.connect(self.file, timeout=10)
            try:
                if conn.execute("PRAGMA user_version").fetchone()[0] != CACHE_FORMAT:
                    conn.execute("DROP TABLE IF EXISTS parsed")
                conn.executescript(_CACHE_SCHEMA)
                with conn:
                    conn.executemany("DELETE FROM parsed WHERE path = ?", gone)
                    conn.executemany(
                        f"INSERT OR REPLACE INTO parsed VALUES ({','.join('?' * 11)})",
                        self.fresh)
                    conn.execute(f"PRAGMA user_version = {CACHE_FORMAT}")
            finally:
                conn.close()
        except (sqlite3.Error, OSError) as exc:
            logger.warning("cannot write the parse cache %s: %s", self.file, exc)
