"""``frontline eval``: labelled questions through the product's real path — index → retriever →
answer decision — for the sample KB, any KB + questions file, or a public intent dataset in FAQ
mode. Lexical, dense and the shipped mode are measured side by side in the same run."""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from frontline import datasets
from frontline.decision import Thresholds
from frontline.evaluation import (
    EvalReport,
    calibrate,
    load_questions,
    score,
    search_all,
)
from frontline.settings import Settings
from indexer import Retriever, SentenceTransformerEmbedder, build_index
from indexer.retriever import MODES

logger = logging.getLogger(__name__)
CALIBRATION_FILE = "calibration.json"


@dataclass
class EvalRun:
    name: str
    split: str
    shipped_mode: str
    thresholds: dict[str, dict[str, float]]  # mode -> thresholds used on the scored split
    reports: dict[str, EvalReport]  # mode -> report on the scored split
    calibration: dict[str, EvalReport] = field(default_factory=dict)  # mode -> on validation
    seconds: float = 0.0
    index_seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        shipped = self.reports[self.shipped_mode].to_dict()
        return {
            **shipped,
            "dataset": self.name,
            "split": self.split,
            "mode": self.shipped_mode,
            "thresholds": self.thresholds[self.shipped_mode],
            "modes": {m: r.to_dict() for m, r in self.reports.items()},
            "calibration": {m: r.to_dict() for m, r in self.calibration.items()},
            "seconds": round(self.seconds, 1),
            "index_seconds": round(self.index_seconds, 1),
        }


def _as_dict(t: Thresholds) -> dict[str, float]:
    return {"answer_threshold": t.answer, "clarify_threshold": t.clarify,
            "clarify_margin": t.margin}


def evaluate(
    settings: Settings,
    *,
    kb: Path | None = None,
    questions: Path | None = None,
    dataset: str | None = None,
    benchmarks: Path | None = None,
    split: str = "dev",
    do_calibrate: bool = False,
    max_unanswerable_answered: float | None = None,
    modes: tuple[str, ...] = MODES,
    progress: Callable[[str], None] = logger.info,
) -> EvalRun:
    """Index into a scratch folder (never the live index), search every question once per
    mode, apply the decision, and score. With ``do_calibrate``, thresholds are chosen on the
    validation questions and only then is ``split`` scored."""
    started = time.perf_counter()
    scratch = Path(tempfile.mkdtemp(prefix="frontline-eval-"))
    try:
        intent_set = dataset is not None
        if dataset is not None:
            data = datasets.load(dataset, benchmarks or Path("../shared/benchmarks"))
            kb_dir = datasets.write_kb(data.train, scratch / "kb")
            validation, scored = data.validation, data.test if split == "test" else data.validation
            name = dataset
            budget = 0.25 if data.has_oos else 1.0
        else:
            kb_dir = kb or settings.kb_dir
            labelled = load_questions(questions or Path("bench/data/sample_kb_questions.yml"))
            validation = [q for q in labelled if q.split == "dev"]
            scored = [q for q in labelled if q.split == split]
            name = str(questions or "sample-kb")
            budget = 0.02
        if max_unanswerable_answered is not None:
            budget = max_unanswerable_answered

        embedder = SentenceTransformerEmbedder(settings.embedding_model,
                                               batch_size=settings.embedding_batch_size)
        progress(f"indexing {kb_dir} into a scratch folder")
        index_started = time.perf_counter()
        build_index(kb_dir, scratch / "index", embedder, full=True,
                    chunk_max_chars=settings.chunk_max_chars)
        index_seconds = time.perf_counter() - index_started
        if settings.embedding_threads > 0:  # query latency as the service measures it
            import torch

            torch.set_num_threads(settings.embedding_threads)

        default = Thresholds(settings.answer_threshold, settings.clarify_threshold,
                             settings.clarify_margin)
        shipped = settings.retrieval_mode + ("+classifier" if settings.use_classifier else "")
        run = EvalRun(name=name, split=split, shipped_mode=shipped,
                      thresholds={}, reports={}, index_seconds=index_seconds)
        variants = [(m, m, False) for m in modes]
        if settings.use_classifier:
            variants.append((shipped, settings.retrieval_mode, True))
        for mode, retrieval, with_classifier in variants:
            retriever = Retriever(scratch / "index", embedder, mode=retrieval,  # type: ignore[arg-type]
                                  use_classifier=with_classifier)
            retriever.search("warm up", "public", 1)
            thresholds = default
            if do_calibrate:
                progress(f"{mode}: calibrating on {len(validation)} validation questions")
                tuned = search_all(retriever, validation)
                thresholds, _ = calibrate(tuned, max_unanswerable_answered=budget,
                                          clarify=not intent_set)
                run.calibration[mode] = score(tuned, thresholds, intent_set)
            progress(f"{mode}: scoring {len(scored)} {split} questions")
            searched = search_all(retriever, scored)
            run.reports[mode] = score(searched, thresholds, intent_set)
            run.thresholds[mode] = _as_dict(thresholds)
        run.seconds = time.perf_counter() - started
        return run
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def write_report(run: EvalRun, settings: Settings, *, calibrated_product: bool) -> Path:
    """Save the run under ``var/eval/``; a calibration of the product's own KB also goes to
    ``var/calibration.json``, where the settings read the thresholds from."""
    folder = settings.data_dir / "eval"
    folder.mkdir(parents=True, exist_ok=True)
    slug = Path(run.name).stem.replace("/", "-")
    path = folder / f"{slug}-{run.split}-{time.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps(run.to_dict(), indent=2) + "\n")
    if calibrated_product:
        calibration = {
            **run.thresholds[run.shipped_mode],
            "objective": "max answered correctly + covered, at most 2% of unanswerable "
            "questions answered",
            "validated_on": run.name,
            "validation": run.calibration[run.shipped_mode].to_dict(),
        }
        (settings.data_dir / CALIBRATION_FILE).write_text(json.dumps(calibration, indent=2))
    return path
