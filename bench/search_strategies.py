"""Staged (coarse-to-fine) search against plain random and grid search at equal wall-clock.

    python -m bench.search_strategies [--budget 120] [--seeds 0,1] [--train-subset 10000]

Each strategy gets the same wall-clock budget, the same data and the same sweep space (the
`sweep_config` exercise's reference) and reports the best validation accuracy of any
finished trial, and the batch size of that trial's configuration (does the coarse stage
push the choice toward small batches?). A trial starts only while it is expected to fit in
the budget, and one already running is allowed to finish, so the wall time actually used is
reported too. A subset of the training images keeps single trials short, so the budget, not
one long trial, decides.

Strategies: "staged" (the default plan: coarse epochs scaled by batch size), "staged-images"
(the same, but every coarse trial trains the same fraction of an epoch, whatever its batch
size: the plan before the coarse stage was equalised), "random" and "grid".
"""

import argparse
import json
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from kata.data import Split, load_development_splits
from kata.staged import DEFAULT_STAGES, best_overall, run_staged
from kata.sweep import LocalSweep, training_trial_fn
from solutions.sweep_config import build_sweep_config

STRATEGIES = ("staged", "staged-images", "random", "grid")
PLANS = {
    "staged": DEFAULT_STAGES,
    "staged-images": (replace(DEFAULT_STAGES[0], batch_exponent=0.0), *DEFAULT_STAGES[1:]),
}


def run_strategy(strategy: str, trial, budget: float, seed: int, folder: Path) -> dict:
    started = time.monotonic()
    if strategy in PLANS:
        # With a budget, the budget (shared out by stage), not the trial counts, stops it.
        results = run_staged(
            folder,
            trial,
            stages=PLANS[strategy],
            budget_seconds=budget,
            seed=seed,
            wandb_mode="disabled",
            progress=False,
        )
        best = best_overall(results)
        trials = sum(len(r.runs) for r in results)
    else:
        sweep = LocalSweep(folder, build_sweep_config(strategy), seed=seed, wandb_mode="disabled")
        sweep.run(trial, budget_seconds=budget, progress=False)
        best, trials = sweep.best(), len(sweep.runs())
    return {
        "strategy": strategy,
        "seed": seed,
        "best_val_accuracy": best.metric if best else None,
        "best_params": best.params if best else None,
        "best_batch_size": best.params.get("batchSize") if best else None,
        "best_stage": best.stage if best else None,
        "trials": trials,
        "wall_seconds": time.monotonic() - started,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=float, default=120, help="seconds per strategy run")
    parser.add_argument("--seeds", default="0,1", help="comma-separated sweep/training seeds")
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    parser.add_argument("--train-subset", type=int, default=10_000)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args(argv)

    train, validation = load_development_splits()
    train = Split(train.images[: args.train_subset], train.labels[: args.train_subset])
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = []
    for seed in seeds:
        trial = training_trial_fn(train, validation, seed=seed, device=args.device)
        for strategy in args.strategies.split(","):
            with tempfile.TemporaryDirectory() as tmp:
                row = run_strategy(strategy, trial, args.budget, seed, Path(tmp) / strategy)
            rows.append(row)
            accuracy = row["best_val_accuracy"]
            print(
                f"seed {seed} {strategy:<13} best {accuracy}  batch {row['best_batch_size']}"
                f"  {row['trials']} trials  {row['wall_seconds']:.0f} s",
                flush=True,
            )

    lines = [
        f"budget {args.budget:g} s per run, {len(train)} training images, seeds {seeds}",
        "",
        "| strategy | best val accuracy per seed | mean | batch size of the chosen config"
        " per seed | trials per seed | wall s per seed |",
        "|---|---|---:|---|---|---|",
    ]
    for strategy in args.strategies.split(","):
        mine = [r for r in rows if r["strategy"] == strategy]
        scores = [r["best_val_accuracy"] or 0.0 for r in mine]
        lines.append(
            f"| {strategy} | {', '.join(f'{s:.4f}' for s in scores)} | "
            f"{statistics.mean(scores):.4f} | "
            f"{', '.join(str(r['best_batch_size']) for r in mine)} | "
            f"{', '.join(str(r['trials']) for r in mine)} | "
            f"{', '.join(str(round(r['wall_seconds'])) for r in mine)} |"
        )
    print("\n".join(lines))
    if args.json:
        args.json.write_text(
            json.dumps(
                {"options": vars(args) | {"json": None, "markdown": None}, "runs": rows},
                indent=2,
                default=str,
            )
        )
    if args.markdown:
        args.markdown.write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
