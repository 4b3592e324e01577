"""The kata's one entry point: `python -m kata COMMAND` (or `kata COMMAND`)."""

import argparse
import sys

from . import stubs
from .exercises import all_exercises, get_exercise


def _hint(args: argparse.Namespace) -> int:
    exercise = get_exercise(args.name)
    print(f"Exercise {exercise.number}: {exercise.name} — {exercise.title}")
    print(f"File: {exercise.stub_path}    Tests: pytest exercises/{exercise.name}.py\n")
    print(exercise.hint)
    return 0


def _list(args: argparse.Namespace) -> int:
    for exercise in all_exercises():
        print(f"{exercise.number}. {exercise.name:<15} {exercise.title}")
    return 0


def _stubs(args: argparse.Namespace) -> int:
    if args.check:
        diffs = stubs.check()
        for diff in diffs:
            print(diff)
        if diffs:
            print(f"{len(diffs)} stub file(s) differ from solutions/; run `python -m kata stubs`.")
            return 1
        print("exercises/ matches what `python -m kata stubs` writes.")
        return 0
    for path in stubs.write():
        print(f"wrote {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kata", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    hint = commands.add_parser("hint", help="print the hint of an exercise")
    hint.add_argument("name", choices=[e.name for e in all_exercises()])
    hint.set_defaults(run=_hint)

    listing = commands.add_parser("list", help="list the exercises in order")
    listing.set_defaults(run=_list)

    generate = commands.add_parser("stubs", help="write exercises/ from solutions/ (maintainers)")
    generate.add_argument("--check", action="store_true", help="only report stubs that differ")
    generate.set_defaults(run=_stubs)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
