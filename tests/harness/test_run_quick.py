"""`kata run --quick` as a user runs it, on the real data: interrupted, resumed, finished.

About three minutes on two cores; needs the real Fashion-MNIST files (`real_data`).
"""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kata.data import DataNotFoundError, find_data_dir

FILES = (
    "report.html",
    "metrics.json",
    "best_config.yaml",
    "trials.csv",
    "model.pt",
    "curves.json",
    "test_samples.npz",
)
ROOT = Path(__file__).resolve().parents[2]


def kata(*args, **kwargs):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "kata", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **kwargs,
    )


def finished_trials(out: Path) -> dict[str, dict]:
    trials = {}
    for state in (out / "search").glob("stage-*/sweep.json"):
        for run in json.loads(state.read_text())["runs"]:
            if run["state"] in ("finished", "failed", "stopped"):
                trials[run["run_id"]] = run
    return trials


@pytest.fixture(scope="module")
def real_data():
    try:
        find_data_dir(download=False)
    except DataNotFoundError as error:
        if os.environ.get("KATA_REQUIRE_REAL_DATA"):
            pytest.fail(f"KATA_REQUIRE_REAL_DATA is set but the data is missing: {error}")
        pytest.skip("the real Fashion-MNIST files are not installed")


@pytest.mark.real_data
def test_quick_job_interrupted_resumed_and_finished(real_data, tmp_path):
    out = tmp_path / "run"
    args = ("run", "--quick", "--out", str(out), "--wandb", "offline", "--quiet")
    first = kata(*args, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(finished_trials(out)) < 3:
        time.sleep(0.5)
    assert len(finished_trials(out)) >= 3, "no trial finished within 2 minutes"
    before = finished_trials(out)
    os.killpg(first.pid, signal.SIGINT)  # Ctrl-C reaches the whole process group
    output, _ = first.communicate(timeout=60)
    assert first.returncode == 130, output
    assert output.strip().endswith("interrupted; run the same command to resume"), output
    assert "Traceback" not in output

    second = kata(*args)
    output, _ = second.communicate(timeout=600)
    assert second.returncode == 0, output
    for name in FILES:
        assert (out / name).is_file(), f"{name} missing:\n{output}"
    assert list((out / "figures").glob("*.png")), "no PNG figures"
    after = finished_trials(out)
    for run_id, run in before.items():  # a finished trial is never run again
        assert after[run_id]["params"] == run["params"]
        assert after[run_id]["summary"] == run["summary"]
        assert after[run_id].get("attempts", 1) == run.get("attempts", 1)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test_accuracy"] >= 0.85, metrics
    with open(out / "trials.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(after)
    assert len({row["trial"] for row in rows}) == len(rows)  # ids unique across stages

    third = kata(*args)  # a finished job: the stored result, not a second test evaluation
    output, _ = third.communicate(timeout=120)
    assert third.returncode == 0 and "holds a finished job" in output, output
    assert json.loads((out / "metrics.json").read_text()) == metrics
