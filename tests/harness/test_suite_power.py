"""The suite can fail: the reference passes, every stub fails every test, every mutant is caught."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kata.exercises import all_exercises
from tests.mutation import all_mutants, exercise_of

ROOT = Path(__file__).resolve().parents[2]
MUTANTS = all_mutants()
EXERCISES = [e.name for e in all_exercises()]


def run_pytest(*args: str, report: Path | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args]
    if report is not None:
        command += ["--kata-report", str(report)]
    env = {**os.environ, "HYPOTHESIS_PROFILE": os.environ.get("HYPOTHESIS_PROFILE", "dev")}
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env, timeout=900)


def outcomes(report: Path) -> dict[str, dict[str, int]]:
    return json.loads(report.read_text())


def test_every_exercise_has_wrong_answers_to_reject():
    assert MUTANTS, "no mutants found"
    assert {exercise_of(m) for m in MUTANTS} == set(EXERCISES)  # raises for a stray name


def test_the_reference_passes_every_test(tmp_path):
    result = run_pytest("solutions", report=tmp_path / "report.json")
    assert result.returncode == 0, result.stdout[-3000:]
    counts = outcomes(tmp_path / "report.json")
    assert set(counts) == set(EXERCISES)
    for exercise, count in counts.items():
        assert count.get("passed", 0) > 0 and set(count) == {"passed"}, (exercise, count)


def test_every_test_fails_on_the_untouched_stubs(tmp_path):
    # A test that passes on a stub checks nothing.
    result = run_pytest("exercises", report=tmp_path / "report.json")
    assert result.returncode == 1, result.stdout[-3000:]
    counts = outcomes(tmp_path / "report.json")
    assert set(counts) == set(EXERCISES)
    for exercise, count in counts.items():
        assert set(count) == {"failed"}, f"{exercise}: {count} (every test must fail on the stub)"
    assert "not written yet: exercise 1 (normalization)" in result.stdout
    assert "Next: exercise 1, normalization" in result.stdout
    assert "Traceback" not in result.stdout


def test_one_exercise_file_runs_only_its_own_tests(tmp_path):
    result = run_pytest("exercises/dropout.py", report=tmp_path / "report.json")
    assert result.returncode == 1, result.stdout[-3000:]
    assert set(outcomes(tmp_path / "report.json")) == {"dropout"}


def test_finishing_one_exercise_turns_exactly_its_tests_green(tmp_path):
    # As if the student had written the dropout exercise: the reference stands in for it.
    result = run_pytest(
        "exercises", "--kata-override=dropout=solutions.dropout", report=tmp_path / "report.json"
    )
    counts = outcomes(tmp_path / "report.json")
    assert set(counts.pop("dropout")) == {"passed"}, result.stdout[-3000:]
    assert all(set(count) == {"failed"} for count in counts.values()), counts
    assert "[x] 4. dropout" in result.stdout and "Next: exercise 1, normalization" in result.stdout


def test_the_order_of_the_run_and_the_summary_come_last(tmp_path):
    result = run_pytest("exercises", "-k", "dropout or activations")
    out = result.stdout
    assert out.index("test_activations.py") < out.index("test_dropout.py"), out[-3000:]
    tail = out.rstrip().splitlines()
    assert tail[-1].startswith("  more: python -m kata hint activations --more"), tail[-12:]
    assert any("failed" in line and "deselected" in line for line in tail[:-6]), tail


def test_an_exercise_without_tests_fails_the_reference_run():
    result = run_pytest(
        "solutions", "--ignore=tests/exercises/test_dropout.py", "-k", "activations"
    )
    assert result.returncode == 1, result.stdout[-3000:]
    assert "exercise 4 (dropout) has no tests" in result.stdout


def test_a_failing_reference_speaks_to_the_maintainer():
    result = run_pytest(
        "solutions", "--kata-override=dropout=tests.mutants.dropout_no_rescale", "-k", "dropout"
    )
    assert result.returncode == 1
    assert "The reference fails its own tests: solutions/dropout.py" in result.stdout
    assert "edit exercises/" not in result.stdout


def test_every_mutant_is_rejected(tmp_path):
    command = [sys.executable, "-m", "tests.mutation", "--json", str(tmp_path / "mutants.json")]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=1800)
    outcomes = json.loads((tmp_path / "mutants.json").read_text())
    assert set(outcomes) == set(MUTANTS)
    survivors = [
        name for name, r in outcomes.items() if not (r["exit_code"] == 1 and r["killed_by"])
    ]
    assert not survivors, f"wrong implementations not rejected: {survivors}\n{result.stdout}"
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", MUTANTS)
def test_mutant_documents_its_mistake(name):
    source = (ROOT / "tests" / "mutants" / f"{name}.py").read_text()
    assert source.startswith('"""'), f"{name}: say in a docstring which mistake it is"


def test_the_summary_after_the_last_exercise_says_what_comes_next():
    from kata.progress import AFTER_THE_EXERCISES, ProgressReport

    report = ProgressReport("exercises")
    report.outcomes = {name: {f"{name}::t": "passed"} for name in EXERCISES}
    lines = report.lines()
    assert lines[-len(AFTER_THE_EXERCISES) :] == list(AFTER_THE_EXERCISES)
    assert "kata run" in " ".join(lines) and "notebooks" in " ".join(lines)
    report.outcomes["dropout"]["dropout::t"] = "failed"
    assert any(line.startswith("Next: exercise 4, dropout") for line in report.lines())
