"""The parse cache: unchanged article files are not re-parsed, and everything load_articles
validates is still validated (changed files, broken articles with file and line, duplicate
ids, deleted files, files too recent to trust)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from indexer import ArticleError, articles, load_articles
from tests.conftest import SAMPLE_KB


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Paths parse_article read, in order (the real parser runs)."""
    seen: list[Path] = []
    real = articles.parse_article

    def counting(path: Path, raw: bytes | None = None) -> articles.Article:
        seen.append(path)
        return real(path, raw)

    monkeypatch.setattr(articles, "parse_article", counting)
    monkeypatch.setattr(articles, "RACY_S", 0.0)  # files written by the test are trusted
    return seen


def write(kb: Path, name: str, text: str) -> Path:
    kb.mkdir(exist_ok=True)
    path = kb / name
    path.write_text(text)
    return path


def test_cached_load_equals_a_parse_and_reads_no_unchanged_file(tmp_path: Path,
                                                                parses: list[Path]) -> None:
    cache = tmp_path / "cache.sqlite"
    plain = load_articles(SAMPLE_KB).articles
    parses.clear()
    first = load_articles(SAMPLE_KB, cache=cache).articles
    assert len(parses) == len(plain)
    parses.clear()
    second = load_articles(SAMPLE_KB, cache=cache).articles
    assert parses == []
    assert second == first == plain  # every field, including the content hash and body line


def test_an_edit_of_the_same_size_is_seen(tmp_path: Path, parses: list[Path]) -> None:
    kb, cache = tmp_path / "kb", tmp_path / "cache.sqlite"
    write(kb, "a.md", "---\ntitle: Alpha\n---\nFirst body.\n")
    edited = write(kb, "b.md", "---\ntitle: Bravo\n---\nCats purr.\n")
    load_articles(kb, cache=cache)
    time.sleep(0.05)  # past the file system's timestamp tick
    edited.write_text("---\ntitle: Bravo\n---\nDogs bark.\n")  # same size
    parses.clear()
    loaded = {a.id: a for a in load_articles(kb, cache=cache).articles}
    assert parses == [edited]
    assert loaded["b"].body == "Dogs bark." and loaded["a"].body == "First body."


def test_a_file_touched_back_to_its_old_mtime_is_still_reparsed(tmp_path: Path,
                                                                 parses: list[Path]) -> None:
    kb, cache = tmp_path / "kb", tmp_path / "cache.sqlite"
    path = write(kb, "a.md", "---\ntitle: Alpha\n---\nCats purr.\n")
    before = os.stat(path)
    load_articles(kb, cache=cache)
    time.sleep(0.05)
    path.write_text("---\ntitle: Alpha\n---\nDogs bark.\n")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # ctime still moves
    parses.clear()
    assert load_articles(kb, cache=cache).articles[0].body == "Dogs bark."
    assert parses == [path]


def test_broken_and_duplicate_articles_are_reported_with_a_warm_cache(
        tmp_path: Path, parses: list[Path]) -> None:
    kb, cache = tmp_path / "kb", tmp_path / "cache.sqlite"
    write(kb, "a.md", "---\nid: same\ntitle: A\n---\nBody\n")
    broken = write(kb, "b.md", "---\naudience: public\n---\nBody\n")
    with pytest.raises(ArticleError, match=r"b\.md:1: missing title"):
        load_articles(kb, cache=cache)
    result = load_articles(kb, cache=cache, skip_invalid=True)
    assert [str(e.path) for e in result.errors] == [str(broken)]
    parses.clear()
    with pytest.raises(ArticleError, match=r"b\.md:1: missing title"):  # never cached
        load_articles(kb, cache=cache)
    assert broken in parses
    broken.unlink()
    second = write(kb, "c.md", "---\ntitle: C\nid: same\n---\nBody\n")
    load_articles(kb, cache=cache, skip_invalid=True)
    with pytest.raises(ArticleError) as info:  # both files cached now: still a duplicate
        load_articles(kb, cache=cache)
    assert info.value.path == second and info.value.line == 3
    assert "duplicate id 'same'" in str(info.value)


def test_deleted_files_leave_the_result_and_the_cache(tmp_path: Path,
                                                      parses: list[Path]) -> None:
    kb, cache = tmp_path / "kb", tmp_path / "cache.sqlite"
    write(kb, "a.md", "---\ntitle: A\n---\nBody\n")
    gone = write(kb, "b.md", "---\ntitle: B\n---\nBody\n")
    load_articles(kb, cache=cache)
    gone.unlink()
    assert [a.id for a in load_articles(kb, cache=cache).articles] == ["a"]
    write(kb, "b.md", "---\ntitle: B again\n---\nBody\n")
    assert {a.title for a in load_articles(kb, cache=cache).articles} == {"A", "B again"}


def test_recent_files_are_not_trusted_and_a_corrupt_cache_is_rebuilt(
        tmp_path: Path, parses: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    kb, cache = tmp_path / "kb", tmp_path / "cache.sqlite"
    path = write(kb, "a.md", "---\ntitle: A\n---\nBody\n")
    monkeypatch.setattr(articles, "RACY_S", 3600.0)  # every file is "just written"
    load_articles(kb, cache=cache)
    parses.clear()
    load_articles(kb, cache=cache)
    assert parses == [path]
    monkeypatch.setattr(articles, "RACY_S", 0.0)
    cache.write_bytes(b"not a database")
    assert [a.id for a in load_articles(kb, cache=cache).articles] == ["a"]
    parses.clear()
    assert [a.id for a in load_articles(kb, cache=cache).articles] == ["a"]
    assert parses == []


def _scan(kb: Path, cache: Path, **kwargs: object) -> dict[str, articles.Listed]:
    scan = articles.scan_articles(kb, cache=cache, skip_invalid=True, **kwargs)  # type: ignore[arg-type]
    return {e.path: e for e in scan.listed}


def test_a_change_list_reads_only_the_named_files_and_agrees_with_a_walk(
        tmp_path: Path, parses: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    kb, cache = tmp_path / "kb", tmp_path / "cache.sqlite"
    for name in ("a", "b", "c", "d"):
        write(kb, f"{name}.md", f"---\ntitle: {name.upper()}\n---\nBody of {name}.\n")
    write(kb / "sub", "e.md", "---\ntitle: E\n---\nBody of e.\n")
    broken = write(kb, "x.md", "---\naudience: public\n---\nNo title.\n")
    load_articles(kb, cache=cache, skip_invalid=True)
    time.sleep(0.05)
    edited = write(kb, "b.md", "---\ntitle: B2\n---\nBody of b, edited.\n")
    (kb / "c.md").rename(kb / "sub" / "c2.md")  # a rename: the old and the new path
    (kb / "d.md").unlink()
    added = write(kb, "f.md", "---\ntitle: F\n---\nBody of f.\n")
    draft = write(kb, "_draft.md", "---\ntitle: Draft\n---\nNot an article.\n")
    stats: list[str] = []
    real_stat = os.stat

    def counting_stat(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        stats.append(str(path))
        return real_stat(path, *args, **kwargs)

    def no_walk(kb_dir: Path) -> list:  # type: ignore[type-arg]
        raise AssertionError("the folder was walked")

    monkeypatch.setattr(articles, "_article_entries", no_walk)
    monkeypatch.setattr(os, "stat", counting_stat)
    parses.clear()
    scan = articles.scan_articles(kb, cache=cache, skip_invalid=True, changed=[
        edited, kb / "c.md", kb / "sub" / "c2.md", kb / "d.md", added, draft,
        tmp_path / "elsewhere.md"])
    monkeypatch.undo()
    # the named files and the broken one (never vouched for) are read, nothing else
    assert sorted(map(str, parses)) == sorted(
        str(p) for p in (edited, kb / "sub" / "c2.md", added, broken))
    assert {s for s in stats if s.startswith(str(kb) + os.sep)} == {
        str(p) for p in (edited, kb / "c.md", kb / "sub" / "c2.md", kb / "d.md", added,
                         broken)}
    assert [str(e.path) for e in scan.errors] == [str(broken)]  # still reported
    walked = articles.scan_articles(kb, skip_invalid=True)  # no cache: every file parsed
    assert scan.listed == walked.listed  # same entries, same (path) order
    assert [e.id for e in scan.listed] == ["a", "b", "f", "c2", "e"]
    assert scan.article(scan.listed[1]).title == "B2"


def test_a_change_list_falls_back_to_a_walk_for_folders_and_a_cold_cache(
        tmp_path: Path, parses: list[Path]) -> None:
    kb, cache = tmp_path / "kb", tmp_path / "cache.sqlite"
    write(kb, "a.md", "---\ntitle: A\n---\nBody\n")
    write(kb / "sub", "b.md", "---\ntitle: B\n---\nBody\n")
    # no cache yet: a change list naming one file still lists every article
    assert set(_scan(kb, cache, changed=[kb / "a.md"])) == {str(kb / "a.md"),
                                                             str(kb / "sub" / "b.md")}
    (kb / "sub").rename(kb / "moved")  # a folder moved: its files are not named one by one
    assert set(_scan(kb, cache, changed=[kb / "sub"])) == {str(kb / "a.md"),
                                                            str(kb / "moved" / "b.md")}
    write(kb / "new", "c.md", "---\ntitle: C\n---\nBody\n")
    assert str(kb / "new" / "c.md") in _scan(kb, cache, changed=[kb / "new"])
    # a file changed too recently to be trusted is checked again by the next change list
    young = write(kb, "y.md", "---\ntitle: Y\n---\nBody\n")
    articles.RACY_S = 3600.0  # restored by the fixture's monkeypatch
    _scan(kb, cache, changed=[young])
    articles.RACY_S = 0.0
    young.write_text("---\ntitle: Y2\n---\nBody\n")
    parses.clear()
    scan = articles.scan_articles(kb, cache=cache, changed=[])
    assert parses == [young]
    assert scan.article(next(e for e in scan.listed if e.id == "y")).title == "Y2"


def test_a_change_list_still_finds_duplicate_ids(tmp_path: Path, parses: list[Path]) -> None:
    kb, cache = tmp_path / "kb", tmp_path / "cache.sqlite"
    write(kb, "a.md", "---\nid: same\ntitle: A\n---\nBody\n")
    load_articles(kb, cache=cache)
    second = write(kb, "b.md", "---\nid: same\ntitle: B\n---\nBody\n")
    with pytest.raises(ArticleError) as info:
        articles.scan_articles(kb, cache=cache, changed=[second])
    assert info.value.path == second and "duplicate id 'same'" in str(info.value)


def test_a_scan_stopped_by_a_broken_article_keeps_the_listing(tmp_path: Path,
                                                              parses: list[Path]) -> None:
    kb, cache = tmp_path / "kb", tmp_path / "cache.sqlite"
    for name in ("b", "c", "d"):
        write(kb, f"{name}.md", f"---\ntitle: {name.upper()}\n---\nBody\n")
    load_articles(kb, cache=cache)
    broken = write(kb, "a.md", "---\ntitle: [unclosed\n---\nBody\n")  # first in path order
    for changed in ([broken], None):
        with pytest.raises(ArticleError, match=r"a\.md:2: invalid YAML"):
            articles.scan_articles(kb, cache=cache, changed=changed)
        parses.clear()
        assert sorted(_scan(kb, cache, changed=[])) == sorted(
            str(kb / f"{n}.md") for n in ("a", "b", "c", "d")[1:])  # a.md still broken
        assert parses == [broken]
