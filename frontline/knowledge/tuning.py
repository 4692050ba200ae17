"""KB-tuned embeddings (``frontline tune``): the embedding model fine-tuned on the KB's own
titles, headings and example questions, stored under ``<data dir>/tuned/``.

Training is contrastive (sentence-transformers' ``MultipleNegativesRankingLoss``): each example
question and each section heading is paired with its article's title, and the other articles'
titles in the same batch are its negatives (no article twice in a batch). Only what the KB
itself holds is used — never a labelled evaluation question.

A tuned model is keyed by a **fingerprint** of what it was trained on (the base model, the
recipe, and every article's id, title, headings and questions): it is used until those change,
then the base model serves again until ``frontline tune`` runs anew. Body edits that leave the
headings alone keep it.

The same step tunes on a public intent set's training split (``frontline tune --dataset``,
``frontline.evaluation.run.tune_dataset``): each model records the **source** it was tuned for
(``kb`` or ``dataset:<name>``), and pruning only ever removes older models of the same source,
so tuning CLINC150 never removes the KB's model.

Serving never waits for tuning. ``ServingEmbedder.for_build`` picks the model a new index
version is built with (the fresh tuned model, else the base one), and the service embeds
each query with the model the *published* version was built with, so a service started
before a tune keeps answering with the base model and switches when the tuned version is
published.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import random
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from frontline.settings import Settings
from indexer import Article, Embedder, chunk, load_articles
from indexer.embedding import make_embedder, model_identity

logger = logging.getLogger(__name__)

FOLDER = "tuned"  # below the data dir
RECIPE = 1  # part of the fingerprint: a change to the training recipe makes old models stale
EPOCHS = 1
BATCH_SIZE = 32
LEARNING_RATE = 5e-5
WARMUP_RATIO = 0.1
SEED = 16
KEEP = 2  # tuned models kept per source (an index built on the previous one may be serving)
INFO = "tuning.json"
KB_SOURCE = "kb"


class TuningError(RuntimeError):
    """The KB has too little to tune on, or training failed."""


@dataclass(frozen=True)
class TuneResult:
    fingerprint: str
    path: Path
    pairs: int
    articles: int
    seconds: float
    reused: bool = False  # a model for this fingerprint existed already
    cpu_seconds: float = 0.0  # CPU time of this process while training (user + system)
    batch_size: int = BATCH_SIZE

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "path": str(self.path)}


def base_model(settings: Settings) -> str:
    if settings.embedding_model:
        return settings.embedding_model
    from frontline.knowledge.base import default_embedding_model

    return default_embedding_model()


def headings(article: Article) -> list[str]:
    """The article's distinct section headings (the last part of each heading path)."""
    seen: dict[str, None] = {}
    for entry in chunk(article, max_chars=100_000):
        if entry.kind == "section" and entry.heading:
            seen.setdefault(entry.heading.split(" > ")[-1].strip(), None)
    return [h for h in seen if h]


def training_pairs(articles: Iterable[Article]) -> list[tuple[str, str]]:
    """(anchor, positive) pairs: every example question and heading with its article's title."""
    pairs = []
    for article in articles:
        for anchor in (*article.questions, *headings(article)):
            if anchor.strip() and anchor.strip().lower() != article.title.strip().lower():
                pairs.append((anchor.strip(), article.title.strip()))
    return pairs


def capped(pairs: list[tuple[str, str]], limit: int | None) -> list[tuple[str, str]]:
    """At most ``limit`` pairs, taken in turn from each article (the same share of each, a
    seeded sample of its anchors), so a KB of thousands of example questions trains for a
    bounded number of steps; every pair when ``limit`` is None or not exceeded."""
    if limit is None or len(pairs) <= limit:
        return pairs
    by_article: dict[str, list[tuple[str, str]]] = {}
    for pair in pairs:
        by_article.setdefault(pair[1], []).append(pair)
    rng = random.Random(SEED)
    queues = []
    for title in sorted(by_article):
        queue = by_article[title][:]
        rng.shuffle(queue)
        queues.append(queue)
    kept: list[tuple[str, str]] = []
    while len(kept) < limit:
        for queue in queues:
            if queue and len(kept) < limit:
                kept.append(queue.pop())
    return kept


def fingerprint(articles: Iterable[Article], base: str, batch_size: int = BATCH_SIZE,
                max_pairs: int | None = None) -> str:
    """A digest of what a tuned model is trained on: base model, recipe (and the batch size
    and pair cap when they are not the KB defaults), and per article its id, title, headings
    and questions (not the body text)."""
    recipe = f"recipe {RECIPE} epochs {EPOCHS}"
    if batch_size != BATCH_SIZE:
        recipe += f" batch {batch_size}"
    if max_pairs is not None:
        recipe += f" pairs {max_pairs}"
    digest = hashlib.sha256(f"{recipe}\n{model_identity(base)}\n".encode())
    for article in sorted(articles, key=lambda a: a.id):
        parts = [article.id, article.title, *headings(article), "\1", *article.questions]
        digest.update(("\0".join(parts) + "\n").encode())
    return digest.hexdigest()[:16]


def root(settings: Settings) -> Path:
    return settings.data_dir / FOLDER


def model_path(settings: Settings, print_: str) -> Path:
    return root(settings) / print_ / "model"


def fresh_model(settings: Settings, articles: Sequence[Article] | None = None, *,
                batch_size: int = BATCH_SIZE, max_pairs: int | None = None) -> Path | None:
    """The tuned model for the KB as it is now, or None (none trained, or stale, or tuning
    is off). Raises ``FileNotFoundError`` when the KB folder is missing."""
    if settings.embedding_tuned == "off":
        return None
    if articles is None:
        articles = load_articles(settings.kb_dir, skip_invalid=True).articles
    path = model_path(settings, fingerprint(articles, base_model(settings), batch_size,
                                            max_pairs))
    return path if (path / "config.json").is_file() else None


def model_for(settings: Settings, kb_dir: Path, *, batch_size: int = BATCH_SIZE,
              max_pairs: int | None = None) -> str:
    """The model an index of ``kb_dir`` is built with: its fresh tuned model (tuning on), else
    the base model — what ``frontline eval`` measures, as the service would build it."""
    tuned = fresh_model(settings.model_copy(update={"kb_dir": kb_dir}), batch_size=batch_size,
                        max_pairs=max_pairs)
    return str(tuned) if tuned else base_model(settings)


def tune(settings: Settings, *, force: bool = False, epochs: int = EPOCHS,
         batch_size: int = BATCH_SIZE, max_pairs: int | None = None,
         source: str = KB_SOURCE, progress: Callable[[str], None] = logger.info) -> TuneResult:
    """Fine-tune the base model on the KB in ``settings.kb_dir`` and store it under the data
    dir, keyed by the fingerprint; reuse the stored one when the fingerprint is unchanged
    (unless ``force``). ``epochs`` is for tests (the fingerprint assumes ``EPOCHS``);
    ``batch_size`` and ``max_pairs`` (a cap on the pairs trained on, the same share from each
    article: ``capped``) are part of the fingerprint; ``source`` names what the KB is (``kb``, or
    ``dataset:<name>`` for an intent set), and only older models of the same source are
    pruned. Raises ``TuningError`` when the KB has fewer than two articles or nothing to
    pair, ``ArticleError`` for a broken article."""
    started = time.perf_counter()
    cpu_started = _cpu()
    articles = load_articles(settings.kb_dir).articles
    base = base_model(settings)
    print_ = fingerprint(articles, base, batch_size, max_pairs)
    target = model_path(settings, print_)
    pairs = capped(training_pairs(articles), max_pairs)
    if (target / "config.json").is_file() and not force:
        return TuneResult(print_, target, len(pairs), len(articles),
                          round(time.perf_counter() - started, 1), reused=True,
                          batch_size=batch_size)
    if len(articles) < 2 or len({p for _, p in pairs}) < 2:
        raise TuningError(f"{settings.kb_dir}: tuning needs at least two articles with example "
                          "questions or headings")
    progress(f"tuning {model_identity(base)} on {len(pairs)} pairs from {len(articles)} articles "
             f"({epochs} epoch{'s' if epochs != 1 else ''}, batch {batch_size}, CPU)")
    scratch = target.parent.with_name(f".tmp-{print_}-{os.getpid()}")
    shutil.rmtree(scratch, ignore_errors=True)
    try:
        _train(base, pairs, scratch, epochs, batch_size)
        seconds = round(time.perf_counter() - started, 1)
        cpu_seconds = round(_cpu() - cpu_started, 1)
        (scratch / INFO).write_text(json.dumps({
            "fingerprint": print_, "base": model_identity(base), "recipe": RECIPE,
            "epochs": epochs, "batch_size": batch_size, "max_pairs": max_pairs,
            "source": source,
            "pairs": len(pairs), "articles": len(articles),
            "seconds": seconds, "cpu_seconds": cpu_seconds, "created_at": time.time(),
        }, indent=2) + "\n")
        if target.parent.exists():
            shutil.rmtree(target.parent)
        scratch.rename(target.parent)
    except Exception:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    prune(settings, keep=print_, source=source)
    return TuneResult(print_, target, len(pairs), len(articles), seconds,
                      cpu_seconds=cpu_seconds, batch_size=batch_size)


def _cpu() -> float:
    times = os.times()
    return times.user + times.system


def _train(base: str, pairs: list[tuple[str, str]], out: Path, epochs: int,
           batch_size: int) -> None:
    import torch
    from datasets import Dataset
    from sentence_transformers import (
        SentenceTransformer,
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )
    from sentence_transformers.base.sampler import BatchSamplers
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    torch.set_num_threads(max(1, os.cpu_count() or 1))
    model = SentenceTransformer(base, device="cpu", local_files_only=True)
    data = Dataset.from_dict({"anchor": [a for a, _ in pairs],
                              "positive": [p for _, p in pairs]})
    args = SentenceTransformerTrainingArguments(
        output_dir=str(out / "checkpoints"),
        num_train_epochs=epochs,
        per_device_train_batch_size=batch_size,
        learning_rate=LEARNING_RATE,
        # Whole steps: a KB of a few dozen pairs trains for one or two steps, and a warm-up
        # step would train at a learning rate of 0.
        warmup_steps=int(WARMUP_RATIO * epochs * -(-len(pairs) // batch_size)),
        batch_sampler=BatchSamplers.NO_DUPLICATES,
        save_strategy="no",
        report_to=[],
        logging_strategy="no",
        disable_tqdm=True,
        use_cpu=True,
        seed=SEED,
        dataloader_num_workers=0,
    )
    trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=data,
                                         loss=MultipleNegativesRankingLoss(model))
    with contextlib.redirect_stdout(sys.stderr):  # the trainer prints its final figures
        trainer.train()
    shutil.rmtree(out / "checkpoints", ignore_errors=True)
    model.save(str(out / "model"))


def source_of(folder: Path) -> str:
    """What a stored model was tuned for (``kb`` for models stored before sources existed)."""
    try:
        return str(json.loads((folder / INFO).read_text()).get("source", KB_SOURCE))
    except (OSError, ValueError):
        return KB_SOURCE


def prune(settings: Settings, *, keep: str, source: str = KB_SOURCE) -> None:
    """Remove tuned models of ``source`` but ``keep`` and the newest others (``KEEP`` in
    all); models tuned for another source stay."""
    folder = root(settings)
    if not folder.is_dir():
        return
    others = sorted((p for p in folder.iterdir() if p.is_dir() and p.name != keep
                     and not p.name.startswith(".") and source_of(p) == source),
                    key=lambda p: p.stat().st_mtime, reverse=True)
    for old in others[KEEP - 1:]:
        shutil.rmtree(old, ignore_errors=True)


def _embedder(settings: Settings, model: str) -> Embedder:
    return make_embedder(model, settings.embedding_backend, export_root=settings.data_dir / "onnx",
                         batch_size=settings.embedding_batch_size,
                         threads=settings.embedding_threads)


class ServingEmbedder:
    """The service's embedder. Queries are embedded with the model the published index
    version was built with (``served`` returns its manifest's model name, or None when nothing
    is published): the base model, or a tuned one found under ``<data dir>/tuned/``; an index
    built with a model this process cannot find is searched with the base model (logged).
    ``for_build`` is the model a new version is built with. Models load once and are kept."""

    def __init__(self, settings: Settings, served: Callable[[], str | None] | None = None
                 ) -> None:
        self.settings = settings
        self.base = _embedder(settings, base_model(settings))
        self.served = served
        self._by_name: dict[str, Embedder] = {}
        self._by_path: dict[str, Embedder] = {}
        self._missing: set[str] = set()

    def follow(self, served: Callable[[], str | None]) -> None:
        self.served = served

    def _at(self, path: Path) -> Embedder:
        key = str(path)
        if key not in self._by_path:
            self._by_path[key] = _embedder(self.settings, key)
        return self._by_path[key]

    def for_build(self) -> Embedder:
        """The fresh tuned model when tuning is on and one exists for the KB as it is now,
        else the base model. The KB is read only when some tuned model exists."""
        folder = root(self.settings)
        if self.settings.embedding_tuned == "off" or not folder.is_dir() or not any(
                folder.glob("*/model/config.json")):
            return self.base
        try:
            tuned = fresh_model(self.settings)
        except (FileNotFoundError, ValueError):
            return self.base
        return self._at(tuned) if tuned else self.base

    def current(self) -> Embedder:
        name = self.served() if self.served is not None else None
        if name is None or name == self.base.name:
            return self.base
        found = self._by_name.get(name)
        if found is not None:
            return found
        if name not in self._missing:
            folder = root(self.settings)
            for candidate in sorted(folder.glob("*/model")) if folder.is_dir() else []:
                if _embedder(self.settings, str(candidate)).name == name:
                    self._by_name[name] = found = self._at(candidate)
                    logger.info("queries are embedded with the tuned model %s", candidate)
                    return found
            self._missing.add(name)
            logger.warning("the published index was built with %s, neither the base model nor "
                           "a tuned one under %s: searching with the base model", name, folder)
        return self.base

    @property
    def name(self) -> str:
        return self.current().name

    @property
    def dim(self) -> int:
        return self.current().dim

    def embed(self, texts: Sequence[str], *,
              progress: Callable[[int], None] | None = None) -> np.ndarray:
        return self.current().embed(texts, progress=progress)
