"""`kata run`: the command line of the main job (`kata/job.py`)."""

from __future__ import annotations

import argparse
import json
import sys

from .job import BAD_INPUT, NO_DATA, PRESETS, Job, JobError, JobSettings, Splits

INTERRUPTED = 130  # the shell's status for Ctrl-C


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
    run.add_argument("--agents", type=int, help="agent processes sharing the search")
    run.add_argument("--quiet", action="store_true", help="no progress bars")
    run.add_argument("--debug", action="store_true", help="a traceback for every error")
    run.set_defaults(run=main)

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


def _check_device(device: str) -> str | None:
    import torch

    kind = device.split(":")[0]
    if kind not in ("cpu", "cuda", "mps"):
        return f"--device {device}: expected cpu, cuda or cuda:N"
    if kind == "cuda" and not torch.cuda.is_available():
        return f"--device {device}: this machine has no CUDA GPU that torch can use"
    if kind == "cuda" and ":" in device:
        index = device.split(":", 1)[1]
        if not index.isdigit() or int(index) >= torch.cuda.device_count():
            return f"--device {device}: no such GPU ({torch.cuda.device_count()} found)"
    if kind == "mps" and not torch.backends.mps.is_available():
        return f"--device {device}: this machine has no MPS device"
    return None


def _problems(args: argparse.Namespace) -> list[str]:
    problems = []
    if args.train_subset is not None and not 10 <= args.train_subset <= 55_000:
        problems.append(f"--train-subset {args.train_subset}: expected 10 to 55000 images")
    if args.agents is not None and args.agents < 1:
        problems.append(f"--agents {args.agents}: expected at least 1")
    if args.budget is not None and not args.budget > 0:
        problems.append(f"--budget {args.budget:g}: expected a positive number of seconds")
    problems.append(_check_device(args.device))
    return [p for p in problems if p]


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
        metrics = job.run(_load_splits())
    except KeyboardInterrupt:
        print("\ninterrupted; run the same command to resume", file=sys.stderr)
        return INTERRUPTED
    except JobError as error:
        if args.debug:
            raise
        print(f"kata run: {error}", file=sys.stderr)
        return error.status
    except (FileNotFoundError, ValueError) as error:
        from .data import DataCorruptError, DataNotFoundError

        if args.debug or not isinstance(error, DataNotFoundError | DataCorruptError):
            raise
        print(f"kata run: {error}", file=sys.stderr)
        return NO_DATA
    _print_result(args.out, metrics)
    return 0


def _load_splits() -> Splits:
    from .data import load_development_splits, load_test_split_for_final_evaluation

    train, validation = load_development_splits()
    return Splits(train, validation, load_test_split_for_final_evaluation)


def _print_result(out: str, metrics: dict) -> None:
    print(
        f"\ntest accuracy {metrics['test_accuracy']:.4f} (validation"
        f" {metrics['val_accuracy']:.4f}) of trial {metrics['chosen_trial']}"
        f" ({metrics['chosen_stage']} stage):"
    )
    print(json.dumps(metrics["config"], indent=2))
    print(f"report: {out}/report.html   model: {out}/model.pt   all files: {out}/")
