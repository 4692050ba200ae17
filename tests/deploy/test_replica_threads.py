"""A replica serves actions from many threads at once: embedding (torch) in some while FAISS
searches in others must not crash the process (it did: SIGSEGV inside faiss search under
bench/load.py at 50 customers, before IndexVersion serialised its FAISS calls)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from frontline.knowledge import default_embedding_model

SCRIPT = textwrap.dedent("""
    import sys, threading
    from pathlib import Path
    from indexer import SentenceTransformerEmbedder, store
    from indexer.retriever import IndexVersion

    index, model = Path(sys.argv[1]), sys.argv[2]
    embedder = SentenceTransformerEmbedder(model, threads=1)
    version = IndexVersion(store.version_path(index, store.current_version(index)))
    questions = ["how do I reset my password", "cancel my subscription please",
                 "calendar sync with outlook is broken", "invite teammates to a project"]
    article = next(iter(version.article_rows))
    done = []

    def customer(k):
        for i in range(40):
            vector = embedder.embed([f"{questions[(i + k) % 4]} {i}"])[0]
            assert version.dense_search(vector, "public", 20)
            version.best_entry(article, vector)
        done.append(k)

    threads = [threading.Thread(target=customer, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("searched", len(done) * 40)
""")


def test_concurrent_embedding_and_faiss_searches_do_not_crash(sample_index: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-X", "faulthandler", "-c", SCRIPT, str(sample_index / "index"),
         default_embedding_model()],
        capture_output=True, text=True, timeout=300, check=False,
        env={"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PATH": "/usr/bin:/bin",
             "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "searched 320" in result.stdout
