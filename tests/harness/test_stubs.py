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
        assert len(exercise.hint) > 40 and len(exercise.more) > 40


def test_code_after_a_solution_block_in_the_same_body_is_an_error():
    unreachable = SOLUTION.replace(
        "    # END SOLUTION\n\n\nclass", "    # END SOLUTION\n    y = 1\n\n\nclass"
    )
    with pytest.raises(stubs.MarkerError, match="unreachable"):
        stubs.make_stub(unreachable, EXERCISE)


@pytest.fixture
def exercises_dir(tmp_path, monkeypatch):
    """A scratch exercises/ folder holding freshly generated stubs."""
    target = tmp_path / "exercises"
    monkeypatch.setattr(stubs, "EXERCISES_DIR", target)
    changed, saved = stubs.write()
    assert saved is None and len(changed) == len(all_exercises()) + 1
    return target


def test_writing_over_untouched_stubs_is_allowed(exercises_dir):
    stale = exercises_dir / "dropout.py"
    text = stale.read_text()
    # An untouched stub from an older solutions/: another docstring, a matching fingerprint.
    older = stubs._with_fingerprint(stubs.FINGERPRINT.sub("", text).replace("Inverted", "Old"))
    stale.write_text(older)
    assert stubs.check() and not stubs.edited_files()
    changed, saved = stubs.write()
    assert changed == [stale] and saved is None and stale.read_text() == text


def test_a_students_work_is_never_overwritten(exercises_dir):
    work = exercises_dir / "dropout.py"
    answer = work.read_text().replace("raise NotImplementedError(", "return x  # mine\n(", 1)
    work.write_text(answer)
    with pytest.raises(stubs.StudentWorkError, match="dropout.py"):
        stubs.write()
    assert work.read_text() == answer


def test_force_backs_the_work_up_first(exercises_dir):
    work = exercises_dir / "mlp.py"
    work.write_text(work.read_text() + "# my answer\n")
    changed, saved = stubs.write(force=True)
    assert saved is not None and saved.name.startswith("exercises.bak-")
    assert (saved / "mlp.py").read_text().endswith("# my answer\n")
    assert changed == [work] and not stubs.edited_files()


def test_a_missing_solution_file_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(stubs, "SOLUTIONS_DIR", tmp_path)
    with pytest.raises(stubs.StubError, match="solutions/normalization.py does not exist"):
        stubs.expected_files()


def test_an_unknown_exercise_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match="normalization, augmentations"):
        get_exercise("normalisation")


def test_check_tells_a_student_what_it_is_for(exercises_dir, capsys):
    from kata.cli import main

    (exercises_dir / "dropout.py").write_text("# my answer\n")
    assert main(["stubs", "--check"]) == 1
    out = capsys.readouterr().out
    assert "maintainers' check" in out and "pytest exercises" in out
    assert "run `python -m kata stubs`" not in out
    assert main(["stubs"]) == 1
    assert "--force" in capsys.readouterr().err


def test_hint_in_two_steps(capsys):
    from kata.cli import main

    assert main(["hint", "dropout"]) == 0
    first = capsys.readouterr().out
    assert "--more" in first and "rand_like" not in first
    assert main(["hint", "dropout", "--more"]) == 0
    assert "A step further" in capsys.readouterr().out


def test_an_exercise_without_its_files_is_named(monkeypatch, tmp_path):
    from kata import exercises

    monkeypatch.setattr(exercises, "ROOT", tmp_path)
    problems = exercises.check_exercise_files("solution", "test")
    assert len(problems) == 2 * len(all_exercises())
    assert "exercise 4 (dropout), but its solution file solutions/dropout.py" in " ".join(problems)
    monkeypatch.undo()
    assert exercises.check_exercise_files("solution", "test", "stub") == []
