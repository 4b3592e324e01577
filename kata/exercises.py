"""The kata's exercise list and hints, read from exercises.toml (one place for both)."""

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS_DIR = ROOT / "solutions"
EXERCISES_DIR = ROOT / "exercises"


@dataclass(frozen=True)
class Exercise:
    number: int
    name: str
    title: str
    hint: str  # a nudge: where to look, what to think about; never the answer
    more: str = ""  # the next step, for `kata hint NAME --more`: closer, still not the code

    @property
    def stub_path(self) -> str:
        return f"exercises/{self.name}.py"

    @property
    def test_path(self) -> str:
        return f"tests/exercises/test_{self.name}.py"


class ExerciseListError(ValueError):
    """kata/exercises.toml is malformed or lists an exercise without its files."""


@cache
def all_exercises() -> tuple[Exercise, ...]:
    """Every exercise, in the order a student does them."""
    data = tomllib.loads((Path(__file__).with_name("exercises.toml")).read_text())
    exercises = []
    for i, entry in enumerate(data.get("exercise", []), start=1):
        missing = [key for key in ("name", "title", "hint") if key not in entry]
        if missing:
            raise ExerciseListError(
                f"kata/exercises.toml: exercise {i} ({entry.get('name', '?')}) lacks {missing}"
            )
        exercises.append(
            Exercise(
                number=i,
                name=entry["name"],
                title=entry["title"],
                hint=entry["hint"].strip(),
                more=entry.get("more", "").strip(),
            )
        )
    return tuple(exercises)


def check_exercise_files(*kinds: str) -> list[str]:
    """Problems with the files each exercise needs, one sentence each (empty: all there).

    `kinds` among "solution", "test", "stub" (default: solution and test).
    """
    problems = []
    for exercise in all_exercises():
        paths = {
            "solution": f"solutions/{exercise.name}.py",
            "test": exercise.test_path,
            "stub": exercise.stub_path,
        }
        for kind in kinds or ("solution", "test"):
            if not (ROOT / paths[kind]).exists():
                problems.append(
                    f"kata/exercises.toml lists exercise {exercise.number} ({exercise.name}), "
                    f"but its {kind} file {paths[kind]} does not exist"
                )
    return problems


def get_exercise(name: str) -> Exercise:
    """The exercise called `name`; ValueError listing the valid names otherwise."""
    for exercise in all_exercises():
        if exercise.name == name:
            return exercise
    valid = ", ".join(e.name for e in all_exercises())
    raise ValueError(f"no exercise called {name!r}; the exercises are: {valid}")
