"""`frontline run` as an operator uses it: both processes start, stop together, and a Rasa
crash is reported with a non-zero exit."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from frontline.rasa import free_port


def start(data: Path, kb: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "FRONTLINE_DATA_DIR": str(data), "FRONTLINE_KB_DIR": str(kb)}
    with open(log, "wb") as out:
        return subprocess.Popen([sys.executable, "-m", "frontline.cli", "run", "--port",
                                 str(port)], env=env, stdout=out, stderr=subprocess.STDOUT)


def wait_until_up(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()[-3000:]
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).json()["rasa"] == "up":
                return
        except (httpx.HTTPError, ValueError, KeyError):
            pass
        time.sleep(0.5)
    raise AssertionError("frontline run did not come up:\n" + log.read_text()[-3000:])


def rasa_pids(data: Path) -> list[int]:
    found = subprocess.run(["pgrep", "-f", f"{data}/rasa/endpoints.yml"], capture_output=True,
                           text=True, check=False)
    return [int(pid) for pid in found.stdout.split()]


@pytest.fixture
def data_dir(sample_index: Path, tmp_path: Path) -> Path:
    shutil.copytree(sample_index / "index", tmp_path / "index")
    return tmp_path


def test_sigterm_stops_both_processes(data_dir: Path, sample_index: Path) -> None:
    port, log = free_port(), data_dir / "run.log"
    process = start(data_dir, sample_index / "kb", port, log)
    try:
        wait_until_up(port, process, log)
        assert rasa_pids(data_dir)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0, log.read_text()[-3000:]
        assert rasa_pids(data_dir) == []
    finally:
        process.kill()


def test_a_rasa_crash_is_reported_and_stops_the_run(data_dir: Path, sample_index: Path) -> None:
    port, log = free_port(), data_dir / "run.log"
    process = start(data_dir, sample_index / "kb", port, log)
    try:
        wait_until_up(port, process, log)
        for pid in rasa_pids(data_dir):
            os.kill(pid, signal.SIGKILL)
        assert process.wait(timeout=60) == 1
        output = log.read_text()
        assert "ERROR frontline.cli.run" in output and "exited" in output and "code -9" in output
    finally:
        process.kill()
