"""``frontline tune`` on a public intent set's training split: trained for real (the shipped
model, a CLINC150 slice, CPU), stored under ``<data dir>/tuned/<fingerprint>`` beside the KB's
own model without pruning it, never fed a validation or test utterance, and measured against
the base model in the same ``frontline eval`` run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from frontline.evaluation import datasets
from frontline.evaluation import run as eval_run
from frontline.knowledge import tuning
from frontline.settings import get_settings
from indexer import load_articles
from tests.conftest import REPO, make_settings, write_article

INTENTS = ("balance", "freeze_account", "weather", "timer")
REAL = REPO.parent / "shared/benchmarks/clinc150/data_full.json"


def _clinc_slice(root: Path, intents: tuple[str, ...] = INTENTS, train: int = 12) -> Path:
    """A CLINC150 file of a few intents: ``train`` training, 3 validation and 4 test
    utterances each, and a few out-of-scope ones (the real set's when it is here)."""
    folder = root / "clinc150"
    folder.mkdir(parents=True)
    if REAL.exists():
        real = json.loads(REAL.read_text())

        def take(split: str, n: int) -> list[list[str]]:
            return [row for intent in intents
                    for row in [r for r in real[split] if r[1] == intent][:n]]

        data = {"train": take("train", train), "val": take("val", 3), "test": take("test", 4),
                "oos_train": real["oos_train"][:2], "oos_val": real["oos_val"][:3],
                "oos_test": real["oos_test"][:4]}
    else:  # outside this workplace: made-up utterances in the same format
        def made(kind: str, n: int) -> list[list[str]]:
            return [[f"{kind} {n_} about {i.replace('_', ' ')}", i]
                    for i in intents for n_ in range(n)]

        data = {"train": made("ask", train), "val": made("query", 3), "test": made("say", 4),
                "oos_train": [["sing a song", "oos"]], "oos_val": [["who is the king", "oos"]],
                "oos_test": [["paint my house", "oos"]]}
    (folder / "data_full.json").write_text(json.dumps(data))
    return root


def _kb_model(root: Path):  # type: ignore[no-untyped-def]
    """Settings over a two-article KB whose own tuned model is stored in the data dir."""
    kb = root / "kb"
    kb.mkdir()
    write_article(kb, "reset-password", "Reset your password", "Choose **Forgot password**.",
                  questions=("I forgot my password", "can't log in"))
    write_article(kb, "refund-policy", "Refund policy", "Annual plans are refunded.",
                  questions=("can I get my money back", "how do refunds work"))
    settings = make_settings(root / "data", kb, embedding_tuned="auto")
    return settings, tuning.tune(settings)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A data dir holding the KB's own tuned model, then the CLINC150 slice's."""
    root = tmp_path_factory.mktemp("tuned-datasets")
    settings, kb_model = _kb_model(root)
    benchmarks = _clinc_slice(root / "benchmarks")
    tuned = eval_run.tune_dataset(settings, "clinc150", benchmarks=benchmarks)
    return settings, benchmarks, kb_model, tuned


def test_the_training_split_is_tuned_on_and_stored_by_fingerprint(workspace) -> None:  # type: ignore[no-untyped-def]
    settings, benchmarks, _, tuned = workspace
    data = datasets.load("clinc150", benchmarks)
    assert not tuned.reused and tuned.articles == len(INTENTS)
    assert tuned.batch_size == eval_run.INTENT_TUNE_BATCH
    assert tuned.path == settings.data_dir / "tuned" / tuned.fingerprint / "model"
    info = json.loads((tuned.path.parent / tuning.INFO).read_text())
    assert info["source"] == "dataset:clinc150" and info["batch_size"] == 64
    assert info["max_pairs"] == eval_run.INTENT_TUNE_PAIRS
    assert info["cpu_seconds"] > 0
    # Every training utterance, paired with its intent's title; nothing held out for scoring.
    assert tuned.pairs == sum(len(set(texts)) for texts in data.train.values())
    kb = datasets.write_kb(data.train, settings.data_dir.parent / "written")
    anchors = {a for a, _ in tuning.training_pairs(load_articles(kb).articles)}
    assert not anchors & {q.question for q in (*data.validation, *data.test)}
    assert tuning.fingerprint(load_articles(kb).articles, tuning.base_model(settings), 64,
                              eval_run.INTENT_TUNE_PAIRS) == tuned.fingerprint
    again = eval_run.tune_dataset(settings, "clinc150", benchmarks=benchmarks)
    assert again.reused and again.path == tuned.path


def test_a_large_training_split_is_capped_with_the_same_share_of_every_intent() -> None:
    pairs = [(f"utterance {n} of {title}", title)
             for title, count in (("Balance", 120), ("Timer", 100), ("Weather", 7))
             for n in range(count)]
    kept = tuning.capped(pairs, 60)
    assert len(kept) == 60 and len(set(kept)) == 60 and set(kept) <= set(pairs)
    shares = {title: sum(p == title for _, p in kept) for title in ("Balance", "Timer")}
    assert shares == {"Balance": 27, "Timer": 26}  # Weather's 7 all kept, the rest shared
    assert sum(p == "Weather" for _, p in kept) == 7
    assert tuning.capped(pairs, 60) == kept  # seeded: the same sample every time
    assert tuning.capped(pairs, None) == pairs and tuning.capped(pairs, 10_000) == pairs


def test_eval_measures_the_base_and_the_tuned_model_in_one_run(workspace) -> None:  # type: ignore[no-untyped-def]
    settings, benchmarks, _, tuned = workspace
    result, base, run = eval_run.tuned_vs_base(settings, dataset="clinc150",
                                               benchmarks=benchmarks, split="dev",
                                               do_calibrate=True)
    assert result.reused and result.fingerprint == tuned.fingerprint
    assert base.model == tuning.base_model(settings)
    assert run.model == str(tuned.path) and run.name == "clinc150-tuned"
    assert base.to_dict()["embedding_model"] != run.to_dict()["embedding_model"]
    for r in (base, run):
        assert r.chosen_by == "validation"
        report = r.reports[r.chosen]
        assert report.questions == len(INTENTS) * 3 + 3 + 2  # val + oos_val + oos_train
        assert report.in_scope_accuracy is not None and report.oos_recall is not None
    # The two runs' indexes are each model's own cache folder, not one reused for both.
    assert len(list((settings.data_dir / "eval-cache").glob("clinc150-*"))) == 2


def test_the_commands_name_what_is_wrong(workspace) -> None:  # type: ignore[no-untyped-def]
    from frontline.cli import app

    settings, _, _, _ = workspace
    env = {"FRONTLINE_DATA_DIR": str(settings.data_dir), "FRONTLINE_KB_DIR": str(settings.kb_dir)}
    runner = CliRunner()
    no_dataset = runner.invoke(app, ["eval", "--tuned-vs-base"], env=env)
    assert no_dataset.exit_code == 2 and "needs --dataset" in no_dataset.output
    unknown = runner.invoke(app, ["tune", "--dataset", "clinc151"], env=env)
    assert unknown.exit_code == 1 and "unknown dataset 'clinc151'" in unknown.output


def test_tune_pairs_0_trains_on_every_pair_and_eval_finds_that_model(workspace) -> None:  # type: ignore[no-untyped-def]
    """``--tune-pairs 0`` through both commands: its own model (not the capped one), and the
    evaluation that asks for it embeds with it."""
    from frontline.cli import app

    settings, benchmarks, _, capped_model = workspace
    env = {"FRONTLINE_DATA_DIR": str(settings.data_dir), "FRONTLINE_KB_DIR": str(settings.kb_dir),
           "FRONTLINE_BENCHMARKS_DIR": str(benchmarks), "FRONTLINE_EMBEDDING_TUNED": "auto"}
    runner = CliRunner()
    get_settings.cache_clear()  # built once per process: an earlier command's would be reused
    try:
        tuned = runner.invoke(app, ["tune", "--dataset", "clinc150", "--tune-pairs", "0",
                                    "--json"], env=env)
    finally:
        get_settings.cache_clear()
    assert tuned.exit_code == 0, tuned.output
    result = json.loads(tuned.stdout.strip().splitlines()[-1])
    assert result["fingerprint"] != capped_model.fingerprint
    info = json.loads((Path(result["path"]).parent / tuning.INFO).read_text())
    assert info["max_pairs"] is None and info["source"] == "dataset:clinc150"
    run = eval_run.evaluate(settings, dataset="clinc150", benchmarks=benchmarks,
                            tune_pairs=None, variants=("dense",))
    assert run.model == result["path"]
    negative = runner.invoke(app, ["tune", "--dataset", "clinc150", "--tune-pairs", "-1"],
                             env=env)
    assert negative.exit_code == 2 and "--tune-pairs" in negative.output


def test_tuning_an_intent_set_never_prunes_the_kbs_own_model(workspace, tmp_path: Path  # type: ignore[no-untyped-def]
                                                             ) -> None:
    """Last in the module: it prunes the workspace's first dataset model."""
    settings, _, kb_model, first = workspace
    slices = (("balance", "weather"), ("timer", "weather"))
    models = [first, *(eval_run.tune_dataset(settings, "clinc150",
                                             benchmarks=_clinc_slice(tmp_path / f"b{n}", i, 3))
                       for n, i in enumerate(slices))]  # one more than are kept per source
    assert len({m.fingerprint for m in models}) == len(models) == tuning.KEEP + 1
    stored = {p.name for p in (settings.data_dir / "tuned").iterdir()
              if not p.name.startswith(".")}
    assert stored == {kb_model.fingerprint, *(m.fingerprint for m in models[-tuning.KEEP:])}
    assert tuning.fresh_model(settings) == kb_model.path
    assert tuning.source_of(kb_model.path.parent) == "kb"
