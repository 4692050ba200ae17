"""The Rasa project and the actions agree, and Rasa's own checks pass."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from bot.actions import ACTIONS
from frontline.rasa import ensure_model, rasa_env
from frontline.settings import PROJECT_DIR as REPO
from frontline.settings import Settings

DOMAIN = yaml.safe_load((REPO / "bot/domain.yml").read_text())
ACTION_SOURCES = "\n".join(p.read_text() for p in (REPO / "bot/actions").glob("*.py"))
RASA = str(REPO / ".venv-rasa/bin/rasa")


def test_every_action_in_code_is_in_the_domain_and_back() -> None:
    in_code = {cls().name() for cls in ACTIONS}
    assert in_code == set(DOMAIN["actions"])


def test_every_response_slot_and_intent_named_in_code_exists() -> None:
    for response in re.findall(r'response="(utter_\w+)"', ACTION_SOURCES):
        assert response in DOMAIN["responses"], response
    for name in re.findall(r'(?:SlotSet\(|get_slot\()"(\w+)"', ACTION_SOURCES):
        assert name in DOMAIN["slots"] or name == "requested_slot", name
    for intent in re.findall(r'"payload": "/(\w+)', ACTION_SOURCES):
        assert intent in DOMAIN["intents"], intent
    assert "/choose_article" in ACTION_SOURCES and "choose_article" in DOMAIN["intents"]


def rasa(*args: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([RASA, *args], cwd=REPO, env=rasa_env(), capture_output=True,
                          text=True, timeout=timeout, check=False)


@pytest.mark.slow
def test_rasa_data_validate_passes() -> None:
    result = rasa("data", "validate", "--config", "config.yml", "--domain", "bot/domain.yml",
                  "--data", "bot/data")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


@pytest.mark.slow
def test_conversation_tests_pass(tmp_path: Path) -> None:
    model = ensure_model(Settings(_env_file=None))  # type: ignore[call-arg]
    result = rasa("test", "core", "--stories", "bot/tests", "--model", str(model),
                  "--fail-on-prediction-errors", "--out", str(tmp_path))
    failed = (tmp_path / "failed_test_stories.yml")
    detail = failed.read_text() if failed.exists() else ""
    assert result.returncode == 0, detail[-3000:] + result.stderr[-2000:]
