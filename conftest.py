"""The seam between the test suite and the code under test, and the kata's progress summary.

`pytest exercises` runs tests/exercises against your stubs, `pytest solutions` against the
reference, `pytest exercises/dropout.py` only the dropout tests. Tests reach the code
through the `impl` fixture, never through an import, so an unfinished exercise fails its
own tests and nothing else.
"""

import copy
import importlib
import json
import os
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, Phase, settings

from kata.exercises import all_exercises, get_exercise

ROOT = Path(__file__).resolve().parent
EXERCISE_TESTS = ROOT / "tests" / "exercises"
PACKAGES = ("exercises", "solutions")

# Hypothesis: quick while a student iterates, more examples and reproducible in CI.
_common = dict(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
settings.register_profile("dev", max_examples=20, **_common)
settings.register_profile("ci", max_examples=100, derandomize=True, print_blob=True, **_common)
# Proving wrong implementations fail: reproducible, and no time spent shrinking.
settings.register_profile(
    "mutants", max_examples=20, derandomize=True, phases=[Phase.explicit, Phase.generate], **_common
)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
)

_IMPL = pytest.StashKey[str]()
_OUTCOMES = pytest.StashKey[dict]()
_EXERCISE_OF = pytest.StashKey[dict]()
_CONFIG: list[pytest.Config] = []  # logreport hooks get no config


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("kata")
    group.addoption("--impl", choices=PACKAGES, help="package under test (default: exercises)")
    group.addoption(
        "--kata-override",
        action="append",
        default=[],
        metavar="EXERCISE=MODULE",
        help="test MODULE in place of one exercise (used to prove the suite rejects wrong code)",
    )
    group.addoption("--kata-report", metavar="FILE", help="write per-exercise outcomes as JSON")


def _redirect(arg: str, invocation_dir: Path) -> tuple[str, str] | None:
    """Map `exercises`, `solutions/mlp.py`, ... to (package, test path); None for other args."""
    path_part, sep, rest = arg.partition("::")
    path = (invocation_dir / path_part).resolve()
    for package in PACKAGES:
        if path == ROOT / package:
            return package, str(EXERCISE_TESTS)
        if path.parent == ROOT / package and path.suffix == ".py" and path.stem != "__init__":
            get_exercise(path.stem)  # a clear error for a file that is not an exercise
            return package, str(EXERCISE_TESTS / f"test_{path.stem}.py")
    return None


def pytest_configure(config: pytest.Config) -> None:
    chosen = {config.getoption("impl")} - {None}
    for i, arg in enumerate(config.args):
        redirected = _redirect(arg, config.invocation_params.dir)
        if redirected:
            chosen.add(redirected[0])
            config.args[i] = redirected[1]
    if len(chosen) > 1:
        raise pytest.UsageError(f"test one package at a time, not {sorted(chosen)}")
    config.stash[_IMPL] = chosen.pop() if chosen else "exercises"
    config.stash[_OUTCOMES] = {}
    _CONFIG[:] = [config]


class Implementation:
    """The code under test: one module per exercise, imported when a test first asks."""

    def __init__(self, package: str, overrides: dict[str, str] | None = None) -> None:
        self.package = package
        self.overrides = overrides or {}

    def module(self, exercise: str) -> ModuleType:
        get_exercise(exercise)
        return importlib.import_module(self.overrides.get(exercise, f"{self.package}.{exercise}"))


@pytest.fixture(scope="session")
def impl(pytestconfig: pytest.Config) -> Implementation:
    """The package under test (`exercises` or `solutions`)."""
    overrides = dict(item.split("=", 1) for item in pytestconfig.getoption("kata_override"))
    return Implementation(pytestconfig.stash[_IMPL], overrides)


@pytest.fixture(scope="session")
def reference() -> Implementation:
    """The reference solutions: what one exercise's test uses for the pieces it needs."""
    return Implementation("solutions")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Remember which exercise each test belongs to (its `exercise` marker)."""
    config.stash[_EXERCISE_OF] = {
        item.nodeid: marker.args[0]
        for item in items
        if (marker := item.get_closest_marker("exercise")) is not None
    }


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> pytest.TestReport | None:
    """An untouched stub: one line that says where to go, instead of a long traceback."""
    if call.excinfo is None or not call.excinfo.errisinstance(NotImplementedError):
        return None
    if item.get_closest_marker("exercise") is None:
        return None
    short = copy.copy(call)
    short.excinfo = f"not written yet: {call.excinfo.value}"  # a string becomes the longrepr
    return pytest.TestReport.from_item_and_call(item, short)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    config = _CONFIG[0]
    exercise = config.stash.get(_EXERCISE_OF, {}).get(report.nodeid)
    if exercise is None:
        return
    outcomes = config.stash[_OUTCOMES].setdefault(exercise, {})
    if report.failed or (report.skipped and report.nodeid not in outcomes):
        outcomes[report.nodeid] = report.outcome
    elif report.when == "call" and outcomes.get(report.nodeid) != "failed":
        outcomes[report.nodeid] = "passed"


def _tally(config: pytest.Config) -> dict[str, Counter]:
    return {name: Counter(per_test.values()) for name, per_test in config.stash[_OUTCOMES].items()}


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    tally = _tally(config)
    if not tally:
        return
    report_path = config.getoption("kata_report")
    if report_path:
        Path(report_path).write_text(json.dumps({k: dict(v) for k, v in tally.items()}, indent=2))
    write = terminalreporter.write_line
    terminalreporter.section(f"kata progress ({config.stash[_IMPL]})", sep="=")
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
        mark = "x" if done else " "
        write(f"  [{mark}] {exercise.number}. {exercise.name:<15} {counts['passed']}/{total} pass")
    if next_up is not None:
        write("")
        write(f"Next: exercise {next_up.number}, {next_up.name} ({next_up.title})")
        write(f"  edit {next_up.stub_path}, then run: pytest exercises/{next_up.name}.py")
        write("  hint: " + next_up.hint.replace("\n", "\n        "))
