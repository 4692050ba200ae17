"""Loading and validating articles: every broken article is named with file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer import ArticleError, load_articles, parse_article
from tests.conftest import SAMPLE_KB, write_article

GOOD_FRONT = "---\nid: ok\ntitle: Fine\naudience: public\n---\nBody.\n"


def write(kb: Path, name: str, text: str) -> Path:
    kb.mkdir(exist_ok=True)
    path = kb / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("---\ntitle: A\naudience: public\ntags: [a, b\n---\nBody\n", 4, "invalid YAML"),
        ("---\nid: a\naudience: public\n---\nBody\n", 1, "missing title"),
        ("---\ntitle: A\naudience: secret\n---\nBody\n", 3, "unknown audience 'secret'"),
        ("---\ntitle: A\naudience: public\n---\n\n  \n", 5, "empty body"),
        ("---\ntitle: A\ntitel: B\n---\nBody\n", 3, "unknown front-matter key 'titel'"),
        ("title: A\nBody\n", 1, "missing front matter"),
        ("---\ntitle: A\nBody\n", 1, "not closed"),
        ("---\ntitle: A\nquestions: 3\n---\nBody\n", 3, "'questions' must be a list"),
        ("---\ntitle: A\nurl: help/reset\n---\nBody\n", 3, "invalid url"),
        ("---\nid: Bad Id!\ntitle: A\n---\nBody\n", 2, "invalid id"),
    ],
)
def test_bad_article_names_file_line_and_problem(tmp_path: Path, text: str, line: int,
                                                 message: str) -> None:
    path = write(tmp_path, "broken.md", text)
    with pytest.raises(ArticleError) as info:
        parse_article(path)
    assert info.value.path == path
    assert info.value.line == line
    assert message in str(info.value)
    assert str(info.value).startswith(f"{path}:{line}: ")


def test_duplicate_id_names_the_second_file_and_the_first(tmp_path: Path) -> None:
    write(tmp_path, "a.md", "---\nid: same\ntitle: A\n---\nBody\n")
    second = write(tmp_path, "b.md", "---\ntitle: B\nid: same\n---\nBody\n")
    with pytest.raises(ArticleError) as info:
        load_articles(tmp_path)
    assert info.value.path == second and info.value.line == 3
    assert "duplicate id 'same'" in str(info.value) and "a.md" in str(info.value)


def test_load_stops_at_first_invalid_article(tmp_path: Path) -> None:
    write(tmp_path, "a.md", GOOD_FRONT)
    write(tmp_path, "b.md", "---\naudience: public\n---\nBody\n")
    with pytest.raises(ArticleError, match=r"b\.md:1: missing title"):
        load_articles(tmp_path)


def test_skip_invalid_keeps_the_rest_and_lists_what_was_skipped(tmp_path: Path) -> None:
    write(tmp_path, "a.md", GOOD_FRONT)
    write(tmp_path, "b.md", "---\naudience: public\n---\nBody\n")
    write(tmp_path, "c.md", "---\nid: ok\ntitle: Duplicate\n---\nBody\n")
    result = load_articles(tmp_path, skip_invalid=True)
    assert [a.id for a in result.articles] == ["ok"]
    assert sorted(e.path.name for e in result.errors) == ["b.md", "c.md"]


def test_defaults_id_from_file_name_and_audience_public(tmp_path: Path) -> None:
    path = write(tmp_path, "billing-faq.md", "---\ntitle: Billing FAQ\n---\nBody text\n")
    article = parse_article(path)
    assert (article.id, article.audience, article.body_line) == ("billing-faq", "public", 4)


def test_drafts_starting_with_underscore_are_not_articles(tmp_path: Path) -> None:
    write_article(tmp_path, "real", "Real", "Body")
    write(tmp_path, "_draft.md", "not an article at all")
    assert [a.id for a in load_articles(tmp_path).articles] == ["real"]


def test_missing_kb_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="knowledge-base folder not found"):
        load_articles(tmp_path / "nope")


# -- the sample knowledge base is data that tests and evaluations depend on -----------------
def test_sample_kb_is_valid_and_large_enough() -> None:
    articles = load_articles(SAMPLE_KB).articles
    public = [a for a in articles if a.audience == "public"]
    internal = [a for a in articles if a.audience == "internal"]
    assert len(public) >= 40
    assert len(internal) >= 8
    for article in articles:
        assert article.path.stem == article.id, article.path
        assert 8 <= len(article.questions) <= 20, article.id
        assert len(article.body.split()) >= 80, article.id
        if article.audience == "internal":
            assert article.url is None, f"{article.id}: internal articles have no public link"
        else:
            assert article.url and article.url.endswith(article.id), article.id
