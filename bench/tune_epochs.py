"""The KB recipe of ``frontline tune`` at several epoch counts, each scored on the sample KB's dev
split the way ``frontline eval --calibrate`` scores it (docs/evaluation.md, 2026-12-04).

Each count tunes into its own scratch data dir (the live ``var/`` is never touched), then
``evaluate(..., do_calibrate=True, split="dev")`` chooses the configuration and thresholds on
dev and scores dev. Validation only: no test split is read.

    .venv/bin/python bench/tune_epochs.py            # 1, 2 and 4 epochs (~5 min on 2 cores)
    .venv/bin/python bench/tune_epochs.py 1 3
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

from frontline.evaluation.run import evaluate
from frontline.knowledge import tuning
from frontline.settings import get_settings


def main(counts: list[int]) -> None:
    print("| epochs | tuning wall / CPU s | chosen | answered ✓ of answerable | wrong | "
          "unanswerable answered | covered | R@1 | dense R@1 |")
    print("|---|---|---|---|---|---|---|---|---|")
    for epochs in counts:
        # The fingerprint reads the module's EPOCHS: each count is its own stored model.
        tuning.EPOCHS = epochs
        data = Path(tempfile.mkdtemp(prefix=f"frontline-epochs-{epochs}-"))
        settings = get_settings().model_copy(update={"data_dir": data,
                                                     "embedding_tuned": "auto"})
        started = time.perf_counter()
        tuned = tuning.tune(settings, epochs=epochs, progress=lambda m: None)
        tuned_s = time.perf_counter() - started
        try:
            run = evaluate(settings, split="dev", do_calibrate=True, progress=lambda m: None)
        finally:
            shutil.rmtree(data, ignore_errors=True)
        if run.model != str(tuned.path):
            raise SystemExit(f"the tuned model was not used: {run.model}")
        report = run.reports[run.chosen]
        answered = report.answered_correct * report.questions / report.answerable
        print(f"| {epochs} | {tuned_s:.0f} / {tuned.cpu_seconds:.0f} | {run.chosen} | "
              f"{answered:.1%} | {report.wrong_answer:.1%} | {report.unanswerable_answered:.1%} | "
              f"{report.covered:.1%} | {report.recall_at_1:.3f} | "
              f"{run.reports['dense'].recall_at_1:.3f} |", flush=True)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1, 2, 4])
