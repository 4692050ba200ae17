"""The assistant's model: trained only when its inputs changed (their fingerprint)."""

from __future__ import annotations

import hashlib
import logging
import subprocess
import time
from pathlib import Path

from frontline.rasa.process import RasaError, rasa_env, rasa_executable
from frontline.settings import Settings

logger = logging.getLogger(__name__)

MODEL_NAME = "frontline"
TRAINING_INPUTS = ("config.yml", "bot/domain.yml", "bot/data")


def training_fingerprint(root: Path) -> str:
    """Digest of everything a trained model depends on: the config, domain and data."""
    digest = hashlib.sha256()
    for name in TRAINING_INPUTS:
        path = root / name
        files = sorted(path.rglob("*.yml")) if path.is_dir() else [path]
        for item in files:
            digest.update(item.relative_to(root).as_posix().encode())
            digest.update(item.read_bytes())
    return digest.hexdigest()


def ensure_model(settings: Settings) -> Path:
    """The trained model, training it only when the config, domain or data changed."""
    root = settings.rasa_project_dir
    models = settings.models_dir
    models = models if models.is_absolute() else root / models
    model = models / f"{MODEL_NAME}.tar.gz"
    stamp = models / f"{MODEL_NAME}.fingerprint"
    fingerprint = training_fingerprint(root)
    if model.exists() and stamp.exists() and stamp.read_text().strip() == fingerprint:
        logger.info("assistant model is up to date (%s)", model)
        return model
    logger.info("training the assistant (config.yml, bot/domain.yml, bot/data changed)")
    started = time.perf_counter()
    result = subprocess.run(
        [rasa_executable(settings), "train", "--config", "config.yml", "--domain",
         "bot/domain.yml", "--data", "bot/data", "--out", str(models), "--fixed-model-name",
         MODEL_NAME],
        cwd=root, env=rasa_env(), capture_output=True, text=True, check=False,
    )
    if result.returncode != 0 or not model.exists():
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-20:])
        raise RasaError(f"rasa train failed (exit {result.returncode}):\n{tail}")
    stamp.write_text(fingerprint + "\n")
    logger.info("trained the assistant in %.0f s", time.perf_counter() - started)
    return model
