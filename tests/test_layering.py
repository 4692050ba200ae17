"""The layering of docs/architecture.md, as the import contract in pyproject.toml checks it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

LINT = Path(sys.executable).parent / "lint-imports"
PACKAGES = ("frontline", "indexer", "bot", "integrations")


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LINT), "--config", str(root / "pyproject.toml"), "--no-cache"],
                          cwd=root, capture_output=True, text=True, check=False,
                          env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"})


def test_the_code_keeps_the_import_contract() -> None:
    result = _lint(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(("module", "line", "broken"), [
    ("indexer/text.py", "import frontline.settings", "The indexer imports nothing of Frontline"),
    ("integrations/webchat/routes.py", "import bot.actions.common",
     "Surfaces never import one another"),
    ("frontline/api/routes/search.py", "import frontline.evaluation.run",
     "The service never imports the evaluation package"),
    ("frontline/knowledge/base.py", "import frontline.support.chat", "Layers"),
])
def test_a_shortcut_across_layers_fails_the_check(tmp_path: Path, module: str, line: str,
                                                   broken: str) -> None:
    for package in PACKAGES:
        shutil.copytree(REPO / package, tmp_path / package,
                        ignore=shutil.ignore_patterns("__pycache__", "static", "*.yml"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / module
    target.write_text(target.read_text() + f"\n{line}  # noqa\n")
    result = _lint(tmp_path)
    assert result.returncode != 0
    verdicts = [line for line in result.stdout.splitlines() if line.endswith(("KEPT", "BROKEN"))]
    assert any(v.startswith(broken) and v.endswith("BROKEN") for v in verdicts), result.stdout
