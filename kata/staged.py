"""The staged (coarse-to-fine) search the assignment asks for, on the local sweep engine.

Why stages: most of the 11-dimensional space does not learn at all (a sigmoid network four
layers deep at a learning rate of 1e-4, or anything at 1e-1 with batch 8), and a full
10-epoch trial spent finding that out is wasted. So:

1. **coarse**: random search over the whole space, a part of one epoch per trial. Cheap
   trials tell which settings learn and which explode or sit at chance (those fail at once
   and are dropped).
2. **narrow**: the space narrowed around the best coarse trials (the `sweep_config`
   exercise's `narrow`), 5 epochs per trial, Bayesian search, hyperband early termination
   stopping trials that fall behind.
3. **fine**: narrowed again around the best of stage 2, 10 epochs per trial, Bayesian.

The number of epochs is the stage's budget, so `numberEpochs` is fixed per stage rather
than searched. Each stage is a `LocalSweep` in its own folder: an interrupted search
resumes where it stopped, and a stage's configuration, once written, is read back rather
than derived again.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from pathlib import Path

from .sweep import STATE_FILE, LocalSweep, RunRecord, TrialFn, run_agents
from .train import exercise_module


@dataclass(frozen=True)
class Stage:
    name: str
    method: str
    epochs: float
    count: int
    keep: int = 5  # how many of the previous stage's best runs the narrowing keeps
    budget_share: float = 1 / 3  # of a total wall-clock budget


DEFAULT_STAGES = (
    Stage("coarse", "random", epochs=0.25, count=30, budget_share=0.4),
    Stage("narrow", "bayes", epochs=5, count=8, keep=8, budget_share=0.4),
    Stage("fine", "bayes", epochs=10, count=3, keep=3, budget_share=0.2),
)


@dataclass
class StageResult:
    stage: Stage
    config: dict
    runs: list[RunRecord]

    def best(self) -> RunRecord | None:
        """The best finished run by the metric's goal (the runs `narrow` counts too)."""
        finished = [r for r in self.runs if r.state == "finished" and r.metric is not None]
        pick = min if self.config["metric"].get("goal") == "minimize" else max
        return pick(finished, key=lambda r: r.metric, default=None)


def as_narrowing_runs(records: list[RunRecord]) -> list[dict]:
    """Run records in the form the `narrow` exercise takes (W&B's: status, config, summary)."""
    return [{"status": r.state, "config": r.params, "summary": r.summary} for r in records]


def with_epochs(config: dict, epochs: float) -> dict:
    parameters = {**config["parameters"], "numberEpochs": {"value": epochs}}
    return {**config, "parameters": parameters}


def scaled(stages: tuple[Stage, ...], factor: float) -> tuple[Stage, ...]:
    """The same plan with `factor` times as many trials per stage (at least one each)."""
    return tuple(replace(s, count=max(1, round(s.count * factor))) for s in stages)


def run_staged(
    directory: str | Path,
    trial_fn: TrialFn,
    *,
    stages: tuple[Stage, ...] = DEFAULT_STAGES,
    budget_seconds: float | None = None,
    seed: int = 0,
    package: str = "solutions",
    wandb_mode: str = "offline",
    progress: bool = True,
    agents: int = 1,
) -> list[StageResult]:
    """Run the stages one after another; each narrows the space around the previous best."""
    sweep_config = exercise_module(package, "sweep_config")
    directory = Path(directory)
    started = time.monotonic()
    results: list[StageResult] = []
    for number, stage in enumerate(stages, start=1):
        folder = directory / f"stage-{number}-{stage.name}"
        if results and results[-1].best() is None:
            if progress:
                print(
                    f"stage {results[-1].stage.name} finished no trial: nothing to narrow "
                    "around, the search stops here",
                    flush=True,
                )
            break
        config = _stage_config(folder, stage, sweep_config, results)
        sweep = LocalSweep(
            folder,
            config,
            seed=seed + number,
            name=directory.name,
            stage=stage.name,
            wandb_mode=wandb_mode,
        )
        budget = None
        if budget_seconds is not None:
            spent = time.monotonic() - started
            later = sum(s.budget_share for s in stages[number:])
            budget = max(
                0.0, (budget_seconds - spent) * stage.budget_share / (stage.budget_share + later)
            )
        if progress:
            print(
                f"== stage {number}/{len(stages)}: {stage.name} ({stage.method}, "
                f"{stage.epochs:g} epochs per trial, {stage.count} trials)",
                flush=True,
            )
        run_agents(
            sweep,
            trial_fn,
            agents=agents,
            count=stage.count,
            budget_seconds=budget,
            progress=progress,
        )
        results.append(StageResult(stage, config, sweep.runs()))
    return results


def _stage_config(folder: Path, stage: Stage, sweep_config, results: list[StageResult]) -> dict:
    """This stage's sweep configuration: from disk when it already started, else derived."""
    state = folder / STATE_FILE
    if state.exists():
        return json.loads(state.read_text())["config"]
    if not results:
        base = sweep_config.build_sweep_config(stage.method)
    else:
        previous = results[-1]
        runs = as_narrowing_runs(previous.runs)
        base = {**sweep_config.narrow(previous.config, runs, stage.keep), "method": stage.method}
    return with_epochs(base, stage.epochs)


def best_run(results: list[StageResult]) -> RunRecord | None:
    """The best finished run of the latest stage that has one."""
    for result in reversed(results):
        best = result.best()
        if best is not None:
            return best
    return None
