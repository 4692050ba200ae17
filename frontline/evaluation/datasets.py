"""Public intent datasets in "FAQ mode": each intent becomes a KB article whose ``questions:``
are its training utterances, indexed by the normal indexer; test utterances become labelled
questions (out-of-scope ones expect ``none``). See ``../shared/benchmarks/README.md``."""

from __future__ import annotations

import csv
import json
import random
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import yaml

from frontline.evaluation.metrics import LabelledQuestion

DATASETS = ("clinc150", "banking77")
HELD_OUT_SHARE = 0.1  # of train, for calibration where a dataset has no validation split


@dataclass
class IntentDataset:
    name: str
    train: dict[str, list[str]]  # intent -> utterances: these become articles
    validation: list[LabelledQuestion]  # for calibration only
    test: list[LabelledQuestion]  # scored, never used to choose anything
    has_oos: bool
    # When ``validation`` was held out of the training split: all of it, for the index the
    # test split is scored on once the choices are made (as the published systems train).
    full_train: dict[str, list[str]] | None = None


def load(name: str, root: Path) -> IntentDataset:
    """Read a dataset from ``root/<name>/``; raises ``ValueError`` for an unknown name and
    ``FileNotFoundError`` when its files are missing."""
    if name == "clinc150":
        return _clinc150(root / "clinc150" / "data_full.json")
    if name == "banking77":
        return _banking77(root / "banking77")
    raise ValueError(f"unknown dataset {name!r} (expected one of {DATASETS})")


def article_id(intent: str) -> str:
    """Intent names become article ids: lower case, only the characters ids allow
    (BANKING77 has names like ``Refund_not_showing_up`` and ``reverted_card_payment?``)."""
    return re.sub(r"[^a-z0-9._-]", "", intent.strip().lower())


def _questions(rows: list[list[str]], split: str) -> list[LabelledQuestion]:
    return [
        LabelledQuestion(text, None if intent == "oos" else article_id(intent), split)
        for text, intent in rows
    ]


def _clinc150(path: Path) -> IntentDataset:
    data = json.loads(path.read_text())
    train: dict[str, list[str]] = defaultdict(list)
    for text, intent in data["train"]:
        train[intent].append(text)
    # The out-of-scope training queries have no article to become; they join the validation
    # queries, so thresholds are chosen on 200 out-of-scope queries instead of 100.
    return IntentDataset(
        name="clinc150",
        train=dict(train),
        validation=_questions(data["val"] + data["oos_val"] + data["oos_train"], "dev"),
        test=_questions(data["test"] + data["oos_test"], "test"),
        has_oos=True,
    )


def _banking77(folder: Path) -> IntentDataset:
    def rows(name: str) -> list[list[str]]:
        with open(folder / name, newline="") as fh:
            return [[r["text"], r["category"]] for r in csv.DictReader(fh)]

    by_intent: dict[str, list[str]] = defaultdict(list)
    for text, intent in rows("train.csv"):
        by_intent[intent].append(text)
    rng = random.Random(77)
    train: dict[str, list[str]] = {}
    held_out: list[list[str]] = []
    for intent, texts in sorted(by_intent.items()):
        texts = texts[:]
        rng.shuffle(texts)
        cut = max(1, int(len(texts) * HELD_OUT_SHARE))
        held_out += [[t, intent] for t in texts[:cut]]
        train[intent] = texts[cut:]
    return IntentDataset(
        name="banking77",
        train=train,
        validation=_questions(held_out, "dev"),
        test=_questions(rows("test.csv"), "test"),
        has_oos=False,
        full_train={intent: texts[:] for intent, texts in sorted(by_intent.items())},
    )


def write_kb(train: dict[str, list[str]], folder: Path) -> Path:
    """One Markdown article per intent, ready for ``build_index``."""
    folder.mkdir(parents=True, exist_ok=True)
    for intent, texts in sorted(train.items()):
        front = {
            "id": article_id(intent),
            "title": intent.replace("_", " ").capitalize(),
            "audience": "public",
            "questions": list(dict.fromkeys(t.strip() for t in texts if t.strip())),
        }
        body = f"Answer for the intent **{intent}**."
        (folder / f"{article_id(intent)}.md").write_text(
            "---\n" + yaml.safe_dump(front, sort_keys=False, allow_unicode=True) + "---\n"
            + body + "\n"
        )
    return folder
