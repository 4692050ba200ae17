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

import bisect
import hashlib
import json
import logging
import os
import queue
import re
import sqlite3
import stat as stat_module
import threading
import time
from array import array
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

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
CACHE_FORMAT = 2  # of the parse cache; bump when ``Article``, the validation or the rows change
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
    return [Path(e.path) for e in _article_entries(kb_dir)]


def _article_entries(kb_dir: Path) -> list[os.DirEntry[str]]:
    """The ``os.scandir`` entries of every article file below ``kb_dir``, in path order (by
    path components, as a sort of the paths with the separator below every character gives).

    One ``scandir`` per folder, each folder's names sorted and folders visited in place: no
    pathlib objects, no string joins and no global sort, which cost seconds at 100,000
    articles, where every edit lists the whole folder. Hidden and ``_`` folders are pruned;
    symlinked folders are not followed and unreadable sub-folders are skipped (as
    ``os.walk``)."""
    if not kb_dir.is_dir():
        raise FileNotFoundError(f"knowledge-base folder not found: {kb_dir}")
    found: list[os.DirEntry[str]] = []

    def visit(folder: str) -> None:
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=_entry_name)
        except OSError:
            if folder == root:
                raise
            return
        for entry in entries:
            name = entry.name
            if name.startswith(("_", ".")):
                continue
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if is_dir:
                if not entry.is_symlink():
                    visit(entry.path)
            elif name.endswith(".md"):
                found.append(entry)

    root = str(kb_dir)
    visit(root)
    return found


def _entry_name(entry: os.DirEntry[str]) -> str:
    return entry.name


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


class Listed(NamedTuple):
    """A valid article as a scan lists it: what tells versions apart, without its text. (A
    named tuple: a scan builds 100,000 of them, and a frozen dataclass's ``__init__`` took
    three times as long.)"""

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
                  cache: Path | None = None,
                  changed: Iterable[Path | str] | None = None) -> Scan:
    """``load_articles`` without building the ``Article`` of files the cache vouches for:
    at 100,000 articles an edit then costs a ``stat`` per file, not a parse (or even a read
    of the cached text). The same validation and errors as ``load_articles``.

    ``changed`` (with ``cache``): the files an editor's tool reports written, created or
    deleted since the previous scan. The folder is then not walked and no other file is
    looked at: the cached listing is taken as it is, except for these files and those the
    cache cannot vouch for (broken articles, files too recent to trust), which are checked
    again. A changed path outside ``kb_dir`` or that is no article (a draft, not ``.md``)
    is ignored, as a walk would ignore it. Without a cached listing (a first scan, a
    corrupt or older cache), or when a reported path is a folder, it is a full scan."""
    parsed = _ParseCache(cache) if cache is not None else None
    candidates: Iterable[_Candidate] | None = None
    if changed is not None and parsed is not None and len(parsed):
        if not kb_dir.is_dir():
            raise FileNotFoundError(f"knowledge-base folder not found: {kb_dir}")
        candidates = parsed.reported(kb_dir, changed)
    if candidates is None:
        candidates = _walked(kb_dir, parsed)
    listed: list[Listed] = []
    fresh: dict[str, Article] = {}
    errors: list[ArticleError] = []
    files: list[str] = []
    complete = False
    try:
        for path, known, st in candidates:
            files.append(path)
            if known is not None:
                listed.append(known)
                continue
            try:
                article = parse_article(Path(path))
            except ArticleError as exc:
                if parsed is not None:
                    parsed.put(path, None)
                if not skip_invalid:
                    raise
                errors.append(exc)
                continue
            if parsed is not None:
                parsed.put(path, st, article)
            fresh[path] = article
            listed.append(Listed(article.id, article.content_hash, path))
        complete = True
    finally:
        if parsed is not None:
            parsed.save(files, complete)
    scan = Scan(listed, errors, fresh, parsed)
    seen: dict[str, int] = {}
    for item in listed:
        seen[item.id] = seen.get(item.id, 0) + 1
    repeated = [scan.article(e) for e in listed if seen[e.id] > 1]
    duplicates = check_unique_ids(repeated)
    if duplicates and not skip_invalid:
        raise duplicates[0]
    bad = {str(err.path) for err in duplicates}
    scan.listed = [e for e in listed if e.path not in bad]
    scan.errors.extend(duplicates)
    return scan



def watch_changes(kb_dir: Path, *, rescan_s: float = 600.0, debounce_ms: int = 200,
                  stop_event: threading.Event | None = None
                  ) -> Generator[list[Path] | None, None, None]:
    """What to reindex while ``kb_dir`` changes, for ``frontline index --watch``: ``None`` (a
    full scan) first and then every ``rescan_s`` seconds, and in between, per batch of file
    events (``watchfiles``), the paths created, written or deleted (a rename: both), sorted,
    for ``scan_articles(changed=...)``. A folder event makes that scan a walk.

    The periodic full scan is the overflow fallback: ``watchfiles`` drops the operating
    system's "events were lost" notices (inotify's queue overflow), so a lost event is found
    by the next scan, never by the watcher. The watcher starts before the first ``None``,
    so edits made during that first scan are reported too. Stops when ``stop_event`` is set
    (or the consumer closes the generator); ``FileNotFoundError`` if the folder is missing,
    and the watcher's own errors are raised here."""
    import watchfiles

    if not kb_dir.is_dir():
        raise FileNotFoundError(f"knowledge-base folder not found: {kb_dir}")
    batches: queue.Queue[set[tuple[Any, str]] | BaseException] = queue.Queue()
    stop = threading.Event()

    def run() -> None:
        try:
            for changes in watchfiles.watch(kb_dir, watch_filter=None, debounce=debounce_ms,
                                            step=50, stop_event=stop, raise_interrupt=False):
                batches.put(changes)
        except BaseException as exc:  # handed to the consumer
            batches.put(exc)

    thread = threading.Thread(target=run, name="kb-watch", daemon=True)
    thread.start()
    try:
        time.sleep(0.2)  # the watcher's setup, before the scan it backs up
        yield None
        scanned = time.monotonic()
        while stop_event is None or not stop_event.is_set():
            try:
                batch = batches.get(timeout=0.5)
            except queue.Empty:
                batch = set()
            if isinstance(batch, BaseException):
                raise batch
            if time.monotonic() - scanned >= rescan_s:
                while not batches.empty():  # what the scan sees anyway
                    if isinstance(item := batches.get(), BaseException):
                        raise item
                scanned = time.monotonic()
                yield None
                continue
            if batch:
                yield sorted({Path(path) for _, path in batch})
    finally:
        stop.set()
        thread.join(timeout=5)


# (path, its Listed when the cache vouches for it, the stat to cache it with when parsed)
_Candidate = tuple[str, "Listed | None", "os.stat_result | None"]


def _walked(kb_dir: Path, parsed: _ParseCache | None) -> Iterator[_Candidate]:
    """Every article file of the folder, checked against the cache by its stat."""
    entries = _article_entries(kb_dir)
    if parsed is None:
        for entry in entries:
            yield entry.path, None, None
        return
    check, stat = parsed.check, os.stat
    for entry in entries:
        path = entry.path
        try:
            st = stat(path)  # measured no slower than DirEntry.stat(), which stats again
        except FileNotFoundError:  # deleted since the walk listed it
            continue
        yield path, check(path, st), st


def _candidate_key(candidate: _Candidate) -> str:
    return _path_key(candidate[0])


def _path_key(path: str) -> str:
    """Path order: by components (the separator sorts before every other character)."""
    return path.replace(os.sep, "\0")


_CACHE_SCHEMA = """
CREATE TABLE IF NOT EXISTS parsed (
    path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    ctime_ns INTEGER NOT NULL, ino INTEGER NOT NULL, id TEXT NOT NULL, title TEXT NOT NULL,
    audience TEXT NOT NULL, body TEXT NOT NULL, tags TEXT NOT NULL, url TEXT,
    questions TEXT NOT NULL, body_line INTEGER NOT NULL, content_hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS listing (
    one INTEGER PRIMARY KEY CHECK (one = 1), paths TEXT NOT NULL, ids TEXT NOT NULL,
    hashes TEXT NOT NULL, stats BLOB NOT NULL
);
"""
_UNTRUSTED = -1  # the size of a row that vouches for nothing: a broken or too recent file


class _ParseCache:
    """Validated articles by path, each with the ``stat`` (size, mtime, ctime, inode, as
    integers) it was parsed from, and the paths of broken and too recent files (to be read
    again, ``_UNTRUSTED``). An article's fields are rows of ``parsed``, read when asked for;
    what a scan needs up front (every path, stat, id and hash, in path order) is one row of
    ``listing``, written in the same transaction: NUL-joined columns and the stats as
    packed 64-bit integers, read in milliseconds at 100,000 articles, where 100,000 SQLite
    rows cost half a second."""

    def __init__(self, file: Path) -> None:
        self.file = file
        self.trusted_ns = time.time_ns() - int(RACY_S * 1e9)  # files changed before this
        self.paths: list[str] = []  # path order
        self.ids: list[str] = []
        self.hashes: list[str] = []
        self.stats = array("q")  # size, mtime_ns, ctime_ns, inode of each path, flat
        self.full: dict[str, tuple] = {}  # type: ignore[type-arg]
        self.fresh: dict[str, tuple] = {}  # type: ignore[type-arg]
        self.corrupt = False
        try:
            conn = sqlite3.connect(file, timeout=10)
            try:
                if conn.execute("PRAGMA user_version").fetchone()[0] == CACHE_FORMAT:
                    row = conn.execute("SELECT paths, ids, hashes, stats FROM listing").fetchone()
                    if row is not None and row[0]:
                        self.paths, self.ids, self.hashes = (c.split("\0") for c in row[:3])
                        self.stats.frombytes(row[3])
            finally:
                conn.close()
        except sqlite3.Error:
            self.paths, self.corrupt = [], True  # unreadable: rebuilt by save()
        if not (len(self.paths) == len(self.ids) == len(self.hashes) == len(self.stats) // 4):
            self.paths, self.ids, self.hashes, self.stats = [], [], [], array("q")
        self.pos = dict(zip(self.paths, range(len(self.paths)), strict=True))

    def __len__(self) -> int:
        return len(self.paths)

    def check(self, path: str, st: os.stat_result) -> Listed | None:
        """The cached entry of ``path`` when ``st`` still matches its row, else None."""
        i = self.pos.get(path)
        if i is None:
            return None
        stats, at = self.stats, 4 * i
        if stats[at] != st.st_size or stats[at + 1] != st.st_mtime_ns \
                or stats[at + 2] != st.st_ctime_ns or stats[at + 3] != st.st_ino:
            return None
        # ctime moves with every write (and with a touch back to an old mtime)
        if st.st_ctime_ns > self.trusted_ns or st.st_mtime_ns > self.trusted_ns:
            return None  # too recent to trust the timestamps
        return Listed(self.ids[i], self.hashes[i], path)

    def reported(self, kb_dir: Path, changed: Iterable[Path | str]) -> list[_Candidate] | None:
        """A scan's candidates from the cached listing and a change list (``scan_articles``):
        the reported files and the rows that vouch for nothing are checked, the rest listed
        as cached, in path order. None when a reported path is a folder (created, moved or
        deleted with its articles): only a walk lists what it held."""
        root = str(kb_dir)
        base = os.path.abspath(root)
        named: set[str] = set()
        for item in changed:
            rel = os.path.relpath(os.path.abspath(item), base)
            parts = rel.split(os.sep)
            if parts[0] == os.pardir:
                continue  # outside the folder
            if rel == ".":
                return None
            if any(p.startswith(("_", ".")) for p in parts):
                continue  # a draft or hidden: a walk does not list it
            path = os.path.join(root, rel)  # as the walk spells it
            if os.path.isdir(path):
                return None
            if not parts[-1].endswith(".md"):
                folder = path + os.sep
                if any(p.startswith(folder) for p in self.paths):
                    return None  # a folder of cached articles, gone
                continue
            named.add(path)
        paths, stats = self.paths, self.stats
        checked = set(named)
        sizes = stats[0::4]
        if _UNTRUSTED in sizes:
            checked.update(paths[i] for i, size in enumerate(sizes) if size == _UNTRUSTED)
        # The vouched rows in one pass (path order kept), then the few checked paths, each
        # statted and put in its place by bisection.
        found: list[_Candidate] = [
            (path, Listed(aid, digest, path), None)
            for path, aid, digest in zip(paths, self.ids, self.hashes, strict=True)
            if path not in checked]
        for path in sorted(checked, key=_path_key):
            try:
                st = os.stat(path)
            except (FileNotFoundError, NotADirectoryError):
                continue  # deleted (or renamed away)
            if stat_module.S_ISDIR(st.st_mode):
                continue
            at = bisect.bisect_left(found, _path_key(path), key=_candidate_key)
            found.insert(at, (path, self.check(path, st), st))
        return found

    def read_all(self) -> None:
        """Read every cached text at once (a whole-KB load)."""
        if len(self.full) >= len(self.paths):
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
        """The cached ``Article`` of a path the cache vouched for (None: not cached)."""
        key = str(path)
        if key not in self.full:
            self._read("SELECT * FROM parsed WHERE path = ?", (key,))
        row, i = self.full.get(key), self.pos.get(key)
        if row is None or i is None or list(row[:4]) != self.stats[4 * i:4 * i + 4].tolist() \
                or row[0] == _UNTRUSTED:
            return None
        aid, title, audience, body, tags, url, questions, body_line, digest = row[4:]
        return Article(id=aid, title=title, audience=audience, body=body, path=path,
                       tags=tuple(json.loads(tags)), url=url,
                       questions=tuple(json.loads(questions)), body_line=body_line,
                       content_hash=digest)

    def put(self, path: str, st: os.stat_result | None, article: Article | None = None
            ) -> None:
        """Record a parsed file: ``article`` with its stat, or (a broken file, or one changed
        too recently to trust its stat) a row that makes the next scan read it again."""
        if article is None or st is None or st.st_ctime_ns > self.trusted_ns \
                or st.st_mtime_ns > self.trusted_ns:
            self.fresh[path] = (path, _UNTRUSTED, 0, 0, 0, "", "", "", "", "[]", None, "[]",
                                0, "")
            return
        self.fresh[path] = (path, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino,
                            article.id, article.title, article.audience, article.body,
                            json.dumps(list(article.tags)), article.url,
                            json.dumps(list(article.questions)), article.body_line,
                            article.content_hash)

    def save(self, files: list[str], complete: bool = True) -> None:
        """Record the newly parsed files and forget files that are gone: ``files`` is every
        article file of the scan, in path order, or (``complete`` False: a scan stopped by a
        broken article) the files it got to, and the listing keeps every other path (best
        effort: a cache that cannot be written only costs the next load its speed)."""
        if not complete:
            files = sorted(set(self.paths).union(files), key=_path_key)
        same = files == self.paths  # the same files (an edit): rows replaced in place
        present = set() if same else set(files)
        gone = [] if same else [(p,) for p in self.paths if p not in present]
        if not self.fresh and not gone and self.paths:
            return
        pos, fresh = self.pos, self.fresh
        if same:
            paths, ids, hashes, stats = files, self.ids, self.hashes, self.stats
            for path, row in fresh.items():
                i = pos[path]
                stats[4 * i:4 * i + 4] = array("q", row[1:5])
                ids[i], hashes[i] = row[5], row[13]
        else:
            paths, ids, hashes, stats = [], [], [], array("q")
            for path in files:
                if (new := fresh.get(path)) is not None:
                    stats.extend(new[1:5])
                    ids.append(new[5])
                    hashes.append(new[13])
                elif (j := pos.get(path)) is not None:
                    stats.extend(self.stats[4 * j:4 * j + 4])
                    ids.append(self.ids[j])
                    hashes.append(self.hashes[j])
                else:  # pragma: no cover - every checked file is put
                    continue
                paths.append(path)
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            if self.corrupt:
                self.file.unlink(missing_ok=True)
            conn = sqlite3.connect(self.file, timeout=10)
            try:
                if conn.execute("PRAGMA user_version").fetchone()[0] != CACHE_FORMAT:
                    conn.executescript("DROP TABLE IF EXISTS parsed; DROP TABLE IF EXISTS listing;")
                conn.executescript(_CACHE_SCHEMA)
                with conn:
                    conn.executemany("DELETE FROM parsed WHERE path = ?", gone)
                    conn.executemany(
                        f"INSERT OR REPLACE INTO parsed VALUES ({','.join('?' * 14)})",
                        fresh.values())
                    conn.execute(
                        "INSERT OR REPLACE INTO listing VALUES (1, ?, ?, ?, ?)",
                        ("\0".join(paths), "\0".join(ids), "\0".join(hashes),
                         stats.tobytes()))
                    conn.execute(f"PRAGMA user_version = {CACHE_FORMAT}")
            finally:
                conn.close()
        except (sqlite3.Error, OSError) as exc:
            logger.warning("cannot write the parse cache %s: %s", self.file, exc)
