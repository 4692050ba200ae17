from __future__ import annotations

from pathlib import Path

from indexer import chunk, parse_article
from tests.conftest import write_article


def test_chunks_keep_heading_path_title_and_questions(tmp_path: Path) -> None:
    path = write_article(tmp_path, "a", "Set up SSO", """
        Intro text.

        ## Okta
        Okta steps.

        ### Troubleshooting
        If Okta says "invalid audience", check the entity ID.

        ## Azure AD
        Azure steps.

        ```
        # not a heading inside code
        ```
        """, questions=("how do I use okta", "saml login"))
    chunks = chunk(parse_article(path))
    assert [(c.kind, c.heading) for c in chunks] == [
        ("title", ""),
        ("question", ""),
        ("question", ""),
        ("section", ""),
        ("section", "Okta"),
        ("section", "Okta > Troubleshooting"),
        ("section", "Azure AD"),
    ]
    assert "# not a heading" in chunks[-1].text
    assert all(c.article_id == "a" for c in chunks)
    assert chunks[5].embedding_text("Set up SSO").startswith("Set up SSO > Okta > Troubleshooting")


def test_long_sections_are_split_under_the_bound_without_losing_text(tmp_path: Path) -> None:
    paragraphs = [f"Paragraph {i}. " + "word " * 60 for i in range(12)]
    path = write_article(tmp_path, "long", "Long", "## Part\n" + "\n\n".join(paragraphs))
    sections = [c for c in chunk(parse_article(path), max_chars=500) if c.kind == "section"]
    assert len(sections) > 1
    assert all(len(c.text) <= 500 for c in sections)
    assert all(c.heading == "Part" for c in sections)
    joined = " ".join(c.text for c in sections).split()
    assert joined == " ".join(paragraphs).split()


def test_a_giant_word_is_cut_hard(tmp_path: Path) -> None:
    path = write_article(tmp_path, "blob", "Blob", "x" * 2500)
    sections = [c for c in chunk(parse_article(path), max_chars=1000) if c.kind == "section"]
    assert [len(c.text) for c in sections] == [1000, 1000, 500]
