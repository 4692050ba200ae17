"""A knowledge base with every ``questions:`` list removed, for measuring what the shipped
default does on a help centre that has none (``make eval-no-questions``).

Each article keeps its id, title, audience, tags and body exactly; only the example questions
go. An article that cannot be read is reported with its file, not skipped.
"""

from __future__ import annotations

from pathlib import Path

import yaml

DELIMITER = "---\n"


def without_questions(source: Path, folder: Path) -> Path:
    """Copy every ``*.md`` article of ``source`` to ``folder`` (its articles rewritten each
    time) without its ``questions:`` list; return ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.md"):
        old.unlink()
    for article in sorted(source.glob("*.md")):
        text = article.read_text("utf-8")
        if not text.startswith(DELIMITER) or text.count(DELIMITER) < 2:
            raise ValueError(f"{article}: line 1: expected front matter between '---' lines")
        _, head, body = text.split(DELIMITER, 2)
        front = yaml.safe_load(head) or {}
        if not isinstance(front, dict):
            raise ValueError(f"{article}: line 2: front matter is not a mapping")
        front.pop("questions", None)
        (folder / article.name).write_text(
            DELIMITER + yaml.safe_dump(front, sort_keys=False, allow_unicode=True) + DELIMITER
            + body, "utf-8")
    return folder


if __name__ == "__main__":  # python -m frontline.evaluation.bare SOURCE FOLDER
    import sys

    source, target = (Path(a) for a in sys.argv[1:3])
    print(f"articles without example questions written to {without_questions(source, target)}")
