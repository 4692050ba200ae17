"""A public FAQ collection as a knowledge base with no example questions.

The Swedish Construction FAQ by Zaragoza AB (English edition, CC BY 4.0; the PyPI package
``zaragoza-construction-faq``, installed with the bench dependencies, never downloaded at run
time) holds 503 question-and-answer records in 39 categories. Each record becomes an article
whose title is the FAQ's question and whose body is its answer and sources: a help centre's
shape, with no ``questions:`` list, so the ranking ``FRONTLINE_RANKING=auto`` chooses is the
one for a KB without examples. The labelled queries (``bench/data/zaragoza_faq_questions.yml``)
were written for this project from the answer bodies, not the titles; ``too_close`` is the rule
that keeps a query from being its article's title reworded.
"""

from __future__ import annotations

import difflib
import json
from importlib import resources
from pathlib import Path

import yaml

PACKAGE = "zaragoza_construction_faq"
ATTRIBUTION = "Swedish Construction FAQ by Zaragoza AB, CC BY 4.0"
# A labelled query whose similarity to its article's title is above this is dropped: it would
# measure matching a title, not answering a customer.
TITLE_SIMILARITY_LIMIT = 0.6


def records() -> list[dict[str, object]]:
    """The collection's English records ({id, category, q, a, sources, ...}), from the package."""
    try:
        data = resources.files(PACKAGE).joinpath("data/faq-en.json").read_text("utf-8")
    except ModuleNotFoundError:
        raise FileNotFoundError(
            "the FAQ collection is not installed: pip install zaragoza-construction-faq "
            "(requirements/app.lock pins it; `make setup` installs it)") from None
    return list(json.loads(data)["questions"])


def write_kb(folder: Path) -> Path:
    """One Markdown article per record under ``folder`` (rewritten each time), for
    ``frontline eval --kb``."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.md"):
        old.unlink()
    for record in records():
        front = {"id": record["id"], "title": str(record["q"]).strip(), "audience": "public",
                 "tags": [record["category"]]}
        sources = [str(s) for s in record.get("sources") or []]  # type: ignore[attr-defined]
        body = str(record["a"]).strip()
        if sources:
            body += "\n\nSources: " + "; ".join(sources) + "."
        body += f"\n\n_{ATTRIBUTION}._"
        (folder / f"{record['id']}.md").write_text(
            "---\n" + yaml.safe_dump(front, sort_keys=False, allow_unicode=True) + "---\n"
            + body + "\n", "utf-8")
    return folder


def too_close(query: str, title: str) -> bool:
    """Whether a labelled query is its article's title nearly word for word."""
    ratio = difflib.SequenceMatcher(None, query.lower(), title.lower()).ratio()
    return ratio > TITLE_SIMILARITY_LIMIT


if __name__ == "__main__":  # python -m frontline.evaluation.faq FOLDER (make eval-faq)
    import sys

    target = Path(sys.argv[1] if len(sys.argv) > 1 else "var/faq-zaragoza")
    print(f"{len(records())} articles written to {write_kb(target)}")
