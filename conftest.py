"""The seam between the test suite and the code under test, and the kata's progress summary.

`pytest exercises` runs tests/exercises against your stubs, `pytest solutions` against the
reference, `pytest exercises/dropout.py` only the dropout tests. Tests reach the code
through the `impl` fixture, never through an import, so an unfinished exercise fails its
own tests and nothing else.
"""

import copy
import functools
import importlib
import os
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, Phase, settings

from kata.exercises import all_exercises, check_exercise_files, get_exercise
from kata.progress import ProgressReport

ROOT = Path(__file__).resolve().parent
EXERCISE_TESTS = ROOT / "tests" / "exercises"
PACKAGES = ("exercises", "solutions")

# Hypothesis: quick while a student iterates, more examples and reproducible in CI.
_common = dict(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
# No shrinking while a student iterates: shrinking a failure of a wrong `narrow` kept them
# waiting close to a minute, and the strategies are bounded, so the first failing example
# is already small. CI (on the reference, which should not fail) still shrinks.
settings.register_profile(
    "dev",
    max_examples=20,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target],
    **_common,
)
settings.register_profile("ci", max_examples=100, derandomize=True, print_blob=True, **_common)
# Proving wrong implementations fail: reproducible, and no time spent shrinking.
settings.register_profile(
    "mutants", max_examples=20, derandomize=True, phases=[Phase.explicit, Phase.generate], **_common
)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
)

_IMPL = pytest.StashKey[str]()


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
    package = config.stash[_IMPL]
    problems = check_exercise_files("solution", "stub" if package == "exercises" else "test")
    if problems:
        raise pytest.UsageError("\n".join(problems))
    progress = ProgressReport(package, config.getoption("kata_report"))
    progress.whole_suite = any(
        (config.invocation_params.dir / arg.partition("::")[0]).resolve() == EXERCISE_TESTS
        for arg in config.args
    )
    config.pluginmanager.register(progress, "kata-progress")


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


class StubNotWritten(BaseException):
    """A NotImplementedError from a stub, carried past hypothesis.

    Hypothesis catches an Exception and spends seconds shrinking the example that raised
    it; for an untouched stub every example fails the same way, so the error leaves at the
    first example instead.
    """


def _stop_at_a_stub(test):
    @functools.wraps(test)
    def wrapper(*args, **kwargs):
        try:
            return test(*args, **kwargs)
        except NotImplementedError as error:
            raise StubNotWritten(str(error)) from error

    wrapper.kata_stops_at_stubs = True
    return wrapper


def _exercise_number(item: pytest.Item) -> int:
    marker = item.get_closest_marker("exercise")
    numbers = {e.name: e.number for e in all_exercises()}
    return numbers.get(marker.args[0], len(numbers) + 1) if marker else len(numbers) + 1


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Exercise order (1 to 6), not alphabetical; a stable sort keeps each file's own order.
    items.sort(key=_exercise_number)
    for item in items:
        hypothesis = getattr(getattr(item, "obj", None), "hypothesis", None)
        if item.get_closest_marker("exercise") and hypothesis is not None:
            if not getattr(hypothesis.inner_test, "kata_stops_at_stubs", False):
                hypothesis.inner_test = _stop_at_a_stub(hypothesis.inner_test)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> pytest.TestReport | None:
    """An untouched stub: one line that says where to go, instead of a long traceback."""
    if call.excinfo is None or not call.excinfo.errisinstance(
        (NotImplementedError, StubNotWritten)
    ):
        return None
    if item.get_closest_marker("exercise") is None:
        return None
    short = copy.copy(call)
    short.excinfo = f"not written yet: {call.excinfo.value}"  # a string becomes the longrepr
    return pytest.TestReport.from_item_and_call(item, short)
