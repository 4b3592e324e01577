"""Correct answers written in other styles pass every test, with random examples, every run.

A test that rejects a right answer is the worst defect a kata can have: the student is
told they are wrong when they are not. tests/alternatives/ holds at least two correct
implementations per exercise, in styles other than the reference's (float32, Welford,
numpy, Bernoulli masks, a ModuleList network, a literal dict, log-space narrowing, ...).
Each run draws fresh hypothesis examples (profile `dev`, not derandomised), as a
student's `pytest exercises` does. KATA_ALTERNATIVE_RUNS sets the number of runs (2);
`python -m tests.alternatives --runs 10` is the longer check.
"""

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from kata.exercises import all_exercises
from tests.alternatives.__main__ import all_alternatives
from tests.mutation import exercise_of

ROOT = Path(__file__).resolve().parents[2]
RUNS = int(os.environ.get("KATA_ALTERNATIVE_RUNS", "2"))


def test_every_exercise_has_at_least_two_correct_alternatives():
    per_exercise = Counter(exercise_of(name) for name in all_alternatives())
    for exercise in all_exercises():
        assert per_exercise[exercise.name] >= 2, (exercise.name, per_exercise)


def test_every_alternative_is_documented():
    for name in all_alternatives():
        source = (ROOT / "tests" / "alternatives" / f"{name}.py").read_text()
        assert source.startswith('"""'), f"{name}: say in a docstring which style it is"


def test_every_correct_alternative_passes_every_test(tmp_path):
    report = tmp_path / "alternatives.json"
    command = [sys.executable, "-m", "tests.alternatives", "--runs", str(RUNS)]
    command += ["--json", str(report)]
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "HYPOTHESIS_PROFILE")}
    result = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, env=env, timeout=3600
    )
    outcomes = json.loads(report.read_text())
    assert set(outcomes) == set(all_alternatives())
    rejected = {
        name: sorted({test for run in runs for test in run["failed"]} or {"(error)"})
        for name, runs in outcomes.items()
        if any(run["exit_code"] != 0 for run in runs)
    }
    assert not rejected, f"correct answers rejected: {rejected}\n{result.stdout[-6000:]}"
    assert f"accepted over {RUNS} runs" in result.stdout, result.stdout[-3000:]
