"""Knowledge-base articles: Markdown files with YAML front matter.

``load_articles(path)`` reads every ``*.md`` below a folder (files and folders whose names start
with ``_`` or ``.`` are drafts and are not articles) and validates them. A broken article is never
skipped silently: it raises ``ArticleError`` naming the file and line, or, with
``skip_invalid=True``, is reported in the returned ``LoadResult.errors``.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

try:  # the C loader is ~10x faster on large knowledge bases
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

AUDIENCES = ("public", "internal")
KNOWN_KEYS = {"id", "title", "audience", "tags", "url", "questions"}
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
MAX_QUESTIONS = 500


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
    if not kb_dir.is_dir():
        raise FileNotFoundError(f"knowledge-base folder not found: {kb_dir}")
    # os.walk on strings, pruning hidden and "_" folders as it goes: pathlib's rglob, sort and
    # relative_to cost seconds at 100,000 articles, where every edit scans the whole folder.
    found: list[str] = []
    for folder, dirs, names in os.walk(kb_dir):
        dirs[:] = [d for d in dirs if not d.startswith(("_", "."))]
        found += [os.path.join(folder, n) for n in names
                  if n.endswith(".md") and not n.startswith(("_", "."))]
    return [Path(f) for f in sorted(found, key=lambda f: f.split(os.sep))]


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


def load_articles(kb_dir: Path, *, skip_invalid: bool = False) -> LoadResult:
    """Load and validate every article below ``kb_dir``.

    Returns the valid articles (path order) and, with ``skip_invalid``, the errors of the rest.
    Raises ``ArticleError`` for the first broken article unless ``skip_invalid`` is set, and
    ``FileNotFoundError`` if the folder does not exist.
    """
    result = LoadResult()
    for path in article_files(kb_dir):
        try:
            result.articles.append(parse_article(path))
        except ArticleError as exc:
            if not skip_invalid:
                raise
            result.errors.append(exc)
    duplicates = check_unique_ids(result.articles)
    if duplicates and not skip_invalid:
        raise duplicates[0]
    bad = {err.path for err in duplicates}
    result.articles = [a for a in result.articles if a.path not in bad]
    result.errors.extend(duplicates)
    return result
