"""Properties of the article parser and the chunker, over generated input (Hypothesis).

* any bytes or text give an ``Article`` or an ``ArticleError`` that names a line of the file —
  never another exception;
* the chunker's section entries cover the body (every non-space character, in order, headings
  aside) and each entry stays within the limit.
"""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

from indexer.articles import Article, ArticleError, parse_article
from indexer.chunking import chunk

PROPERTY = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
PATH = Path("kb/generated-article.md")

# Front-matter lines that are sometimes right and often wrong, to reach past the YAML parser
# into every check of the keys.
KEYS = st.sampled_from(["id", "title", "audience", "tags", "url", "questions", "colour", "? [a]",
                        "&a id", "*a"])
VALUES = st.one_of(
    st.sampled_from(["reset-password", "Reset your password", "public", "internal", "[a, b]",
                     "[]", "{}", "https://help.example.com/x", "ftp://x", "null", "42", "''",
                     "'unclosed", "\"x\\", "|", "[[[[", "*b", "!!python/object:os.system",
                     "\t", ":", "-", "~", "2024-01-01", "yes", "@", "[a, '']", "Bad ID"]),
    st.text(max_size=30),
)
FRONT_LINE = st.one_of(st.builds(lambda k, v: f"{k}: {v}", KEYS, VALUES),
                       st.sampled_from(["  - a question", "  - ", "questions:", "---", "...",
                                        "- x", ""]),
                       st.text(max_size=40))
ARTICLE_TEXT = st.builds(
    lambda title, front, close, body: "\n".join(
        ["---", *title, *front, *(["---"] if close else []), *body]),
    st.lists(st.just("title: A title"), max_size=1), st.lists(FRONT_LINE, max_size=6),
    st.sampled_from([True, True, True, False]), st.lists(st.text(max_size=60), max_size=5),
)


def _check(raw: bytes) -> None:
    try:
        article = parse_article(PATH, raw)
    except ArticleError as exc:
        lines = max(1, raw.count(b"\n") + 1)
        assert 1 <= exc.line <= lines + 1, f"line {exc.line} outside a file of {lines} lines"
        assert str(exc).startswith(f"{PATH}:{exc.line}: ")
        assert exc.message.strip()
    else:
        assert isinstance(article, Article)
        assert article.title.strip() and article.body.strip()
        assert article.audience in ("public", "internal")


@PROPERTY
@given(st.binary(max_size=400))
def test_any_bytes_give_an_article_or_an_error_with_a_line(raw: bytes) -> None:
    _check(raw)


@PROPERTY
@given(ARTICLE_TEXT)
def test_any_front_matter_gives_an_article_or_an_error_with_a_line(text: str) -> None:
    _check(text.encode("utf-8", "surrogatepass"))


def test_the_generated_front_matter_reaches_valid_articles_and_each_check() -> None:
    """The strategy is not only noise: it finds articles that parse and each kind of error."""
    def outcome(text: str) -> str:
        try:
            parse_article(PATH, text.encode("utf-8", "surrogatepass"))
        except ArticleError as exc:
            return exc.message
        return "ok"

    for wanted in ("ok", "invalid YAML", "unknown front-matter key", "invalid id",
                   "missing title", "empty body"):
        find(ARTICLE_TEXT, lambda t, w=wanted: outcome(t).startswith(w),  # type: ignore[misc]
             settings=settings(max_examples=2000, database=None))


# -- chunker ---------------------------------------------------------------------------------
# Body words: no '#', '`' or '~', so no line of them is a heading or a code fence.
WORD = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="#`~"),
               min_size=1, max_size=120)
SEPARATORS = [" ", ". ", "\n", "! "] * 3
PARAGRAPH = st.lists(WORD, min_size=1, max_size=12).map(
    lambda words: "".join(w + sep for w, sep in zip(words, SEPARATORS, strict=False)))
HEADING = st.builds(lambda level, title: f"{'#' * level} {title}", st.integers(1, 6),
                    st.from_regex(r"[A-Za-z][A-Za-z ]{0,20}[A-Za-z]", fullmatch=True))
BODY = st.lists(st.tuples(st.one_of(st.none(), HEADING), st.lists(PARAGRAPH, max_size=4)),
                min_size=1, max_size=5)


def _without_space(text: str) -> str:
    return re.sub(r"\s+", "", text)


@PROPERTY
@given(BODY, st.integers(min_value=20, max_value=900))
def test_chunks_cover_the_body_and_stay_under_the_limit(parts, max_chars: int) -> None:  # type: ignore[no-untyped-def]
    lines: list[str] = []
    expected = ""
    for heading, paragraphs in parts:
        if heading:
            lines.append(heading)
        lines += ["\n\n".join(paragraphs)]
        expected += "".join(_without_space(p) for p in paragraphs)
    body = "\n".join(lines).strip()
    if not body:
        return
    article = Article(id="a", title="Title", audience="public", body=body, path=PATH)
    sections = [c for c in chunk(article, max_chars=max_chars) if c.kind == "section"]
    assert all(c.text.strip() for c in sections)
    assert all(len(c.text) <= max_chars for c in sections), [len(c.text) for c in sections]
    assert "".join(_without_space(c.text) for c in sections) == expected
    assert [c.position for c in chunk(article, max_chars=max_chars)] == list(
        range(len(sections) + 1))
