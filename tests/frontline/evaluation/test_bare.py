"""The sample KB without its example questions (``make eval-no-questions``)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from frontline.evaluation.bare import without_questions
from tests.conftest import SAMPLE_KB


def _parts(path: Path) -> tuple[dict, str]:  # type: ignore[type-arg]
    _, head, body = path.read_text("utf-8").split("---\n", 2)
    return yaml.safe_load(head), body


def test_every_article_keeps_its_front_matter_and_body_but_not_its_questions(
        tmp_path: Path) -> None:
    folder = without_questions(SAMPLE_KB, tmp_path / "bare")
    originals = sorted(SAMPLE_KB.glob("*.md"))
    assert sorted(p.name for p in folder.glob("*.md")) == [p.name for p in originals]
    had_questions = 0
    for original in originals:
        front, body = _parts(original)
        bare_front, bare_body = _parts(folder / original.name)
        had_questions += bool(front.pop("questions", None))
        assert bare_front == front and bare_body == body
    assert had_questions == len(originals)


def test_rewrites_the_folder_each_time(tmp_path: Path) -> None:
    folder = tmp_path / "bare"
    folder.mkdir()
    (folder / "stale.md").write_text("---\ntitle: gone\n---\nold\n")
    without_questions(SAMPLE_KB, folder)
    assert not (folder / "stale.md").exists()


def test_an_article_without_front_matter_is_named(tmp_path: Path) -> None:
    source = tmp_path / "kb"
    source.mkdir()
    (source / "broken.md").write_text("no front matter here\n")
    with pytest.raises(ValueError, match=r"broken\.md:1:"):
        without_questions(source, tmp_path / "bare")
