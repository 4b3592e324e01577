"""`kata sweep`, `kata search`, `kata sync` and `kata agent-trial`: the sweep commands.

Each checks everything it can before the first trial (options, the configuration by the
kata's rules, the device, the data, the folder), then runs; kata/cli_support.py turns what a
user can get wrong into one message and an exit status.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from .cli_support import (
    BAD_INPUT,
    FOLDER_CONFLICT,
    NO_RESULT,
    STATUS_HELP,
    CommandError,
    add_data_options,
    add_debug_option,
    existing_folder,
    load_data,
    refuse_meaningless,
    writable_folder,
)
from .sweep.store import STATE_FILE, read_state

BEST_CONFIG = "best_config.yaml"  # what `sweep` and `search` write, `train --config` reads
SEARCH_FILE = "search.json"  # the staged search's id (kata/staged.py)


def write_best_config(directory: str | Path, record, note: str) -> Path:
    """`directory/best_config.yaml`: the best trial's hyperparameters, as `kata train
    --config` reads them, under a comment saying where they come from."""
    import yaml

    path = Path(directory) / BEST_CONFIG
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(record.params, sort_keys=False, default_flow_style=False)
    path.write_text(f"# {note}\n# train it: python -m kata train --config {path}\n{text}")
    return path


def _show_best(directory: str | Path, record, what: str, running: int = 0) -> None:
    note = f"{what}: {record.run_id}, validation accuracy {record.metric:.4f}"
    if running:
        note += f" (provisional: {running} trial(s) of another command still running)"
    path = write_best_config(directory, record, note)
    print(f"best configuration ({note}), written to {path}:")
    print(path.read_text().split("\n", 2)[2], end="")


# --- the sweep configuration ------------------------------------------------------------------


def _configuration(
    args: argparse.Namespace, method: str | None, run_as: tuple[str, ...] = ()
) -> tuple[dict, str]:
    """(the sweep configuration, where it comes from), refused unless it passes the
    kata's rules (every problem listed); checked as each method of `run_as` if given (the
    staged search runs it with its stages' methods, not its own)."""
    from .config import ConfigError, load_config_file
    from .sweep import training_problems
    from .train import exercise_module

    if args.config:
        config, where = load_config_file(args.config), args.config
        if method is not None and config.get("method") != method:
            raise ConfigError(
                f"--method {method} and method {config.get('method')!r} in {args.config}"
                " disagree: give one of them"
            )
    else:
        config = exercise_module(args.use, "sweep_config").build_sweep_config(method or "random")
        where = f"{args.use}/sweep_config.py's build_sweep_config"
    variants = [{**config, "method": m} for m in run_as] if isinstance(config, dict) else []
    problems = list(dict.fromkeys(p for c in variants or [config] for p in training_problems(c)))
    if problems:
        listed = "".join(f"\n  - {problem}" for problem in problems)
        counted = f"{len(problems)} problem{'s' * (len(problems) > 1)}"
        raise ConfigError(f"invalid sweep configuration in {where} ({counted}):{listed}")
    return config, where


def _constants(args: argparse.Namespace) -> dict:
    """What every trial's wandb config carries besides its hyperparameters (train_subset,
    implementation and device are the sweep's identity too)."""
    return {
        "seed": args.seed,
        "train_subset": args.train_subset,
        "implementation": args.use,
        "device": args.device,
    }


def _trial_function(args: argparse.Namespace):
    from .sweep import training_trial_fn

    train, validation = load_data(args)
    return training_trial_fn(
        train, validation, seed=args.seed, device=args.device, package=args.use
    )


# --- kata sweep ---------------------------------------------------------------------------------


def _online_problems(args: argparse.Namespace) -> list[str]:
    if args.wandb != "online":
        return ["--sweep-id joins a sweep on W&B's servers: it needs --wandb online"] * bool(
            args.sweep_id
        )
    problems = []
    if args.budget is not None:
        problems.append("--budget: W&B's agent has no time budget online; use --count")
    if args.agents not in (None, 1):
        problems.append(
            f"--agents {args.agents}: online, this command runs one agent; start more with"
            " `wandb agent ENTITY/PROJECT/SWEEP_ID` (it prints the id)"
        )
    if args.sweep_id and (args.config or args.method):
        problems.append(
            "--sweep-id joins a sweep whose configuration is on W&B's servers: drop --config"
            " and --method"
        )
    return problems


def _sweep(args: argparse.Namespace) -> int:
    from . import sweep
    from .staged import best_finished

    refuse_meaningless(args, _online_problems(args))
    config = None if args.sweep_id else _configuration(args, args.method)[0]
    if args.wandb == "online":
        return _sweep_online(args, config)
    folder = existing_folder(args.dir, "--dir", belongs=_is_sweep)
    read_state(folder / STATE_FILE)  # a damaged state is refused before the data loads
    trial = _trial_function(args)
    writable_folder(folder, "--dir")
    local = sweep.LocalSweep(
        folder,
        config,
        seed=args.seed,
        name=folder.name,
        wandb_mode=args.wandb,
        wandb_project=args.project,
        wandb_config=_constants(args),
    )
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
        return NO_RESULT
    running = local.running_elsewhere()
    _show_best(folder, best, f"best trial of the sweep in {folder}", running)
    return 0


def _is_sweep(folder: Path) -> bool:
    return (folder / STATE_FILE).exists()


def _agent_options(args: argparse.Namespace, metric: str) -> list[str]:
    """The options `kata agent-trial` needs to train as this command does."""
    options = ["--seed", str(args.seed), "--use", args.use, "--device", args.device]
    options += ["--metric", metric]
    if args.train_subset is not None:
        options += ["--train-subset", str(args.train_subset)]
    if args.data is not None:
        options += ["--data", str(Path(args.data).resolve())]
    return options


def _sweep_online(args: argparse.Namespace, config: dict | None) -> int:
    from .sweep import METRIC, agent_command, run_online

    metric = ((config or {}).get("metric") or {}).get("name", METRIC)
    trial = _trial_function(args)
    os.environ["WANDB_DIR"] = str(writable_folder(Path(args.dir), "--dir").resolve())
    if args.count is not None:
        print(
            f"note: online, --count {args.count} is the number of trials this agent runs"
            " (W&B's count), not the sweep's total as it is locally",
            file=sys.stderr,
        )
    import wandb

    try:
        sweep_id = run_online(
            config,
            trial,
            project=args.project,
            entity=args.entity,
            count=args.count,
            sweep_id=args.sweep_id,
            command=agent_command(_agent_options(args, metric)),
        )
    except wandb.errors.Error as error:  # no account, no network, no such sweep
        raise CommandError(
            f"W&B refused or could not be reached: {str(error).rstrip('.')}. Log in with"
            " `wandb login`, or"
            " run the sweep locally (--wandb offline)",
            NO_RESULT,
        ) from None
    where = "/".join(p for p in (args.entity, args.project, sweep_id) if p)
    print(f"sweep {sweep_id}: this agent is done; more agents, on any machine with this")
    print(f"repository installed: wandb agent {where}")
    return 0


# --- kata search --------------------------------------------------------------------------------


def _is_search(folder: Path) -> bool:
    return (folder / SEARCH_FILE).exists() or any(folder.glob("stage-*/sweep.json"))


def check_search_folder(folder: Path) -> None:
    """Refuse a search folder whose state files are damaged, before the search reads them."""
    import json

    for state in sorted(folder.glob("stage-*/sweep.json")):
        read_state(state)  # SweepError naming the file
    search = folder / SEARCH_FILE
    if search.exists():
        try:
            ok = isinstance(json.loads(search.read_text()).get("id"), str)
        except (ValueError, AttributeError, OSError):
            ok = False
        if not ok:
            raise CommandError(
                f"{search} is damaged: not the search's id. Restore it, or start the search"
                " in another directory",
                FOLDER_CONFLICT,
            )


def _search(args: argparse.Namespace) -> int:
    from .staged import DEFAULT_STAGES, best_overall, run_staged, scaled
    from .sweep import default_agents

    refuse_meaningless(args)
    methods = tuple(dict.fromkeys(stage.method for stage in DEFAULT_STAGES))
    checked, where = _configuration(args, None, methods)  # the exercise's too: stages build on it
    base = checked if args.config else None
    if base is not None:
        _note_stage_overrides(base, where)
    folder = existing_folder(args.dir, "--dir", belongs=_is_search)
    check_search_folder(folder)
    trial = _trial_function(args)
    writable_folder(folder, "--dir")
    results = run_staged(
        folder,
        trial,
        stages=scaled(DEFAULT_STAGES, args.scale),
        budget_seconds=args.budget,
        seed=args.seed,
        package=args.use,
        wandb_mode=args.wandb,
        progress=not args.quiet,
        agents=args.agents or default_agents(args.device),
        wandb_config=_constants(args),
        wandb_project=args.project,
        base_config=base,
    )
    for result in results:
        best = result.best()
        shown = f"{best.metric:.4f}" if best else "none finished"
        print(f"stage {result.stage.name:<7} {len(result.runs):>3} trials  best {shown}")
    best = best_overall(results)
    if best is None:
        print("no trial finished")
        return NO_RESULT
    _show_best(folder, best, f"best trial of the search in {folder}, stage {best.stage}")
    return 0


def _note_stage_overrides(config: dict, where: str) -> None:
    """Say what of a --config the stages set themselves (a documented correction)."""
    from .staged import DEFAULT_STAGES

    overridden = [key for key in ("numberEpochs",) if key in config["parameters"]]
    overridden += ["method"] * ("method" in config)
    if overridden:
        plan = ", ".join(f"{s.name}: {s.method}, {s.epochs:g} epochs" for s in DEFAULT_STAGES)
        print(
            f"note: each stage sets its own method and epochs ({plan}); {' and '.join(overridden)}"
            f" in {where} are not used",
            file=sys.stderr,
        )


# --- kata sync ----------------------------------------------------------------------------------


def _sync(args: argparse.Namespace) -> int:
    from .sweep import runs_to_upload

    if not Path(args.dir).is_dir():
        raise CommandError(f"{args.dir}: no such folder", BAD_INPUT)
    upload = runs_to_upload(args.dir)
    if not upload.sweeps:
        raise CommandError(
            f"{args.dir}: holds no sweep (no sweep.json in it, in its stage-*/ or its"
            " search/stage-*/ folders)",
            BAD_INPUT,
        )
    print(
        f"{len(upload.runs)} run(s) to upload, one per ended trial of {upload.sweeps} sweep(s);"
        f" left out: {len(upload.interrupted)} interrupted attempt(s),"
        f" {len(upload.unknown)} run(s) in no sweep's state"
    )
    if upload.missing:
        print(f"note: no offline run on disk for {', '.join(upload.missing)}")
    if args.dry_run or not upload.runs:
        for path in upload.runs:
            print(path)
        return 0
    command = [sys.executable, "-m", "wandb", "sync", *map(str, upload.runs)]
    return subprocess.call(command)


# --- kata agent-trial (what `wandb agent` runs) ------------------------------------------------


def _hyperparameters(extra: list[str]) -> dict:
    """The `--KEY=VALUE` arguments W&B's agent appends (its `${args}`), as values."""
    from .cli import _parse_value
    from .config import ConfigError

    values = {}
    for item in extra:
        key, sep, value = item.removeprefix("--").partition("=")
        if not item.startswith("--") or not sep or not key:
            raise ConfigError(f"expected hyperparameters as --KEY=VALUE, got {item!r}")
        values[key] = _parse_value(value)
    return values


def _agent_trial(args: argparse.Namespace) -> int:
    import wandb

    from . import wandb_log
    from .sweep import online_trial

    refuse_meaningless(args)
    params = _hyperparameters(args.extra)
    trial = _trial_function(args)
    wandb_run = wandb.init(config=_constants(args), settings=wandb_log.settings())
    online_trial(trial, args.metric, wandb_run, params)
    return 0


# --- the parsers ----------------------------------------------------------------------------------


def _add_run_options(parser: argparse.ArgumentParser, default_dir: str) -> None:
    parser.add_argument("--dir", default=default_dir, help="where the sweep's state lives")
    parser.add_argument(
        "--budget",
        type=float,
        metavar="SECONDS",
        help="wall-clock budget: trials start while the next one is expected to fit, so the "
        "run ends within the budget plus at most one trial",
    )
    _add_trial_options(parser)
    parser.add_argument(
        "--wandb",
        choices=["offline", "disabled", "online"],
        default="offline",
        help="offline: log each trial for a later `kata sync` (default)",
    )
    parser.add_argument("--project", default="fashion-mnist-kata", help="W&B project")
    parser.add_argument(
        "--agents",
        type=int,
        help="agent processes sharing the sweep (default: 2 on a multi-core CPU, each with "
        "one thread; 1 on a GPU)",
    )
    parser.add_argument("--quiet", action="store_true", help="less output")
    add_debug_option(parser)
    parser.set_defaults(resumable=True)


def _add_trial_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument(
        "--use",
        choices=["solutions", "exercises"],
        default="solutions",
        help="whose code: the reference or your exercises",
    )
    add_data_options(parser, "train on the first N training images only (quick looks)")


def add_parsers(commands) -> None:
    sweep = commands.add_parser(
        "sweep", help="run one W&B sweep locally (or online)", epilog=STATUS_HELP
    )
    sweep.add_argument(
        "--config",
        metavar="FILE",
        help="a sweep configuration file (YAML or JSON); default: the sweep_config exercise's",
    )
    sweep.add_argument(
        "--method",
        choices=["grid", "random", "bayes"],
        help="the exercise's configuration for this method (default random)",
    )
    sweep.add_argument(
        "--count",
        type=int,
        help="number of trials (default: until done); locally the sweep's total over resumes"
        " and agents, online (W&B's count) the trials of this agent",
    )
    sweep.add_argument("--entity", help="W&B entity (online; default: your default entity)")
    sweep.add_argument(
        "--sweep-id", help="online: join this existing W&B sweep instead of creating one"
    )
    _add_run_options(sweep, "runs/sweep")
    sweep.set_defaults(run=_sweep)

    search = commands.add_parser(
        "search", help="the staged coarse-to-fine search", epilog=STATUS_HELP
    )
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

    sync = commands.add_parser(
        "sync",
        help="upload to W&B exactly the offline runs of a sweep, search or job that are worth"
        " it: one per ended trial, no interrupted attempt",
    )
    sync.add_argument("dir", help="a sweep's --dir, a search's --dir or a job's --out")
    sync.add_argument("--dry-run", action="store_true", help="only list what would be uploaded")
    add_debug_option(sync)
    sync.set_defaults(run=_sync)

    agent = commands.add_parser(
        "agent-trial",
        help="one trial of a W&B sweep, as `wandb agent` runs it (the sweep's `command`)",
        description="Train the hyperparameters given as --KEY=VALUE (what W&B's agent appends)"
        " and log to the run the agent made. SIGTERM (the agent's stop) ends it as stopped.",
        allow_abbrev=False,
    )
    _add_trial_options(agent)
    agent.add_argument("--metric", default="val_accuracy", help="the sweep's metric")
    add_debug_option(agent)
    agent.set_defaults(run=_agent_trial, takes_hyperparameters=True)
