"""`frontline index` as a KB editor runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import write_article


def frontline(*args: str, data: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FRONTLINE_DATA_DIR": str(data), "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "frontline.cli", *args],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )


def test_index_json_prints_one_summary_object(small_kb: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = frontline("index", "--kb", str(small_kb), "--json", data=data)
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert set(summary) == {"articles", "chunks", "reembedded", "removed", "seconds",
                            "chunks_per_s"}
    assert (summary["articles"], summary["reembedded"]) == (4, 4)
    write_article(small_kb, "reset-password", "Reset your password", "New reset steps.")
    (small_kb / "mobile-offline.md").unlink()
    second = json.loads(frontline("index", "--kb", str(small_kb), "--json", data=data).stdout)
    assert (second["articles"], second["reembedded"], second["removed"]) == (3, 1, 1)
    full = json.loads(frontline("index", "--kb", str(small_kb), "--json", "--full",
                                data=data).stdout)
    assert full["reembedded"] == 3


def test_index_names_the_broken_file_and_can_skip_it(small_kb: Path, tmp_path: Path) -> None:
    (small_kb / "bad.md").write_text("---\ntitle: [unclosed\n---\nBody\n")
    failed = frontline("index", "--kb", str(small_kb), "--json", data=tmp_path / "d")
    assert failed.returncode == 1 and failed.stdout == ""
    assert "bad.md:2: invalid YAML" in failed.stderr
    skipped = frontline("index", "--kb", str(small_kb), "--skip-invalid", data=tmp_path / "d")
    assert skipped.returncode == 0, skipped.stderr
    assert "skipped:" in skipped.stderr and "bad.md:2" in skipped.stderr
    assert "Index summary" in skipped.stdout
