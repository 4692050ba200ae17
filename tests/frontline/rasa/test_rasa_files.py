"""What `frontline run` hands to Rasa, and when it retrains."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from frontline.rasa import training_fingerprint, write_endpoints
from frontline.settings import PROJECT_DIR as REPO
from frontline.settings import Settings


def test_endpoints_carry_the_action_url_token_and_tracker_store(tmp_path: Path) -> None:
    sqlite = write_endpoints(Settings(_env_file=None, data_dir=tmp_path),  # type: ignore[call-arg]
                             "http://127.0.0.1:9000/webhook", "tok")
    config = yaml.safe_load(sqlite.read_text())
    assert config["action_endpoint"] == {"url": "http://127.0.0.1:9000/webhook",
                                         "headers": {"X-Frontline-Action-Token": "tok"}}
    assert config["tracker_store"] == {"type": "SQL", "dialect": "sqlite",
                                       "db": str(tmp_path / "rasa-tracker.db")}
    assert oct(sqlite.stat().st_mode)[-3:] == "600"
    postgres = write_endpoints(
        Settings(_env_file=None, data_dir=tmp_path,  # type: ignore[call-arg]
                 rasa_tracker_url="postgresql://rasa:pw@db.internal:5433/tracker"),
        "http://127.0.0.1:9000/webhook", "tok")
    assert yaml.safe_load(postgres.read_text())["tracker_store"] == {
        "type": "SQL", "dialect": "postgresql", "url": "db.internal", "port": 5433,
        "db": "tracker", "username": "rasa", "password": "pw"}


def test_training_fingerprint_follows_config_domain_and_data_only(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(REPO / "bot", root / "bot", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "config.yml", root / "config.yml")
    before = training_fingerprint(root)
    (root / "bot/tests/test_kb.yml").write_text("# conversation tests do not change the model")
    (root / "bot/actions/common.py").write_text("# nor do the actions")
    assert training_fingerprint(root) == before
    with open(root / "bot/data/nlu/chitchat.yml", "a") as fh:
        fh.write("\n# a change to the training data\n")
    assert training_fingerprint(root) != before
