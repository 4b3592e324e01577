"""The kata's progress summary at the end of a test run: a pytest plugin.

Groups test outcomes by the exercise each test belongs to (its `exercise` marker), prints
which exercises pass, which is next and its hint, and can write the counts as JSON
(`--kata-report FILE`, which the harness uses to prove every stub test fails).
"""

import json
from collections import Counter
from pathlib import Path

import pytest

from .exercises import all_exercises


class ProgressReport:
    def __init__(self, package: str, report_path: str | None = None) -> None:
        self.package = package
        self.report_path = report_path
        self.exercise_of: dict[str, str] = {}  # test node id -> exercise
        self.outcomes: dict[str, dict[str, str]] = {}  # exercise -> node id -> outcome

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        self.exercise_of = {
            item.nodeid: marker.args[0]
            for item in items
            if (marker := item.get_closest_marker("exercise")) is not None
        }

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

    def pytest_terminal_summary(self, terminalreporter) -> None:
        tally = self.tally()
        if not tally:
            return
        if self.report_path:
            counts = {name: dict(count) for name, count in tally.items()}
            Path(self.report_path).write_text(json.dumps(counts, indent=2))
        write = terminalreporter.write_line
        terminalreporter.section(f"kata progress ({self.package})", sep="=")
        next_up = None
        for exercise in all_exercises():
            counts = tally.get(exercise.name)
            if counts is None:
                write(f"  [ ] {exercise.number}. {exercise.name:<15} not run")
                continue
            total = sum(counts.values())
            done = counts["passed"] == total
            if not done and next_up is None:
                next_up = exercise
            passed = f"{counts['passed']}/{total} pass"
            write(f"  [{'x' if done else ' '}] {exercise.number}. {exercise.name:<15} {passed}")
        if next_up is not None:
            write("")
            write(f"Next: exercise {next_up.number}, {next_up.name} ({next_up.title})")
            write(f"  edit {next_up.stub_path}, then run: pytest exercises/{next_up.name}.py")
            write("  hint: " + next_up.hint.replace("\n", "\n        "))
