"""The staged (coarse-to-fine) search the assignment asks for, on the local sweep engine.

Why stages: most of the 11-dimensional space does not learn at all (a sigmoid network four
layers deep at a learning rate of 1e-4, or anything at 1e-1 with batch 8), and a full
10-epoch trial spent finding that out is wasted. So:

1. **coarse**: random search over the whole space, a part of one epoch per trial. Cheap
   trials tell which settings learn and which explode or sit at chance (those fail at once
   and are dropped). The part of an epoch depends on the batch size (`Stage.batch_exponent`)
   so that small batches are not favoured merely for taking more optimizer steps.
2. **narrow**: the space narrowed around the best coarse trials (the `sweep_config`
   exercise's `narrow`), 5 epochs per trial, Bayesian search, hyperband early termination
   stopping trials that fall behind.
3. **fine**: narrowed again around the best of stage 2, 10 epochs per trial, Bayesian.

The number of epochs is the stage's budget, so `numberEpochs` is fixed per stage rather
than searched. Each stage is a `LocalSweep` in its own folder (`stage-N-NAME`): an
interrupted search resumes where it stopped, and a stage's configuration, once written, is
read back rather than derived again.

Without a wall-clock budget each stage runs `count` trials. With one, the stages share it by
`budget_share`: a stage gets its share of the time still left (so what an earlier stage did
not use passes to the later ones) and starts trials while the next one is expected to fit
(the mean length of the stage's trials so far; before its first, the earlier stages'
cheapest trial scaled to its epochs), and a proposed trial only if it is expected to fit
too (from the cheapest earlier trial of its batch size and augmentations: these set a
trial's cost; one that would not fit is skipped, three in a row end the stage); `count`
is then not a limit. A stage whose share cannot fit one trial gets the time for one from
the later stages' shares, if the budget has it. A trial is never cut short, so the search
ends within the budget plus at most one trial's overrun.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from .sweep import STATE_FILE, LocalSweep, RunRecord, TrialFn, run_agents
from .train import exercise_module

SEARCH_FILE = "search.json"  # the search's own state: its id (the wandb group)
BORROW_MARGIN = 1.1  # a stage whose share cannot fit one trial gets this many trials' time


@dataclass(frozen=True)
class Stage:
    """One stage of the search.

    A trial of batch size b trains ``epochs * (b / reference_batch) ** batch_exponent``
    epochs: exponent 0 gives every trial the same number of images, 1 the same number of
    optimizer steps; the coarse stage's 0.25 lies between (batch 8 trains half the images
    of batch 128, in 8 times its steps rather than 16; docs/search-strategy.md says why).
    The trial's params record what it trained. Whole-epoch stages keep exponent 0.
    """

    name: str
    method: str
    epochs: float
    count: int
    keep: int = 5  # how many of the previous stage's best runs the narrowing keeps
    budget_share: float = 1 / 3  # of a total wall-clock budget
    batch_exponent: float = 0.0
    reference_batch: int = 128

    def epochs_for(self, batch_size: int) -> float:
        """The epochs a trial of this batch size trains in this stage."""
        if not self.batch_exponent:
            return self.epochs
        return round(self.epochs * (batch_size / self.reference_batch) ** self.batch_exponent, 6)


# Budget shares: coarse trials take seconds, so a quarter of the budget is hundreds of them
# (423 in 40% of a 30-minute job, where the narrowing keeps the best 8); the time is worth
# more in the later stages, whose trials train 5 and 10 epochs.
DEFAULT_STAGES = (
    Stage("coarse", "random", epochs=0.25, count=30, budget_share=0.25, batch_exponent=0.25),
    Stage("narrow", "bayes", epochs=5, count=8, keep=8, budget_share=0.4),
    Stage("fine", "bayes", epochs=10, count=3, keep=3, budget_share=0.35),
)


@dataclass
class StageResult:
    stage: Stage
    config: dict
    runs: list[RunRecord]
    budget_seconds: float | None = None  # the wall-clock this stage was given, if budgeted
    seconds: float | None = None  # the wall-clock it took in this call
    runs_here: list[RunRecord] = field(default_factory=list)  # the trials this call ran

    def best(self) -> RunRecord | None:
        """The best finished run by the metric's goal (the runs `narrow` counts too)."""
        return best_finished(self.runs, self.config)


def best_finished(runs: list[RunRecord], config: dict) -> RunRecord | None:
    """The finished run with the best metric by the configuration's goal (None if none)."""
    finished = [r for r in runs if r.state == "finished" and r.metric is not None]
    pick = min if (config.get("metric") or {}).get("goal") == "minimize" else max
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


def search_id(directory: str | Path) -> str:
    """The search's unique id, made on first use and kept in `directory/search.json`."""
    path = Path(directory) / SEARCH_FILE
    if path.exists():
        return json.loads(path.read_text())["id"]
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {"id": uuid.uuid4().hex, "created_at": time.time()}
    fd, tmp = tempfile.mkstemp(prefix=f".{SEARCH_FILE}.", dir=path.parent)
    with os.fdopen(fd, "w") as f:
        json.dump(state, f)
    os.replace(tmp, path)
    return state["id"]


def stage_folder(directory: Path, number: int, stage: Stage) -> Path:
    """Where stage `number` (from 1) of a search in `directory` keeps its sweep."""
    return directory / f"stage-{number}-{stage.name}"


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
    group: str | None = None,
    wandb_config: Mapping | None = None,
    wandb_project: str = "fashion-mnist-kata",
    base_config: dict | None = None,
    trial_lines: Callable[[str], None] | None = None,
) -> list[StageResult]:
    """Run the stages one after another; each narrows the space around the previous best.

    `progress`: a header before each stage, a line per trial and a summary after each
    stage; `trial_lines`, if given, receives the trial lines instead of the screen (the
    notebooks send them to a file: hundreds of lines make a notebook unreadable).

    `budget_seconds`: see the module's docstring. wandb: every trial's run has `group` (by
    default the search's id, `search_id(directory)`), its stage as job type, tags (method,
    stage), a name unique across stages, and in its config `seed`, `implementation`
    (`package`) and whatever `wandb_config` adds (the CLI adds `train_subset` and
    `device`). `base_config`: the sweep configuration the first stage searches (default:
    the `sweep_config` exercise's); its method is the stage's.
    """
    sweep_config = exercise_module(package, "sweep_config")
    directory = Path(directory)
    group = group or search_id(directory)
    constants = {"seed": seed, "implementation": package, **(wandb_config or {})}
    started = time.monotonic()
    end = None if budget_seconds is None else started + budget_seconds
    results: list[StageResult] = []
    for number, stage in enumerate(stages, start=1):
        if results and results[-1].best() is None:
            if progress:
                print(
                    f"stage {results[-1].stage.name} finished no trial: nothing to narrow "
                    "around, the search stops here",
                    flush=True,
                )
            break
        budget = expected = None
        if end is not None:
            left = end - time.monotonic()
            if left <= 0:
                if progress:
                    print(f"the budget is spent: stage {stage.name} does not start", flush=True)
                break
            budget = left * stage.budget_share / sum(s.budget_share for s in stages[number - 1 :])
            expected = _expected_seconds(results, stage)
            if expected is not None and budget < expected <= left:
                # A stage without a trial ends the search: better one trial and less later.
                budget = min(left, expected * BORROW_MARGIN)
        folder = stage_folder(directory, number, stage)
        config = _stage_config(folder, stage, sweep_config, results, base_config)
        sweep = LocalSweep(
            folder,
            config,
            seed=seed + number,
            name=folder.name,
            stage=stage.name,
            wandb_mode=wandb_mode,
            wandb_project=wandb_project,
            group=group,
            wandb_config=constants,
            adapt_params=_epochs_adapter(stage) if stage.batch_exponent else None,
        )
        if progress:
            print(_stage_header(number, stages, stage, budget, expected, end), flush=True)
        begun = time.monotonic()
        before = {r.index for r in sweep.runs() if r.state in ("finished", "failed", "stopped")}
        run_agents(
            sweep,
            trial_fn,
            agents=agents,
            count=stage.count if budget is None else None,
            budget_seconds=budget,
            expected_trial_seconds=expected,
            budget_end=end,
            estimate=_trial_estimator(results),
            progress=(trial_lines or True) if progress else False,
        )
        runs = sweep.runs()
        results.append(
            StageResult(
                stage,
                config,
                runs,
                budget_seconds=budget,
                seconds=time.monotonic() - begun,
                runs_here=[r for r in runs if r.index not in before and r.ended_at is not None],
            )
        )
        if progress and budget is not None and not results[-1].runs_here:
            print(
                f"stage {stage.name}: no trial started in its {budget:.0f} s (none was"
                " expected to fit)",
                flush=True,
            )
        elif progress:
            print(_stage_summary(results[-1]), flush=True)
    return results


def _stage_summary(result: StageResult) -> str:
    """One line after a stage: its trials by outcome, its best, its wall-clock."""
    counts = Counter(r.state for r in result.runs if r.state != "skipped")
    outcome = ", ".join(f"{n} {state}" for state, n in counts.most_common())
    best = result.best()
    line = f"   stage {result.stage.name}: {sum(counts.values())} trials ({outcome})"
    if best is not None:
        line += f", best validation accuracy {best.metric:.4f} ({best.run_id})"
    return line + f", {result.seconds:.0f} s"


def _stage_header(number, stages, stage, budget, expected, end) -> str:
    epochs = f"{stage.epochs:g} epochs per trial"
    if stage.batch_exponent:
        epochs += f" at batch {stage.reference_batch}, fewer at smaller batches"
    line = f"== stage {number}/{len(stages)}: {stage.name} ({stage.method}, {epochs}"
    if budget is None:
        return line + f", {stage.count} trials)"
    line += f", {budget:.0f} s of the {end - time.monotonic():.0f} s left in the budget"
    if expected:
        line += f"; a trial takes about {expected:.0f} s"
    return line + ")"


def _epochs_adapter(stage: Stage):
    def adapt(params: dict) -> dict:
        batch = params.get("batchSize")
        if isinstance(batch, int) and not isinstance(batch, bool) and batch > 0:
            return {**params, "numberEpochs": stage.epochs_for(batch)}
        return params

    return adapt


# what sets a trial's cost, besides its epochs
COST_KEYS = (
    "batchSize",
    "hiddenLayerSize",
    "numberHiddenLayers",
    "horizontalFlip",
    "resizedCrop",
    "rotation",
)


def _trial_estimator(results: list[StageResult]):
    """`estimate(params, runs)`: seconds for a trial of `params`, scaled to its epochs from
    the earlier trials (in the earlier stages and this one): the cheapest of those with the
    same batch size, network size and augmentations, else the median of those with the
    same batch size, else the median of all; None before any trial has ended."""
    earlier = [record for result in results for record in result.runs]

    def estimate(params: dict, runs: list[RunRecord]) -> float | None:
        epochs = params.get("numberEpochs")
        if isinstance(epochs, bool) or not isinstance(epochs, int | float):
            return None
        costs = [(r.params, cost) for r in [*earlier, *runs] if (cost := _cost(r)) is not None]
        key, batch = _cost_key(params), params.get("batchSize")
        alike = [fixed + rate * epochs for p, (fixed, rate) in costs if _cost_key(p) == key]
        if alike:
            return min(alike)
        pool = [c for p, c in costs if p.get("batchSize") == batch] or [c for _, c in costs]
        return statistics.median(fixed + rate * epochs for fixed, rate in pool) if pool else None

    return estimate


def _cost_key(params: dict) -> tuple:
    return tuple(params.get(key) for key in COST_KEYS)


def _cost(record: RunRecord) -> tuple[float, float] | None:
    """(fixed seconds, seconds per epoch) of an ended trial, None if it reported no epoch.

    The fixed part (proposing it, building the pipeline, moving the images) is what its
    epochs' `epoch_seconds` (reported by the kata's trial function) do not account for;
    without them, all of it counts as per-epoch time.
    """
    trained = _trained_epochs(record)
    if not trained or record.seconds is None:
        return None
    inside = [h.get("epoch_seconds") for h in record.history]
    if all(isinstance(s, int | float) and not isinstance(s, bool) for s in inside):
        return max(0.0, record.seconds - sum(inside)), sum(inside) / trained
    return 0.0, record.seconds / trained


def _trained_epochs(record: RunRecord) -> float | None:
    """Epochs a run trained: its reported epochs, the last one partial for a fraction."""
    epochs = record.params.get("numberEpochs")
    if not record.history or isinstance(epochs, bool) or not isinstance(epochs, int | float):
        return None
    return min(float(epochs), float(len(record.history)))


def _expected_seconds(results: list[StageResult], stage: Stage) -> float | None:
    """A trial's expected length in `stage` before it has trials of its own: the cheapest
    earlier trial (its fixed seconds plus its seconds per epoch times the stage's epochs).

    A coarse trial's seconds per epoch, fixed costs included, would overstate a 5-epoch
    trial's several times over; the stage's own trials replace this estimate once one has
    ended.
    """
    costs = [cost for result in results for r in result.runs if (cost := _cost(r)) is not None]
    return min(fixed + rate * stage.epochs for fixed, rate in costs) if costs else None


def _stage_config(
    folder: Path, stage: Stage, sweep_config, results: list[StageResult], base: dict | None
) -> dict:
    """This stage's sweep configuration: from disk when it already started, else derived."""
    state = folder / STATE_FILE
    if state.exists():
        return json.loads(state.read_text())["config"]
    if not results:
        if base is not None:
            base = {**base, "method": stage.method}
        else:
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


def best_overall(results: list[StageResult]) -> RunRecord | None:
    """The best finished run by the validation metric over all stages (the metric's goal
    decides; among equals, the later stage's run, which trained longer)."""
    if not results:
        return None
    finished = [
        (number, record)
        for number, result in enumerate(results)
        for record in result.runs
        if record.state == "finished" and record.metric is not None and math.isfinite(record.metric)
    ]
    if not finished:
        return None
    sign = -1 if (results[0].config.get("metric") or {}).get("goal") == "minimize" else 1
    return max(finished, key=lambda pair: (sign * pair[1].metric, pair[0]))[1]
