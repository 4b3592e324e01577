"""The stub generator: exercises/ is written from solutions/ and must not drift."""

import pytest

from kata import stubs
from kata.exercises import Exercise, all_exercises, get_exercise

EXERCISE = Exercise(number=7, name="demo", title="Demo", hint="a hint")

SOLUTION = '''"""Doc."""

import torch


def f(x: int) -> int:
    """Square x."""
    # BEGIN SOLUTION
    y = x * x
    return y
    # END SOLUTION


class C:
    def method(self) -> None:
        # BEGIN SOLUTION
        pass
        # END SOLUTION
'''


def test_the_committed_stubs_match_the_generator():
    diffs = stubs.check()
    assert not diffs, "exercises/ differs from solutions/; run `python -m kata stubs`\n" + "".join(
        diffs
    )


def test_a_solution_block_becomes_a_raise_that_names_exercise_function_and_hint():
    stub = stubs.make_stub(SOLUTION, EXERCISE)
    assert "x * x" not in stub and "pass" not in stub
    assert '    """Square x."""\n    raise NotImplementedError(' in stub
    assert "exercise 7 (demo): f in exercises/demo.py" in stub
    assert "C.method in exercises/demo.py" in stub
    assert "python -m kata hint demo" in stub
    assert "        raise NotImplementedError(" in stub  # the method's indentation kept
    assert "import torch" in stub and "def f(x: int) -> int:" in stub


def test_a_stub_is_valid_python_that_raises_not_implemented():
    namespace: dict = {}
    exec(compile(stubs.make_stub(SOLUTION, EXERCISE), "demo.py", "exec"), namespace)
    with pytest.raises(NotImplementedError, match="exercise 7"):
        namespace["f"](3)


@pytest.mark.parametrize(
    "broken, problem",
    [
        (SOLUTION.replace("    # END SOLUTION\n\n\nclass", "\n\nclass", 1), "nested"),
        (SOLUTION.replace("        # END SOLUTION\n", ""), "never closed"),
        (SOLUTION.replace("    # BEGIN SOLUTION\n    y", "    y"), "without BEGIN"),
        ('"""No blocks."""\n', "no SOLUTION block"),
    ],
)
def test_unbalanced_markers_are_an_error(broken, problem):
    with pytest.raises(stubs.MarkerError, match=problem):
        stubs.make_stub(broken, EXERCISE)


def test_every_exercise_has_a_solution_a_stub_a_test_and_a_hint():
    root = stubs.EXERCISES_DIR.parent
    for exercise in all_exercises():
        assert (root / "solutions" / f"{exercise.name}.py").exists()
        assert (root / exercise.stub_path).exists()
        assert (root / exercise.test_path).exists()
        assert len(exercise.hint) > 40


def test_an_unknown_exercise_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match="normalization, augmentations"):
        get_exercise("normalisation")
