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
    hint: str

    @property
    def stub_path(self) -> str:
        return f"exercises/{self.name}.py"

    @property
    def test_path(self) -> str:
        return f"tests/exercises/test_{self.name}.py"


@cache
def all_exercises() -> tuple[Exercise, ...]:
    """Every exercise, in the order a student does them."""
    data = tomllib.loads((Path(__file__).with_name("exercises.toml")).read_text())
    return tuple(
        Exercise(number=i, name=e["name"], title=e["title"], hint=e["hint"].strip())
        for i, e in enumerate(data["exercise"], start=1)
    )


def get_exercise(name: str) -> Exercise:
    """The exercise called `name`; ValueError listing the valid names otherwise."""
    for exercise in all_exercises():
        if exercise.name == name:
            return exercise
    valid = ", ".join(e.name for e in all_exercises())
    raise ValueError(f"no exercise called {name!r}; the exercises are: {valid}")
