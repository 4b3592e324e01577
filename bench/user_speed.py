"""What a user feels: coarse-stage trials per hour, and `kata run --quick` from start to end.

    python -m bench.user_speed [--trials 8] [--seed 0] [--skip-quick] [--markdown FILE]

- Coarse stage: `--trials` configurations drawn at random from the assignment's sweep
  space (`solutions.sweep_config.build_sweep_config("random")`), each trained for the
  coarse stage's part of an epoch (`kata.staged.DEFAULT_STAGES[0]`) on all 55,000
  development images and validated, one trial at a time on one thread (as each of the
  sweep's agents runs), by the engine (`kata.train.train_trial`) and by the plain pipeline
  (PIL transforms, `DataLoader`, as `bench.pipeline_speed` describes it). Every trial is
  timed from its start, setup included (statistics, model, transforms, validation), which
  is what a search pays per trial. Trials per hour = trials / seconds x 3,600; the sweep's
  agents multiply both pipelines alike.
- `kata run --quick`: the real command in a fresh process, timed from start to end, with
  the test accuracy it reports. The plain pipeline has no `kata run`; what the same job
  (the same trials, so the same accuracy) would take with it is *estimated* as the
  measured wall-clock times the coarse trials' plain/engine time ratio.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from bench.pipeline_speed import EPOCH_IMAGES, _plain_dataset, machine, plain_transforms


def draw_configs(count: int, seed: int) -> list[dict]:
    """Coarse-stage trials: the sweep space's random draws, the stage's epochs per batch."""
    from kata.staged import DEFAULT_STAGES
    from solutions.sweep_config import build_sweep_config

    coarse = DEFAULT_STAGES[0]
    rng = random.Random(seed)
    configs = []
    for _ in range(count):
        params = {}
        for name, spec in build_sweep_config("random")["parameters"].items():
            if "values" in spec:
                params[name] = rng.choice(spec["values"])
            elif spec.get("distribution") == "log_uniform_values":
                params[name] = math.exp(rng.uniform(math.log(spec["min"]), math.log(spec["max"])))
            else:
                params[name] = rng.uniform(spec["min"], spec["max"])
        params["numberEpochs"] = coarse.epochs_for(params["batchSize"])
        configs.append(params)
    return configs


def engine_trial(params: dict, train, validation) -> tuple[float, float]:
    from kata.config import TrialConfig
    from kata.train import train_trial

    started = time.perf_counter()
    result = train_trial(TrialConfig.from_dict(params), train, validation, progress=False)
    return time.perf_counter() - started, result.val_accuracy or 0.0


def plain_trial(params: dict, train, validation, statistics) -> tuple[float, float]:
    """The assignment's pipeline as a student writes it, for one trial, setup included but
    the pixel statistics (a student computes them once; the engine remembers them)."""
    from torch import nn
    from torch.utils.data import DataLoader

    from solutions.mlp import build_mlp

    started = time.perf_counter()
    train_tf, eval_tf = plain_transforms(
        params["horizontalFlip"],
        params["rotation"],
        params["resizedCrop"],
        statistics if params["dataNormalisation"] else None,
    )
    train_set = _plain_dataset(train.images, train.labels, train_tf)
    val_set = _plain_dataset(validation.images, validation.labels, eval_tf)
    torch.manual_seed(0)
    model = build_mlp(
        params["numberHiddenLayers"],
        params["hiddenLayerSize"],
        params["activationFunction"],
        params["dropoutProbability"],
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=params["learningRate"])
    batches = math.ceil(params["numberEpochs"] * math.ceil(EPOCH_IMAGES / params["batchSize"]))
    model.train()
    for b, (x, y) in enumerate(DataLoader(train_set, params["batchSize"], shuffle=True)):
        if b == batches:
            break
        loss = nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    correct = 0
    with torch.no_grad():
        for x, y in DataLoader(val_set, params["batchSize"]):
            correct += int((model(x).argmax(1) == y).sum())
    return time.perf_counter() - started, correct / len(val_set)


def coarse_stage(count: int, seed: int) -> dict:
    from kata.data import load_development_splits
    from solutions.normalization import pixel_statistics

    torch.set_num_threads(1)  # as each of the sweep's agents
    train, validation = load_development_splits()
    configs = draw_configs(count, seed)
    statistics = pixel_statistics(train.images)
    rows = []
    for params in configs:
        engine_s, engine_acc = engine_trial(params, train, validation)
        plain_s, plain_acc = plain_trial(params, train, validation, statistics)
        rows.append(
            {
                "batch": params["batchSize"],
                "epochs": params["numberEpochs"],
                "engine_seconds": engine_s,
                "plain_seconds": plain_s,
                "engine_val_accuracy": engine_acc,
                "plain_val_accuracy": plain_acc,
            }
        )
        print(
            f"  b{params['batchSize']:<4} {params['numberEpochs']:.3f} epochs:"
            f" engine {engine_s:6.2f} s, plain {plain_s:6.2f} s",
            flush=True,
        )
    engine = sum(r["engine_seconds"] for r in rows)
    plain = sum(r["plain_seconds"] for r in rows)
    return {
        "trials": rows,
        "engine_trials_per_hour": 3600 * len(rows) / engine,
        "plain_trials_per_hour": 3600 * len(rows) / plain,
        "ratio": plain / engine,
    }


def quick_job(seed: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "job"
        started = time.perf_counter()
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "kata",
                "run",
                "--quick",
                "--seed",
                str(seed),
                "--out",
                str(out),
            ],
            capture_output=True,
            text=True,
        )
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(
                f"kata run --quick failed ({done.returncode}):\n{done.stderr[-3000:]}"
            )
        metrics = json.loads((out / "metrics.json").read_text())
    return {"seconds": seconds, "test_accuracy": metrics["test_accuracy"]}


def markdown(info: dict, coarse: dict, quick: dict | None) -> str:
    lines = [
        "# What a user feels: coarse-stage trials per hour and `kata run --quick`",
        "",
        f"- CPU: {info['cpu']}, {info['cores']} cores; torch {info['torch']}",
        "- coarse trials: one at a time, one thread, setup and validation included",
        "",
        "| measure | plain | engine | engine x |",
        "|---|---:|---:|---:|",
        f"| coarse-stage trials per hour ({len(coarse['trials'])} trials) |"
        f" {coarse['plain_trials_per_hour']:.0f} | {coarse['engine_trials_per_hour']:.0f} |"
        f" {coarse['ratio']:.1f}x |",
    ]
    if quick is not None:
        estimate = quick["seconds"] * coarse["ratio"]
        lines.append(
            f"| `kata run --quick` wall-clock (test accuracy {quick['test_accuracy']:.4f}) |"
            f" {estimate:.0f} s (estimated) | {quick['seconds']:.0f} s (measured) |"
            f" {coarse['ratio']:.1f}x |"
        )
    lines += [
        "",
        "| batch | epochs | plain s | engine s | plain val acc | engine val acc |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in coarse["trials"]:
        lines.append(
            f"| {r['batch']} | {r['epochs']:.3f} | {r['plain_seconds']:.2f} |"
            f" {r['engine_seconds']:.2f} | {r['plain_val_accuracy']:.4f} |"
            f" {r['engine_val_accuracy']:.4f} |"
        )
    lines += [
        "",
        "The plain `kata run --quick` is an estimate: the measured wall-clock times the"
        " plain/engine ratio of the coarse trials (the same trials, so the same accuracy).",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.user_speed", description=__doc__)
    parser.add_argument("--trials", type=int, default=8, help="coarse trials (default 8)")
    parser.add_argument("--seed", type=int, default=0, help="draws and kata run's seed")
    parser.add_argument("--skip-quick", action="store_true", help="only the coarse stage")
    parser.add_argument("--markdown", metavar="FILE", help="also write the table as Markdown")
    args = parser.parse_args(argv)
    if args.trials < 1:
        parser.error("--trials must be at least 1")
    info = machine("cpu")
    quick = None
    if not args.skip_quick:  # first, in its own process, before this one loads anything
        print("kata run --quick ...", flush=True)
        quick = quick_job(args.seed)
    print("coarse-stage trials:", flush=True)
    coarse = coarse_stage(args.trials, args.seed)
    text = markdown(info, coarse, quick)
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
