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


def test_serve_on_a_fresh_data_dir_builds_the_index_first(small_kb: Path,
                                                         tmp_path: Path) -> None:
    """A new user's first start: no index yet. The service indexes the KB before it serves,
    so /healthz is ok and searches answer, instead of a silent 503."""
    import time

    import httpx

    from frontline.rasa import free_port

    port, log = free_port(), tmp_path / "serve.log"
    env = {**os.environ, "FRONTLINE_DATA_DIR": str(tmp_path / "fresh"),
           "FRONTLINE_KB_DIR": str(small_kb), "HF_HUB_OFFLINE": "1"}
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "frontline.cli", "serve", "--port",
                                    str(port)], env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline, health = time.monotonic() + 180, None
        while time.monotonic() < deadline and health is None:
            assert process.poll() is None, log.read_text()[-3000:]
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
            except httpx.HTTPError:
                time.sleep(0.3)
        assert health is not None, log.read_text()[-3000:]
        assert health.status_code == 200 and health.json()["articles"] == 4
        hits = httpx.get(f"http://127.0.0.1:{port}/api/search",
                         params={"q": "I forgot my password"}).json()["hits"]
        assert hits[0]["article_id"] == "reset-password"
        assert "indexing" in log.read_text()  # it said why the start took longer
    finally:
        process.terminate()
        process.wait(timeout=30)
