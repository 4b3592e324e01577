"""The kata's progress summary at the end of a test run: a pytest plugin.

Groups test outcomes by the exercise each test belongs to (its `exercise` marker) and
prints, as the very last lines of the run (after pytest's own "N passed" line), which
exercises pass, which is next and its hint, or what comes after the exercises when all
pass. For `pytest solutions` it speaks to the maintainer instead. It can write the counts
as JSON (`--kata-report FILE`, which the harness uses to prove every stub test fails).
"""

import json
from collections import Counter
from pathlib import Path

import pytest

from .exercises import Exercise, all_exercises

AFTER_THE_EXERCISES = (
    "Every exercise passes. Next: the main job, `python -m kata run` (the staged search,",
    "the final training, one evaluation on the test set, the report), then the notebooks.",
    "`python -m kata train --use exercises` trains with your own code.",
)


class ProgressReport:
    def __init__(self, package: str, report_path: str | None = None) -> None:
        self.package = package
        self.report_path = report_path
        self.exercise_of: dict[str, str] = {}  # test node id -> exercise
        self.outcomes: dict[str, dict[str, str]] = {}  # exercise -> node id -> outcome
        self.untested: list[Exercise] = []  # exercises with no test in a whole-suite run
        self.whole_suite = False

    @pytest.hookimpl(tryfirst=True)  # before -k and --deselect: "has no tests" means none
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        self.exercise_of = {
            item.nodeid: marker.args[0]
            for item in items
            if (marker := item.get_closest_marker("exercise")) is not None
        }
        if self.whole_suite:
            tested = set(self.exercise_of.values())
            self.untested = [e for e in all_exercises() if e.name not in tested]

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        exercise = self.exercise_of.get(report.nodeid)
        if exercise is None:
            return
        outcomes = self.outcomes.setdefault(exercise, {})
        if report.failed or (report.skipped and report.nodeid not in outcomes):
            outcomes[report.nodeid] = report.outcome
        elif report.when == "call" and outcomes.get(report.nodeid) != "failed":
            outcomes[report.nodeid] = "passed"

    def tally(self) -> dict[str, Counter]:
        return {name: Counter(per_test.values()) for name, per_test in self.outcomes.items()}

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.untested and session.exitstatus == 0:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        tally = self.tally()
        if self.report_path and tally:
            counts = {name: dict(count) for name, count in tally.items()}
            Path(self.report_path).write_text(json.dumps(counts, indent=2))

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        """Print the summary last: pytest's own summary line is written before this hook."""
        terminal = config.pluginmanager.get_plugin("terminalreporter")
        if terminal is None or (not self.outcomes and not self.untested):
            return
        lines = self.lines()
        terminal.write_sep("=", f"kata progress ({self.package})")
        for line in lines:
            terminal.write_line(line)

    def lines(self) -> list[str]:
        tally = self.tally()
        lines, failing = [], []
        for exercise in all_exercises():
            counts = tally.get(exercise.name)
            if counts is None:
                lines.append(f"  [ ] {exercise.number}. {exercise.name:<15} not run")
                continue
            total = sum(counts.values())
            done = counts["passed"] == total
            if not done:
                failing.append(exercise)
            passed = f"{counts['passed']}/{total} pass"
            lines.append(
                f"  [{'x' if done else ' '}] {exercise.number}. {exercise.name:<15} {passed}"
            )
        for exercise in self.untested:
            lines.append(
                f"ERROR: exercise {exercise.number} ({exercise.name}) has no tests: "
                f"add {exercise.test_path} with pytestmark = pytest.mark.exercise("
                f"{exercise.name!r})"
            )
        if self.package == "solutions":
            lines += self._maintainer_lines(failing, tally)
        else:
            lines += self._student_lines(failing, tally)
        return lines

    def _student_lines(self, failing: list[Exercise], tally: dict[str, Counter]) -> list[str]:
        if failing:
            up = failing[0]
            return [
                "",
                f"Next: exercise {up.number}, {up.name} ({up.title})",
                f"  edit {up.stub_path}, then run: pytest exercises/{up.name}.py",
                "  hint: " + up.hint.replace("\n", "\n        "),
                f"  more: python -m kata hint {up.name} --more",
            ]
        if len(tally) == len(all_exercises()):
            return ["", *AFTER_THE_EXERCISES]
        return []

    def _maintainer_lines(self, failing: list[Exercise], tally: dict[str, Counter]) -> list[str]:
        if failing:
            names = ", ".join(f"solutions/{e.name}.py" for e in failing)
            return [
                "",
                f"The reference fails its own tests: {names}. Fix the solution or the test",
                "(tests/exercises/), then run `python -m kata stubs` if a solution changed.",
            ]
        if len(tally) == len(all_exercises()) and not self.untested:
            return ["", "The reference passes every exercise's tests."]
        return []
