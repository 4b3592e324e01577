"""The kata's one entry point: `python -m kata COMMAND` (or `kata COMMAND`).

Every mistake a user can make ends in `kata: ...` lines on stderr and an exit status
(kata/cli_support.py lists them), never a traceback unless `--debug`; a traceback is a bug.
"""

import argparse
import json
import signal
import sys
import textwrap
import threading

from . import run_cli, stubs, sweep_cli
from .cli_support import (
    NO_RESULT,
    STATUS_HELP,
    add_data_options,
    add_debug_option,
    guarded,
    load_data,
    refuse_meaningless,
)
from .exercises import all_exercises, get_exercise
from .sweep.agents import handle_sigterm
from .sweep_cli import BEST_CONFIG, write_best_config

__all__ = ["BEST_CONFIG", "build_parser", "main", "write_best_config"]


def _hint(args: argparse.Namespace) -> int:
    exercise = get_exercise(args.name)
    print(f"Exercise {exercise.number}: {exercise.name} — {exercise.title}")
    print(f"File: {exercise.stub_path}    Tests: pytest exercises/{exercise.name}.py\n")
    print(exercise.hint)
    if args.more and exercise.more:
        print("\nA step further:\n" + exercise.more)
    elif exercise.more:
        print(f"\nStill stuck? python -m kata hint {exercise.name} --more")
    return 0


def _list(args: argparse.Namespace) -> int:
    for exercise in all_exercises():
        print(f"{exercise.number}. {exercise.name:<15} {exercise.title}")
    return 0


def _stubs(args: argparse.Namespace) -> int:
    try:
        if args.check:
            diffs = stubs.check()
            edited = stubs.edited_files()
        else:
            changed, saved = stubs.write(force=args.force)
    except stubs.StudentWorkError as error:
        print(f"kata stubs: {error}", file=sys.stderr)
        return 1
    except stubs.StubError as error:
        print(f"kata stubs: {error}", file=sys.stderr)
        return 2
    if not args.check:
        if saved is not None:
            print(f"backed up exercises/ to {saved}")
        for path in changed:
            print(f"wrote {path}")
        return 0
    if not diffs:
        print("exercises/ matches what `python -m kata stubs` writes.")
        return 0
    if edited:
        names = ", ".join(str(p.relative_to(stubs.EXERCISES_DIR.parent)) for p in edited)
        print(
            "`kata stubs --check` is a maintainers' check that exercises/ holds exactly the\n"
            "generated, untouched stubs. These files hold someone's work, which is expected\n"
            f"once you have started the exercises: {names}.\n"
            "It does not check your answers: `pytest exercises` does. Do not run\n"
            "`kata stubs` to 'fix' this: it would replace your work (it refuses unless --force)."
        )
        return 1
    for diff in diffs:
        print(diff)
    print(
        f"{len(diffs)} untouched stub file(s) differ from solutions/ (stale): "
        "run `python -m kata stubs`."
    )
    return 1


def _parse_value(text: str):
    """`--set key=value` values: JSON where it parses (true, 3, 0.01), else the plain string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return {"True": True, "False": False}.get(text, text)


OPTIONS_NOT_HYPERPARAMETERS = {"seed": "--seed", "device": "--device"}


def _trial_config(args: argparse.Namespace):
    """The TrialConfig that `kata train` trains: --config FILE, then each --set on top.
    seed and device are options, not hyperparameters: given as keys, they are refused
    (the options would override them without a word)."""
    from .config import ConfigError, TrialConfig, load_config_file

    values = load_config_file(args.config) if args.config else {}
    sources = {key: f"{key} in {args.config}" for key in values}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"--set expects KEY=VALUE, got {item!r}")
        values[key] = _parse_value(value)
        sources[key] = f"--set {item}"
    refused = [
        f"{sources[key]}: {key} is not a hyperparameter; use {flag} {values[key]}"
        for key, flag in OPTIONS_NOT_HYPERPARAMETERS.items()
        if key in values
    ]
    if refused:
        raise ConfigError("\n".join(refused))
    return TrialConfig.from_dict(values, seed=args.seed, device=args.device)


def _train(args: argparse.Namespace) -> int:
    from .train import train_trial

    refuse_meaningless(args)
    config = _trial_config(args)
    train, validation = load_data(args)
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
        return NO_RESULT
    print(f"validation accuracy {result.val_accuracy:.4f} after {result.seconds:.1f} s")
    return 0


def _hyperparameter_help() -> str:
    from .config import ASSIGNMENT_VALUES

    rows = "\n".join(f"  {name:<20} {values}" for name, values in ASSIGNMENT_VALUES.items())
    return (
        "hyperparameters (--set KEY=VALUE, or KEY: VALUE lines in a --config file),\n"
        f"with the assignment's values:\n{rows}\n\n"
        "Keys not given keep the baseline network's values: one hidden layer of 128\n"
        "ReLU units, no normalisation, augmentation or dropout, 10 epochs, learning\n"
        "rate 1e-3, batch size 64. The best_config.yaml that `kata sweep` and\n"
        "`kata search` write is such a --config file.\n\n" + textwrap.fill(f"{STATUS_HELP}.", 78)
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kata", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    hint = commands.add_parser("hint", help="print the hint of an exercise")
    hint.add_argument("name", choices=[e.name for e in all_exercises()])
    hint.add_argument("--more", action="store_true", help="a further step, closer to the answer")
    hint.set_defaults(run=_hint)

    listing = commands.add_parser("list", help="list the exercises in order")
    listing.set_defaults(run=_list)

    train = commands.add_parser(
        "train",
        help="train one configuration (default: the baseline network) and validate it",
        epilog=_hyperparameter_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    train.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a hyperparameter, e.g. --set hiddenLayerSize=256 (repeatable; after --config)",
    )
    train.add_argument(
        "--config",
        metavar="FILE",
        help=f"hyperparameters from a YAML or JSON file, e.g. a {BEST_CONFIG}",
    )
    train.add_argument(
        "--use",
        choices=["solutions", "exercises"],
        default="solutions",
        help="whose code builds the pipeline: the reference or your exercises",
    )
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    add_data_options(train, "train on the first N training images only (quick looks)")
    train.add_argument("--quiet", action="store_true", help="no progress bars")
    add_debug_option(train)
    train.set_defaults(run=_train)

    sweep_cli.add_parsers(commands)
    run_cli.add_parser(commands)

    generate = commands.add_parser("stubs", help="write exercises/ from solutions/ (maintainers)")
    generate.add_argument("--check", action="store_true", help="only report stubs that differ")
    generate.add_argument(
        "--force",
        action="store_true",
        help="overwrite files that are not untouched stubs, after a backup to exercises.bak-*/",
    )
    generate.set_defaults(run=_stubs)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and not getattr(args, "takes_hyperparameters", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.extra = extra
    if threading.current_thread() is not threading.main_thread():  # no signal handlers there
        return guarded(args.run, args)
    # SIGTERM is an interrupt like Ctrl-C: a running trial goes back in the queue.
    previous = handle_sigterm()
    try:
        return guarded(args.run, args)
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
