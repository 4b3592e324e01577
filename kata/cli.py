"""The kata's one entry point: `python -m kata COMMAND` (or `kata COMMAND`)."""

import argparse
import json
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


def _parse_value(text: str):
    """`--set key=value` values: JSON where it parses (true, 3, 0.01), else the plain string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return {"True": True, "False": False}.get(text, text)


def _train(args: argparse.Namespace) -> int:
    from .config import ConfigError, TrialConfig
    from .data import load_development_splits
    from .train import train_trial

    values = json.loads(args.config) if args.config else {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            print(f"--set expects key=value, got {item!r}", file=sys.stderr)
            return 2
        values[key] = _parse_value(value)
    try:
        config = TrialConfig.from_dict(values, seed=args.seed, device=args.device)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    train, validation = load_development_splits()
    print(f"training with {args.use}/: {config.hyperparameters}")
    print(f"data: {len(train)} training, {len(validation)} validation images")
    result = train_trial(config, train, validation, progress=not args.quiet, package=args.use)
    for e in result.history:
        print(
            f"epoch {e.epoch:>3}  train loss {e.train_loss:.4f}  train acc {e.train_accuracy:.4f}"
            f"  val loss {e.val_loss:.4f}  val acc {e.val_accuracy:.4f}"
            f"  {e.seconds:6.1f} s  {e.images_per_second:8.0f} img/s"
        )
    if result.status != "finished":
        print(f"{result.status}: {result.reason}")
        return 1
    print(f"validation accuracy {result.val_accuracy:.4f} after {result.seconds:.1f} s")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kata", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    hint = commands.add_parser("hint", help="print the hint of an exercise")
    hint.add_argument("name", choices=[e.name for e in all_exercises()])
    hint.set_defaults(run=_hint)

    listing = commands.add_parser("list", help="list the exercises in order")
    listing.set_defaults(run=_list)

    train = commands.add_parser(
        "train", help="train one configuration (default: the baseline network) and validate it"
    )
    train.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a hyperparameter, e.g. --set hiddenLayerSize=256 (repeatable)",
    )
    train.add_argument("--config", help="hyperparameters as a JSON object")
    train.add_argument(
        "--use",
        choices=["solutions", "exercises"],
        default="solutions",
        help="whose code builds the pipeline: the reference or your exercises",
    )
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    train.add_argument("--quiet", action="store_true", help="no progress bars")
    train.set_defaults(run=_train)

    generate = commands.add_parser("stubs", help="write exercises/ from solutions/ (maintainers)")
    generate.add_argument("--check", action="store_true", help="only report stubs that differ")
    generate.set_defaults(run=_stubs)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
