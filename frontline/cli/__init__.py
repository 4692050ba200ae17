"""The ``frontline`` command line."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from frontline.errors import FrontlineError
from frontline.knowledge.calibration import CalibrationError
from frontline.knowledge.calibration import apply as apply_calibration
from frontline.settings import Settings, get_settings

app = typer.Typer(help="Frontline: self-service and agent-assist bot for support teams.",
                  no_args_is_help=True, add_completion=False)
err = Console(stderr=True, soft_wrap=True)
logger = logging.getLogger("frontline")
Host = Annotated[str, typer.Option(help="Interface to listen on.")]
Port = Annotated[int, typer.Option(help="Port to listen on.")]


def _setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("sentence_transformers", "httpx", "transformers", "faiss"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _refuse_insecure(settings: Settings) -> None:
    """Stop before serving with secrets unfit outside development (frontline.api.security)."""
    from frontline.api.security import InsecureSettings, check_secrets

    try:
        check_secrets(settings)
    except InsecureSettings as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(1) from None


def _settings(kb: Path | None = None, data_dir: Path | None = None) -> Settings:
    """The environment's settings, with the calibration file of the data dir applied."""
    settings = get_settings()
    updates: dict[str, object] = {}
    if kb is not None:
        updates["kb_dir"] = kb
    if data_dir is not None:
        updates["data_dir"] = data_dir
    settings = settings.model_copy(update=updates) if updates else settings
    try:
        return apply_calibration(settings)
    except CalibrationError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(1) from None


def _ensure_index(settings: Settings) -> None:
    """A fresh data dir gets its index before the service starts, so it can answer."""
    from frontline.knowledge import KnowledgeBase

    knowledge = KnowledgeBase(settings.model_copy(update={"embedding_threads": 0}))
    if knowledge.has_index():
        return
    err.print(f"No index in {settings.index_dir} yet: indexing {settings.kb_dir} first…",
              highlight=False)
    try:
        summary = knowledge.ensure_index()
    except FrontlineError as exc:
        err.print(f"[bold red]error:[/] cannot build the index: {exc.detail}", highlight=False)
        raise typer.Exit(1) from None
    except FileNotFoundError as exc:
        err.print(f"[bold red]error:[/] cannot build the index: {exc}", highlight=False)
        raise typer.Exit(1) from None
    if summary is not None:
        err.print(f"Indexed {summary.articles} articles ({summary.chunks} chunks) in "
                  f"{summary.seconds:.1f} s.", highlight=False)


@app.command()
def index(
    kb: Annotated[
        Path | None, typer.Option(help="Knowledge-base folder [FRONTLINE_KB_DIR].")
    ] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Data folder [FRONTLINE_DATA_DIR].")] = None,
    full: Annotated[bool, typer.Option("--full", help="Re-embed every article.")] = False,
    skip_invalid: Annotated[
        bool, typer.Option("--skip-invalid", help="Index the valid articles, list the rest.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the summary as one JSON object, nothing else.")
    ] = False,
    changed: Annotated[list[Path] | None, typer.Option(
        "--changed", help="An article file written, created or deleted since the last index "
        "(repeat for several; a rename is the old and the new path): the folder is not "
        "walked and no other file is looked at. A folder means a full scan.")] = None,
    watch: Annotated[bool, typer.Option(
        "--watch", help="Keep running: index once, then again for each batch of files "
        "written, created or deleted (only those are looked at), with a full scan every "
        "--rescan-every seconds in case the watcher lost events. Ctrl-C stops.")] = False,
    rescan_every: Annotated[float, typer.Option(
        help="With --watch: seconds between full scans.", min=1.0)] = 600.0,
) -> None:
    """Index the knowledge base: only new and edited articles are embedded."""
    from frontline.knowledge import KnowledgeBase

    _setup_logging()
    settings = _settings(kb, data_dir).model_copy(update={"embedding_threads": 0})
    knowledge = KnowledgeBase(settings)
    if watch:
        if full or changed or as_json:
            err.print("[bold red]error:[/] --watch indexes what changes: it takes neither "
                      "--full, --changed nor --json", highlight=False)
            raise typer.Exit(2)
        _watch(knowledge, skip_invalid, rescan_every)
        return
    show_progress = not as_json and sys.stderr.isatty()
    try:
        if show_progress:
            summary = _index_with_progress(knowledge, full, skip_invalid, changed)
        else:
            summary = knowledge.reindex(full=full, skip_invalid=skip_invalid, lock_timeout=30,
                                        changed=changed)
    except FrontlineError as exc:
        err.print(f"[bold red]error:[/] {exc.detail}", highlight=False)
        raise typer.Exit(1) from None
    except FileNotFoundError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(1) from None

    if as_json:
        keys = ("articles", "chunks", "reembedded", "removed", "seconds", "chunks_per_s")
        typer.echo(json.dumps({k: getattr(summary, k) for k in keys}))
        for message in summary.skipped:
            err.print(f"skipped: {message}", highlight=False)
        return
    table = Table(title="Index summary" + ("" if summary.changed else " (nothing changed)"))
    for column in ("articles", "chunks", "re-embedded", "removed", "seconds", "chunks/s"):
        table.add_column(column, justify="right")
    table.add_row(
        str(summary.articles), str(summary.chunks), str(summary.reembedded),
        str(summary.removed), f"{summary.seconds:.2f}", f"{summary.chunks_per_s:.1f}",
    )
    Console().print(table)
    typer.echo(f"version: {summary.version}")
    for message in summary.skipped:
        err.print(f"[yellow]skipped:[/] {message}", highlight=False)


def _watch(knowledge, skip_invalid: bool, rescan_s: float) -> None:  # type: ignore[no-untyped-def]
    """``frontline index --watch``: reindex what the watcher reports until interrupted. A
    broken article is reported and the watch goes on (the next save is indexed)."""
    from indexer.articles import watch_changes

    kb_dir = knowledge.settings.kb_dir
    err.print(f"watching {kb_dir} (a full scan now and every {rescan_s:g} s; Ctrl-C stops)",
              highlight=False)
    try:
        for changed in watch_changes(kb_dir, rescan_s=rescan_s):
            try:
                summary = knowledge.reindex(skip_invalid=skip_invalid, lock_timeout=30,
                                            changed=changed)
            except FrontlineError as exc:
                err.print(f"[bold red]error:[/] {exc.detail}", highlight=False)
                continue
            what = "full scan" if changed is None else f"{len(changed)} changed path(s)"
            if summary.changed:
                err.print(f"{what}: version {summary.version}, {summary.articles} articles, "
                          f"{summary.reembedded} re-embedded, {summary.removed} removed, "
                          f"{summary.seconds:.2f} s", highlight=False)
            for message in summary.skipped:
                err.print(f"[yellow]skipped:[/] {message}", highlight=False)
    except KeyboardInterrupt:
        pass
    except FileNotFoundError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(1) from None


def _index_with_progress(knowledge, full: bool, skip_invalid: bool,  # type: ignore[no-untyped-def]
                         changed: list[Path] | None = None):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress(
        "[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
        TimeRemainingColumn(), console=err, transient=True,
    ) as bar:
        task = bar.add_task("embedding", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return knowledge.reindex(
            full=full, skip_invalid=skip_invalid, lock_timeout=30, progress=progress,
            changed=changed,
        )


@app.command("eval")
def eval_command(
    kb: Annotated[Path | None, typer.Option(help="Knowledge-base folder to evaluate.")] = None,
    questions: Annotated[Path | None, typer.Option(
        help="Labelled questions (YAML list of {question, expected}); default: the sample "
        "KB's set in bench/data/.")] = None,
    dataset: Annotated[str | None, typer.Option(
        help="A public intent set in FAQ mode: clinc150 or banking77.")] = None,
    benchmarks: Annotated[Path | None, typer.Option(
        help="Folder of the public sets [FRONTLINE_BENCHMARKS_DIR].")] = None,
    split: Annotated[str, typer.Option(help="Split to score: dev (validation) or test.")] = "dev",
    calibrate: Annotated[bool, typer.Option(
        "--calibrate", help="Choose each configuration's thresholds, and the best "
        "configuration, on the validation split first (for the product's KB, saved to "
        "<data dir>/calibration.json).")] = False,
    max_unanswerable_answered: Annotated[float | None, typer.Option(
        help="Calibration budget: the share of unanswerable questions that may be answered "
        "(default 0.02 for a KB, 0.20 for CLINC150).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON only.")] = False,
    tuned_vs_base: Annotated[bool, typer.Option(
        "--tuned-vs-base", help="With --dataset: tune the embedding model on the set's "
        "training split first (reused when stored under <data dir>/tuned/), then measure the "
        "base and the tuned model one after the other in this run.")] = False,
    tune_pairs: Annotated[int, typer.Option(
        min=0, help="With --dataset: the intent set's tuned model is trained on at most this "
        "many (utterance, intent) pairs, the same number from each intent; 0 for all of them "
        "(one epoch: ~8 CPU-minutes for CLINC150 on these machines).")] = 1024,
) -> None:
    """Measure answers, wrong answers, abstentions, clarifications, Recall@k, MRR and latency."""
    from frontline.evaluation.run import evaluate, write_report

    _setup_logging()
    if split not in ("dev", "test"):
        err.print("[bold red]error:[/] --split must be dev or test")
        raise typer.Exit(2)
    settings = _settings()
    if tuned_vs_base:
        _eval_tuned_vs_base(settings, dataset, benchmarks, split, calibrate,
                            max_unanswerable_answered, as_json, tune_pairs or None)
        return
    try:
        run = evaluate(settings, kb=kb, questions=questions, dataset=dataset,
                       benchmarks=benchmarks, split=split, do_calibrate=calibrate,
                       max_unanswerable_answered=max_unanswerable_answered,
                       progress=lambda m: err.print(m, highlight=False),
                       tune_pairs=tune_pairs or None)
    except (ValueError, FileNotFoundError) as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(1) from None
    product = calibrate and dataset is None and (kb is None or kb == settings.kb_dir) and (
        questions is None)
    path = write_report(run, settings, calibrated_product=product)
    if as_json:
        typer.echo(json.dumps(run.to_dict()))
        return
    _print_eval(run)
    typer.echo(f"report: {path}")
    if product:
        typer.echo(f"ranking and thresholds saved to {settings.data_dir / 'calibration.json'}"
                   " (applied by the next `frontline run` / `serve`)")


def _eval_tuned_vs_base(settings: Settings, dataset: str | None, benchmarks: Path | None,
                        split: str, calibrate: bool, budget: float | None,
                        as_json: bool, tune_pairs: int | None) -> None:
    from frontline.evaluation.run import tuned_vs_base, write_report
    from frontline.knowledge.tuning import TuningError

    if dataset is None:
        err.print("[bold red]error:[/] --tuned-vs-base needs --dataset (clinc150 or banking77); "
                  "for a KB, run `frontline tune` and then `frontline eval`")
        raise typer.Exit(2)
    try:
        tuned, base, run = tuned_vs_base(settings, dataset=dataset, benchmarks=benchmarks,
                                         split=split, do_calibrate=calibrate,
                                         max_unanswerable_answered=budget,
                                         progress=lambda m: err.print(m, highlight=False),
                                         tune_pairs=tune_pairs)
    except (ValueError, FileNotFoundError, TuningError) as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(1) from None
    paths = [write_report(r, settings, calibrated_product=False) for r in (base, run)]
    if as_json:
        typer.echo(json.dumps({"tuning": tuned.to_dict(), "base": base.to_dict(),
                               "tuned": run.to_dict()}))
        return
    verb = "reused" if tuned.reused else (f"trained in {tuned.seconds:.0f} s wall, "
                                          f"{tuned.cpu_seconds:.0f} s CPU")
    typer.echo(f"tuned model {tuned.fingerprint} ({verb}; {tuned.pairs} pairs, batch "
               f"{tuned.batch_size}): {tuned.path}")
    for r, path in zip((base, run), paths, strict=True):
        _print_eval(r)
        typer.echo(f"report: {path}")


def _print_eval(run) -> None:  # type: ignore[no-untyped-def]
    table = Table(title=f"{run.name} — {run.split} split ({run.seconds:.0f} s)")
    columns = ["mode", "answered ✓", "wrong", "abstain", "clarify", "covered", "R@1", "R@3",
               "R@5", "MRR", "p95 ms"]
    intent = run.reports[run.chosen].in_scope_accuracy is not None
    if intent:
        columns += ["in-scope acc", "OOS recall"]
    for column in columns:
        table.add_column(column, justify="right")
    for mode, r in run.reports.items():
        row = [mode + (" (chosen)" if mode == run.chosen else "")]
        row += [f"{v:.3f}" for v in (r.answered_correct, r.wrong_answer, r.abstain, r.clarify,
                                     r.covered, r.recall_at_1, r.recall_at_3, r.recall_at_5,
                                     r.mrr)]
        row.append(f"{r.p95_ms:.1f}")
        if intent:
            row += [f"{r.in_scope_accuracy:.3f}",
                    "—" if r.oos_recall is None else f"{r.oos_recall:.3f}"]
        table.add_row(*row)
    Console(width=160).print(table)
    typer.echo(f"chosen (by {run.chosen_by}): {run.chosen}; thresholds "
               f"{run.thresholds[run.chosen]}")
    for kind, row in run.followups.items():
        typer.echo(f"two-turn {kind} (n={row['n']}): right article first "
                   f"{row['top1_alone']:.1%} alone → {row['top1_in_context']:.1%} in context; "
                   f"answered outright {row['answered_alone']:.1%} → "
                   f"{row['answered_in_context']:.1%}")


@app.command()
def tune(
    kb: Annotated[
        Path | None, typer.Option(help="Knowledge-base folder [FRONTLINE_KB_DIR].")
    ] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Data folder [FRONTLINE_DATA_DIR].")] = None,
    force: Annotated[bool, typer.Option("--force", help="Train again even if a model for "
                                        "the KB as it is exists.")] = False,
    no_index: Annotated[bool, typer.Option("--no-index", help="Only train; do not rebuild "
                                           "the index with the tuned model.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON only.")] = False,
    dataset: Annotated[str | None, typer.Option(
        help="Tune on a public intent set's training split instead of the KB (clinc150 or "
        "banking77; `frontline eval --dataset` then uses it); no index is rebuilt.")] = None,
    full: Annotated[bool, typer.Option("--full", help="With --dataset: all of the training "
                                       "split, held-out part included.")] = False,
    tune_pairs: Annotated[int, typer.Option(
        min=0, help="With --dataset: the intent set's tuned model is trained on at most this "
        "many (utterance, intent) pairs, the same number from each intent; 0 for all of them "
        "(one epoch: ~8 CPU-minutes for CLINC150 on these machines).")] = 1024,
) -> None:
    """Fine-tune the embedding model on the KB's titles, headings and example questions (CPU,
    minutes), then rebuild the index with it. Used while FRONTLINE_EMBEDDING_TUNED=auto."""
    from frontline.evaluation.run import tune_dataset
    from frontline.knowledge import KnowledgeBase
    from frontline.knowledge.tuning import TuningError
    from frontline.knowledge.tuning import tune as run_tune
    from indexer import ArticleError

    _setup_logging()
    settings = _settings(kb, data_dir).model_copy(update={"embedding_threads": 0})
    if settings.embedding_tuned == "off":
        err.print("[yellow]note:[/] FRONTLINE_EMBEDDING_TUNED=off: the tuned model is stored "
                  "but not used until it is auto", highlight=False)
    try:
        if dataset is not None:
            no_index = True
            result = tune_dataset(settings, dataset, full=full, force=force,
                                  progress=lambda m: err.print(m, highlight=False),
                                  tune_pairs=tune_pairs or None)
        else:
            result = run_tune(settings, force=force,
                              progress=lambda m: err.print(m, highlight=False))
        summary = None if no_index or settings.embedding_tuned == "off" else (
            KnowledgeBase(settings).reindex(lock_timeout=60))
    except (TuningError, ArticleError, FileNotFoundError, ValueError) as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(1) from None
    except FrontlineError as exc:
        err.print(f"[bold red]error:[/] {exc.detail}", highlight=False)
        raise typer.Exit(1) from None
    out = {**result.to_dict(), "index_version": summary.version if summary else None,
           "reembedded": summary.reembedded if summary else None}
    if as_json:
        typer.echo(json.dumps(out))
        return
    verb = "up to date" if result.reused else f"trained in {result.seconds:.0f} s"
    typer.echo(f"tuned model {result.fingerprint} ({verb}; {result.pairs} pairs from "
               f"{result.articles} articles): {result.path}")
    if summary is not None:
        typer.echo(f"index {summary.version}: {summary.reembedded} articles embedded with it")


@app.command()
def serve(
    host: Host = "127.0.0.1",
    port: Port = 8000,
) -> None:
    """Run the Frontline service (API, actions, dashboard) with uvicorn."""
    import uvicorn

    from frontline.api.app import create_app

    _setup_logging()
    settings = _settings()
    _refuse_insecure(settings)
    _ensure_index(settings)
    typer.echo(f"Frontline is serving on http://{host}:{port}  (API docs: /docs)")
    # The app trusts X-Forwarded-For from FRONTLINE_TRUSTED_PROXIES only (not uvicorn's
    # default of 127.0.0.1).
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info",
                proxy_headers=False)


@app.command()
def run(
    host: Host = "127.0.0.1",
    port: Port = 8000,
) -> None:
    """Train the assistant if needed, then run Rasa (127.0.0.1 only) and the service together."""
    from frontline.cli.run import run as run_both
    from frontline.rasa import RasaError

    _setup_logging()
    settings = _settings()
    _refuse_insecure(settings)
    _ensure_index(settings)
    try:
        code = run_both(settings, host, port)
    except RasaError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(1) from None
    raise typer.Exit(code)


@app.command()
def train() -> None:
    """Train the assistant's model if config.yml or bot/ changed (otherwise does nothing)."""
    from frontline.rasa import RasaError, ensure_model

    _setup_logging()
    try:
        typer.echo(ensure_model(_settings()))
    except RasaError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(1) from None


# The commands below use the helpers above (hence E402).
from frontline.cli import privacy as _privacy  # noqa: E402
from frontline.cli import report as _report  # noqa: E402
from frontline.cli import simulate as _simulate  # noqa: E402

app.command("report")(_report.report)
app.command("simulate")(_simulate.simulate)
app.add_typer(_privacy.app, name="privacy")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
