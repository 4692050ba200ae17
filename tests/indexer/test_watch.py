"""``watch_changes`` (``frontline index --watch``): a real ``watchfiles`` watcher on a real
folder reports written, created, deleted and renamed article files, a full scan comes first
and again every ``rescan_s`` seconds, and the reported paths give the scan a walk gives."""

from __future__ import annotations

import threading
import time
from collections.abc import Generator
from pathlib import Path

import pytest

from indexer import articles

WAIT_S = 20.0  # a generous bound for one batch on a loaded machine; a batch takes ~0.3 s


def _next(changes: Generator[list[Path] | None, None, None]) -> list[Path] | None:
    """The generator's next item, or a failure (not a hang) after WAIT_S."""
    box: list[object] = []
    thread = threading.Thread(target=lambda: box.append(next(changes)), daemon=True)
    thread.start()
    thread.join(WAIT_S)
    assert box, f"nothing reported within {WAIT_S} s"
    return box[0]  # type: ignore[return-value]


def _until(changes: Generator[list[Path] | None, None, None], wanted: set[Path]) -> set[Path]:
    """Batches until every path of ``wanted`` was reported (editors' writes may split)."""
    seen: set[Path] = set()
    deadline = time.monotonic() + WAIT_S
    while not wanted <= seen:
        assert time.monotonic() < deadline, f"not reported: {wanted - seen}"
        batch = _next(changes)
        assert batch is not None  # no full scan asked for in between
        seen |= set(batch)
    return seen


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    folder = tmp_path / "kb"
    folder.mkdir()
    for name in ("a", "b", "c"):
        (folder / f"{name}.md").write_text(f"---\ntitle: {name.upper()}\n---\nBody {name}.\n")
    return folder


def test_edits_creations_deletions_and_renames_are_reported(kb: Path,
                                                             tmp_path: Path) -> None:
    cache = tmp_path / "cache.sqlite"
    stop = threading.Event()
    changes = articles.watch_changes(kb, rescan_s=3600, debounce_ms=50, stop_event=stop)
    try:
        assert _next(changes) is None  # a full scan first
        articles.scan_articles(kb, cache=cache)
        (kb / "a.md").write_text("---\ntitle: A2\n---\nBody a, edited.\n")
        (kb / "d.md").write_text("---\ntitle: D\n---\nBody d.\n")
        (kb / "b.md").unlink()
        (kb / "c.md").rename(kb / "e.md")
        named = {kb / "a.md", kb / "d.md", kb / "b.md", kb / "c.md", kb / "e.md"}
        seen = _until(changes, named)
        scan = articles.scan_articles(kb, cache=cache, changed=sorted(seen))
        assert [(e.id, e.path) for e in scan.listed] == [
            (e.id, e.path) for e in articles.scan_articles(kb).listed]
        assert [e.id for e in scan.listed] == ["a", "d", "e"]
        assert scan.article(scan.listed[0]).title == "A2"
    finally:
        stop.set()
        changes.close()


def test_a_full_scan_comes_again_every_rescan_s(kb: Path) -> None:
    changes = articles.watch_changes(kb, rescan_s=0.5, debounce_ms=50)
    try:
        assert _next(changes) is None
        started = time.monotonic()
        assert _next(changes) is None  # nothing changed: the periodic scan
        assert time.monotonic() - started >= 0.5
    finally:
        changes.close()


def test_a_missing_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="knowledge-base folder not found"):
        next(articles.watch_changes(tmp_path / "missing"))


def test_the_cli_indexes_a_change_list_and_watches(small_kb: Path, tmp_path: Path) -> None:
    """``frontline index --changed PATH`` and ``--watch`` as an editor runs them (the real
    model, a subprocess each)."""
    import json
    import os
    import queue
    import signal
    import subprocess
    import sys

    from tests.conftest import write_article

    env = {**os.environ, "FRONTLINE_DATA_DIR": str(tmp_path / "data"), "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-m", "frontline.cli", "index", "--kb", str(small_kb)]

    def run(*args: str) -> dict[str, object]:
        done = subprocess.run([*command, *args], capture_output=True, text=True, env=env,
                              timeout=300, check=False)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)  # type: ignore[no-any-return]

    assert run("--json")["articles"] == 4
    edited = write_article(small_kb, "reset-password", "Reset your password",
                           "New reset steps.")
    summary = run("--json", "--changed", str(edited), "--changed", str(small_kb / "gone.md"))
    assert (summary["articles"], summary["reembedded"], summary["removed"]) == (4, 1, 0)

    watcher = subprocess.Popen([*command, "--watch", "--rescan-every", "3600"], env=env,
                               stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        for line in watcher.stderr or ():
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()

    def wait_for(text: str) -> str:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=1)
            except queue.Empty:
                assert watcher.poll() is None, "the watcher exited"
                continue
            if text in line:
                return line
        raise AssertionError(f"no {text!r} from the watcher")

    try:
        wait_for("watching")
        time.sleep(1.0)  # past the start-up scan (nothing changed: no version line)
        write_article(small_kb, "export-data", "Export your data", "Choose Export in Settings.")
        line = wait_for("changed path(s)")
        assert "5 articles, 1 re-embedded" in line
        (small_kb / "bad.md").write_text("---\ntitle: [unclosed\n---\nBody\n")
        assert "bad.md:2: invalid YAML" in wait_for("error:")  # reported; still watching
        (small_kb / "bad.md").write_text("---\ntitle: Fixed\n---\nBody\n")
        assert "6 articles, 1 re-embedded" in wait_for("changed path(s)")
    finally:
        watcher.send_signal(signal.SIGINT)
        watcher.wait(timeout=30)
