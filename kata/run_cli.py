"""`kata run`: the command line of the main job (`kata/job.py`)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .cli_support import INTERRUPTED, CommandError, writable_folder
from .job import (
    BAD_INPUT,
    FOLDER_CONFLICT,
    NO_DATA,
    NOTHING_FINISHED,
    PRESETS,
    Job,
    JobError,
    JobSettings,
    Splits,
)
from .options import option_problems
from .sweep_cli import check_search_folder


def add_parser(commands) -> None:
    default, quick = PRESETS["default"], PRESETS["quick"]
    run = commands.add_parser(
        "run",
        help="the whole assignment: staged search, the best model retrained, one test "
        "evaluation, the report",
        description=(
            "Run the staged search within a wall-clock budget, train the best configuration "
            "again on all 55,000 training images, evaluate the saved model once on the test "
            "set and write the report. Interrupt it at any time (Ctrl-C) and run the same "
            "command to resume; on a finished job it prints the stored result."
        ),
    )
    run.add_argument("--out", default="runs/run", help="the job's folder (default: runs/run)")
    run.add_argument(
        "--budget",
        type=float,
        metavar="SECONDS",
        help=f"wall-clock budget of the whole job (default {default.budget:g} s; "
        f"--quick: {quick.budget:g} s)",
    )
    run.add_argument(
        "--quick",
        action="store_true",
        help="a short job for a first look and CI: the search on 10,000 images, two "
        "stages, the final model trained for 10 epochs (under 3 minutes on 2 cores)",
    )
    run.add_argument(
        "--use",
        choices=["solutions", "exercises"],
        default="solutions",
        help="whose code: the reference or your exercises",
    )
    run.add_argument("--seed", type=int, default=0, help="seed of the search and the training")
    run.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    run.add_argument(
        "--wandb",
        choices=["offline", "disabled", "online"],
        default="offline",
        help="offline: log each trial for a later `wandb sync` (default)",
    )
    run.add_argument(
        "--train-subset",
        type=int,
        metavar="N",
        help="the search trains on the first N training images (the final model on all)",
    )
    run.add_argument(
        "--data",
        metavar="DIR",
        help="the folder with the Fashion-MNIST files (default: $FASHION_MNIST_DIR, then "
        "data/fashion-mnist, then /usr/share/datasets/fashion-mnist)",
    )
    run.add_argument("--agents", type=int, help="agent processes sharing the search")
    run.add_argument("--quiet", action="store_true", help="no progress bars")
    run.add_argument("--debug", action="store_true", help="a traceback for every error")
    run.set_defaults(run=main, resumable=True)

    report = commands.add_parser(
        "report", help="write a job's report.html and figures again from its files"
    )
    report.add_argument("out", nargs="?", default="runs/run", help="the job's folder")
    report.set_defaults(run=_report)


def _report(args: argparse.Namespace) -> int:
    from .report import ReportError, write_report

    try:
        print(f"wrote {write_report(args.out)}")
    except ReportError as error:
        print(f"kata report: {error}", file=sys.stderr)
        return BAD_INPUT
    return 0


def _problems(args: argparse.Namespace) -> list[str]:
    return option_problems(args, min_subset=10)


def main(args: argparse.Namespace) -> int:
    problems = _problems(args)
    if problems:
        for problem in problems:
            print(f"kata run: {problem}", file=sys.stderr)
        return BAD_INPUT
    settings = JobSettings(
        preset="quick" if args.quick else "default",
        budget=args.budget,
        seed=args.seed,
        use=args.use,
        train_subset=args.train_subset,
    )
    job = Job(
        args.out,
        settings,
        device=args.device,
        wandb=args.wandb,
        agents=args.agents,
        progress=not args.quiet,
    )
    try:
        job.check()
        check_search_folder(Path(args.out) / "search")
        splits = Splits.load(args.data)
        writable_folder(Path(args.out), "--out")
        metrics = job.run(splits)
    except KeyboardInterrupt:
        if args.debug:
            raise
        print("\ninterrupted; run the same command to resume", file=sys.stderr)
        return INTERRUPTED
    except Exception as error:
        status = _status(error)
        if args.debug or status is None:
            raise
        print(f"kata run: {error}", file=sys.stderr)
        return status
    _print_result(args.out, metrics)
    return 0


def _status(error: Exception) -> int | None:
    """`kata run`'s exit status for an error a user can cause; None for a bug."""
    from .data import DataCorruptError, DataNotFoundError
    from .sweep import SweepError, TrialsKeepFailing

    if isinstance(error, JobError | CommandError):
        return error.status
    if isinstance(error, DataNotFoundError | DataCorruptError):
        return NO_DATA
    if isinstance(error, TrialsKeepFailing):
        return NOTHING_FINISHED
    if isinstance(error, SweepError):  # a damaged or different search state in --out
        return FOLDER_CONFLICT
    return None


def _print_result(out: str, metrics: dict) -> None:
    print(
        f"\ntest accuracy {metrics['test_accuracy']:.4f} (validation"
        f" {metrics['val_accuracy']:.4f}) of trial {metrics['chosen_trial']}"
        f" ({metrics['chosen_stage']} stage):"
    )
    print(json.dumps(metrics["config"], indent=2))
    print(f"report: {out}/report.html   model: {out}/model.pt   all files: {out}/")
