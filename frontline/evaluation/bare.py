"""A knowledge base with every ``questions:`` list removed, for measuring what the shipped
default does on a help centre that has none (``make eval-no-questions``).

Each article keeps its id, title, audience, tags and body exactly; only the example questions
go. The articles are the ones the indexer reads (``indexer.articles.article_files``), each
checked by its parser first, so one it cannot read is reported with its file and line.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from indexer.articles import article_files, parse_article

DELIMITER = "---\n"


def without_questions(source: Path, folder: Path) -> Path:
    """Copy every article of ``source`` to the same place under ``folder`` (its articles
    rewritten each time) without its ``questions:`` list; return ``folder``. Raises
    ``ArticleError`` for an article the indexer would reject."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in article_files(folder):
        old.unlink()
    for article in article_files(source):
        raw = article.read_bytes()
        parse_article(article, raw)
        lines = raw.decode("utf-8").removeprefix("\ufeff").splitlines(keepends=True)
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
        front = yaml.safe_load("".join(lines[1:end]))
        body = "".join(lines[end + 1:])
        front.pop("questions", None)
        target = folder / article.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(
            DELIMITER + yaml.safe_dump(front, sort_keys=False, allow_unicode=True) + DELIMITER
            + body, "utf-8")
    return folder


if __name__ == "__main__":  # python -m frontline.evaluation.bare SOURCE FOLDER
    import sys

    source, target = (Path(a) for a in sys.argv[1:3])
    print(f"articles without example questions written to {without_questions(source, target)}")
