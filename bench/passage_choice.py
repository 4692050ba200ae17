"""Which body section an answer shows: the retriever's choice (``IndexVersion.best_section``)
at several ``PASSAGE_TERM_WEIGHT``s, scored against the hand labels of
``bench/data/sample_kb_passages.yml`` (the sample KB's dev and test questions on which the
choices disagree; docs/evaluation.md, 2026-12-04). The weight was chosen on dev; the test rows
were labelled afterwards, for the shipped weight against cosine alone.

The sample KB is indexed into a scratch data dir with the shipped embedding model (the live
``var/`` is never touched); each labelled question is embedded and corrected as a search does,
and its expected article's passage is chosen with each weight.

    .venv/bin/python bench/passage_choice.py          # weights 0, 0.1, 0.2, 0.3, 0.5, 1.0
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import yaml

from frontline.knowledge import KnowledgeBase
from frontline.settings import get_settings
from indexer import retriever as retriever_module

LABELS = Path(__file__).parent / "data" / "sample_kb_passages.yml"


def main(weights: list[float]) -> None:
    items = yaml.safe_load(LABELS.read_text())
    data = Path(tempfile.mkdtemp(prefix="frontline-passages-"))
    try:
        kb = KnowledgeBase(get_settings().model_copy(update={"data_dir": data,
                                                             "embedding_tuned": "off"}))
        kb.reindex(full=True)
        version = kb.retriever.current()
        asked = []
        for item in items:
            audience = "internal"  # the labels cover public and internal articles alike
            query = version.corrected(item["question"], audience)
            vector = kb.retriever.embedder.embed([query])[0]
            asked.append((item, vector, version.term_weights(query, audience)))
        default = retriever_module.PASSAGE_TERM_WEIGHT
        splits = sorted({item["split"] for item in items})
        counts = {s: sum(item["split"] == s for item in items) for s in splits}
        print("labelled questions (bench/data/sample_kb_passages.yml): "
              + ", ".join(f"{counts[s]} {s}" for s in splits))
        print("| weight | " + " | ".join(f"right section, {s}" for s in splits) + " |")
        print("|---" * (len(splits) + 1) + "|")
        for weight in weights:
            retriever_module.PASSAGE_TERM_WEIGHT = weight
            right = dict.fromkeys(splits, 0)
            for item, vector, term_weights in asked:
                _, rowid = version.best_section(item["article"], vector, term_weights)
                entry = version.entries[rowid]
                text = " ".join(entry.text.split())
                right[item["split"]] += any(
                    entry.heading == r["heading"] and text.startswith(r["starts"])
                    for r in item["right"])
            shipped = " (shipped)" if weight == default else ""
            print(f"| {weight:g}{shipped} | " + " | ".join(
                f"{right[s]} of {counts[s]} ({right[s] / counts[s]:.1%})" for s in splits)
                + " |", flush=True)
        retriever_module.PASSAGE_TERM_WEIGHT = default
    finally:
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main([float(a) for a in sys.argv[1:]] or [0.0, 0.1, 0.2, 0.3, 0.5, 1.0])
