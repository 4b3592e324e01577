"""The kata's one entry point: `python -m kata COMMAND` (or `kata COMMAND`)."""

import argparse
import json
import sys
from pathlib import Path

from . import run_cli, stubs
from .exercises import all_exercises, get_exercise

BEST_CONFIG = "best_config.yaml"  # what `sweep` and `search` write, `train --config` reads


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


def _trial_config(args: argparse.Namespace):
    """The TrialConfig that `kata train` trains: --config FILE, then each --set on top."""
    from .config import ConfigError, TrialConfig, load_config_file

    values = load_config_file(args.config) if args.config else {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"--set expects KEY=VALUE, got {item!r}")
        values[key] = _parse_value(value)
    return TrialConfig.from_dict(values, seed=args.seed, device=args.device)


def _train(args: argparse.Namespace) -> int:
    from .config import ConfigError
    from .train import train_trial

    try:
        config = _trial_config(args)
    except ConfigError as error:
        return _bad_input(error)
    train, validation = _load_data(args)
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


def _bad_input(error: Exception) -> int:
    """One clear message on stderr and exit status 2, as argparse does for a bad flag."""
    print(f"kata: {error}", file=sys.stderr)
    return 2


def _load_data(args: argparse.Namespace):
    from .data import load_development_splits

    train, validation = load_development_splits()
    if args.train_subset:
        train = type(train)(train.images[: args.train_subset], train.labels[: args.train_subset])
    return train, validation


def _sweep_config_file(path: str) -> dict:
    """A sweep configuration from a file, every problem listed in one ConfigError."""
    from .config import ConfigError, load_config_file
    from .sweep import validate_config

    config = load_config_file(path)
    problems = validate_config(config)
    if problems:
        listed = "".join(f"\n  - {problem}" for problem in problems)
        raise ConfigError(f"invalid sweep configuration ({len(problems)} problems):{listed}")
    return config


def _wandb_constants(args: argparse.Namespace) -> dict:
    """What every trial's wandb config carries besides its hyperparameters."""
    return {
        "seed": args.seed,
        "train_subset": args.train_subset,
        "implementation": args.use,
        "device": args.device,
    }


def write_best_config(directory: str | Path, record, note: str) -> Path:
    """`directory/best_config.yaml`: the best trial's hyperparameters, as `kata train
    --config` reads them, under a comment saying where they come from."""
    import yaml

    path = Path(directory) / BEST_CONFIG
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(record.params, sort_keys=False, default_flow_style=False)
    path.write_text(f"# {note}\n# train it: python -m kata train --config {path}\n{text}")
    return path


def _show_best(directory: str | Path, record, what: str) -> None:
    note = f"{what}: {record.run_id}, validation accuracy {record.metric:.4f}"
    path = write_best_config(directory, record, note)
    print(f"best configuration ({note}), written to {path}:")
    print(path.read_text().split("\n", 2)[2], end="")


def _sweep(args: argparse.Namespace) -> int:
    from . import sweep
    from .config import ConfigError
    from .staged import best_finished
    from .train import exercise_module

    try:
        if args.config:
            config = _sweep_config_file(args.config)
        else:
            config = exercise_module(args.use, "sweep_config").build_sweep_config(args.method)
    except ConfigError as error:
        return _bad_input(error)
    train, validation = _load_data(args)
    trial = sweep.training_trial_fn(
        train, validation, seed=args.seed, device=args.device, package=args.use
    )
    if args.wandb == "online":
        sweep_id = sweep.run_online(config, trial, project=args.project, count=args.count)
        print(f"sweep {sweep_id} done")
        return 0
    try:
        local = sweep.LocalSweep(
            args.dir,
            config,
            seed=args.seed,
            name=Path(args.dir).name,
            wandb_mode=args.wandb,
            wandb_project=args.project,
            wandb_config=_wandb_constants(args),
        )
    except sweep.SweepError as error:
        return _bad_input(error)
    sweep.run_agents(
        local,
        trial,
        agents=args.agents or sweep.default_agents(args.device),
        count=args.count,
        budget_seconds=args.budget,
        progress=not args.quiet,
    )
    best = best_finished(local.runs(), local.config)
    if best is None:
        print("no finished trial yet")
        return 1
    _show_best(args.dir, best, f"best trial of the sweep in {args.dir}")
    return 0


def _search(args: argparse.Namespace) -> int:
    from .config import ConfigError
    from .staged import DEFAULT_STAGES, best_overall, run_staged, scaled
    from .sweep import SweepError, default_agents, training_trial_fn

    try:
        base = _sweep_config_file(args.config) if args.config else None
    except ConfigError as error:
        return _bad_input(error)
    train, validation = _load_data(args)
    trial = training_trial_fn(
        train, validation, seed=args.seed, device=args.device, package=args.use
    )
    try:
        results = run_staged(
            args.dir,
            trial,
            stages=scaled(DEFAULT_STAGES, args.scale),
            budget_seconds=args.budget,
            seed=args.seed,
            package=args.use,
            wandb_mode=args.wandb,
            progress=not args.quiet,
            agents=args.agents or default_agents(args.device),
            wandb_config=_wandb_constants(args),
            wandb_project=args.project,
            base_config=base,
        )
    except SweepError as error:
        return _bad_input(error)
    for result in results:
        best = result.best()
        shown = f"{best.metric:.4f}" if best else "none finished"
        print(f"stage {result.stage.name:<7} {len(result.runs):>3} trials  best {shown}")
    best = best_overall(results)
    if best is None:
        print("no trial finished")
        return 1
    _show_best(args.dir, best, f"best trial of the search in {args.dir}, stage {best.stage}")
    return 0


def _add_run_options(parser: argparse.ArgumentParser, default_dir: str) -> None:
    parser.add_argument("--dir", default=default_dir, help="where the sweep's state lives")
    parser.add_argument(
        "--budget",
        type=float,
        metavar="SECONDS",
        help="wall-clock budget: trials start while the next one is expected to fit, so the "
        "run ends within the budget plus at most one trial",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument(
        "--use",
        choices=["solutions", "exercises"],
        default="solutions",
        help="whose code: the reference or your exercises",
    )
    parser.add_argument(
        "--wandb",
        choices=["offline", "disabled", "online"],
        default="offline",
        help="offline: log each trial for a later `wandb sync` (default)",
    )
    parser.add_argument("--project", default="fashion-mnist-kata", help="W&B project")
    _add_train_subset(parser)
    parser.add_argument(
        "--agents",
        type=int,
        help="agent processes sharing the sweep (default: 2 on a multi-core CPU, each with "
        "one thread; 1 on a GPU)",
    )
    parser.add_argument("--quiet", action="store_true", help="less output")


def _add_train_subset(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--train-subset",
        type=int,
        metavar="N",
        help="train on the first N training images only (quick looks)",
    )


def _hyperparameter_help() -> str:
    from .config import ASSIGNMENT_VALUES

    rows = "\n".join(f"  {name:<20} {values}" for name, values in ASSIGNMENT_VALUES.items())
    return (
        "hyperparameters (--set KEY=VALUE, or KEY: VALUE lines in a --config file),\n"
        f"with the assignment's values:\n{rows}\n\n"
        "Keys not given keep the baseline network's values: one hidden layer of 128\n"
        "ReLU units, no normalisation, augmentation or dropout, 10 epochs, learning\n"
        "rate 1e-3, batch size 64. The best_config.yaml that `kata sweep` and\n"
        "`kata search` write is such a --config file."
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
    _add_train_subset(train)
    train.add_argument("--quiet", action="store_true", help="no progress bars")
    train.set_defaults(run=_train)

    sweep = commands.add_parser("sweep", help="run one W&B sweep locally (or online)")
    sweep.add_argument(
        "--config",
        metavar="FILE",
        help="a sweep configuration file (YAML or JSON); default: the sweep_config exercise's",
    )
    sweep.add_argument("--method", choices=["grid", "random", "bayes"], default="random")
    sweep.add_argument("--count", type=int, help="number of trials (default: until done)")
    _add_run_options(sweep, "runs/sweep")
    sweep.set_defaults(run=_sweep)

    search = commands.add_parser("search", help="the staged coarse-to-fine search")
    search.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="trials per stage, as a multiple of the default plan (without --budget)",
    )
    search.add_argument(
        "--config",
        metavar="FILE",
        help="the sweep configuration (YAML or JSON) whose space the coarse stage searches; "
        "default: the sweep_config exercise's",
    )
    _add_run_options(search, "runs/search")
    search.set_defaults(run=_search)

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
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
