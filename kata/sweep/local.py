"""The local sweep: a W&B sweep configuration run on this machine, its state on disk.

:class:`LocalSweep` runs trials one after another; its state lives in one JSON file in its
directory (kata/sweep/store.py), so a sweep killed at any point resumes where it stopped,
and several agent processes can share it (kata/sweep/agents.py). With a time budget, a
trial starts only while it is expected to fit. Each attempt of a trial is one wandb run
(kata/wandb_log.py), grouped by the sweep's id, ended before the state says the trial ended.
"""

from __future__ import annotations

import contextlib
import copy
import os
import time
import traceback
import uuid
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .. import wandb_log
from ..wandb_log import SweepWarning
from . import engine
from .agents import Agent, agent_in, is_alive
from .checks import validate_config
from .errors import StateError, SweepConfigError, SweepError, TrialsKeepFailing
from .records import (
    PROPOSED,
    RUNNING,
    SKIPPED,
    TERMINAL,
    RunRecord,
    check_outcome,
    is_malformed,
    records,
)
from .store import STATE_FILE, StateStore
from .trial import TrialFn
from .values import finite, json_normalize, jsonable, plain

MAX_SKIPS = 3  # proposals in a row that would not fit before a budgeted run ends
# An agent stops after this many trials in a row end with an error (an exception, or a
# result that is not one): W&B's agent stops after 5 failed runs in a row at its start.
MAX_CONSECUTIVE_ERRORS = 5
WANDB_MODES = ("offline", "disabled", "online")
# The wandb constants that change a trial's result: part of the sweep's identity, so that a
# resumed sweep never mixes trials of another training subset, implementation or device kind.
IDENTITY_KEYS = ("train_subset", "implementation", "device")


def identity_of(wandb_config: Mapping) -> dict:
    """The sweep's identity from its wandb constants (the device by its kind: cuda:0 and
    cuda:1 train alike)."""
    identity = {k: wandb_config[k] for k in IDENTITY_KEYS if k in wandb_config}
    if isinstance(identity.get("device"), str):
        identity["device"] = identity["device"].split(":")[0]
    return identity


class LocalSweep:
    """A W&B sweep configuration run locally, its state in `directory/sweep.json`.

    `seed` seeds the engine's random draws (not the trials'); `name` is the prefix of run
    ids (``NAME-0000``, ...); `stage` the wandb job type and a tag. Each attempt of a trial
    is one wandb run, logged in `wandb_mode` ("offline": `kata sync DIRECTORY` uploads the
    runs worth uploading; "disabled": no logging) to `wandb_project`, in the wandb group
    `group` (default: this sweep's unique id, `self.id`, kept in its state so that a resumed
    sweep logs into the same group), with `wandb_config` (constant entries such as seed,
    train_subset, implementation, device) added to each run's config; its train_subset,
    implementation and device kind are the sweep's identity too, and a sweep on disk with
    another identity is refused. `adapt_params`, if given, turns a proposal's params into
    what the trial trains (the coarse stage of the staged search sets numberEpochs from
    batchSize with it); the record keeps what it returns. Offline logging costs roughly
    50 ms per trial (init, a log per epoch, finish) plus 1.5-2 s once per process to start
    wandb's service.
    """

    def __init__(
        self,
        directory: str | os.PathLike,
        config: dict,
        *,
        seed: int = 0,
        name: str = "sweep",
        stage: str | None = None,
        wandb_mode: str = "offline",
        wandb_project: str = "fashion-mnist-kata",
        group: str | None = None,
        wandb_config: Mapping | None = None,
        adapt_params: Callable[[dict], dict] | None = None,
    ):
        problems = validate_config(config)
        if problems:
            raise SweepConfigError(problems)
        if wandb_mode not in WANDB_MODES:
            raise ValueError(f"wandb_mode must be one of {WANDB_MODES}, not {wandb_mode!r}")
        self.directory = Path(directory)
        self.config = json_normalize(config)
        self.seed = int(seed)
        self.name = name
        self.stage = stage
        self.wandb_mode = wandb_mode
        self.wandb_project = wandb_project
        self.wandb_config = plain(dict(wandb_config or {}))
        self.adapt_params = adapt_params
        self.metric_name: str | None = (self.config.get("metric") or {}).get("name")
        self.goal = engine.goal(self.config)
        self._engine_config = engine.engine_config(self.config)
        self._store = StateStore(self.directory)
        state = self._store.open(self.config, self.seed, name, identity_of(self.wandb_config))
        self.id: str = state["id"]
        self.group = group or self.id

    # reading the state

    def _read(self) -> dict:
        return self._store.read() or {"config": self.config, "runs": []}

    def runs(self) -> list[RunRecord]:
        """Every run of the sweep, from disk, in the order they were proposed (not the
        proposals skipped for want of time, which stay in the state file)."""
        return records(self._read())

    def best(self) -> RunRecord | None:
        """The finished or stopped run with the best metric (the first of equals)."""
        if not self.metric_name:
            return None
        scored = [
            r for r in self.runs() if r.state in ("finished", "stopped") and r.metric is not None
        ]
        if not scored:
            return None
        sign = -1 if self.goal == "maximize" else 1
        return min(scored, key=lambda r: (sign * r.metric, r.index))

    def interrupted_runs(self) -> list[str]:
        """The run ids of trials that began and did not end: put back, or claimed by an
        agent that is gone. The next run reruns them first."""
        return [
            run["run_id"]
            for run in self._read()["runs"]
            if run["state"] == PROPOSED
            or (run["state"] == RUNNING and not is_alive(run, self.directory))
        ]

    def running_elsewhere(self) -> int:
        """Trials that live agents (of another command) are running now."""
        return sum(
            run["state"] == RUNNING and is_alive(run, self.directory)
            for run in self._read()["runs"]
        )

    def _engine_runs(self, runs: list[dict], *, for_search: bool) -> list:
        return engine.engine_runs(self.config, runs, for_search=for_search)

    # changing the state: under the lock, read, change, write

    def _locked_change(self, change: Callable[[dict], Any]) -> Any:
        try:
            with self._store.locked():
                state = self._read()
                result = change(state)
                if result is not _UNCHANGED:
                    self._store.write(state)
                return result
        except OSError as error:  # disk full, folder removed: the store's, not a trial's
            raise StateError(
                f"the sweep state in {self.directory} cannot be written: {error}"
            ) from error

    def _update(self, index: int, agent: Agent, change: Callable[[dict, dict], Any]) -> Any:
        def guarded(state: dict) -> Any:
            run = state["runs"][index]
            if run["state"] != RUNNING or run.get("agent") != agent.id:
                raise StateError(
                    f"run {run['run_id']} is {run['state']} by {run.get('agent')}, not running"
                    f" by this agent ({agent.id}): was the sweep state edited?"
                )
            return change(state, run)

        return self._locked_change(guarded)

    def _limit(self, count: int | None) -> int | None:
        caps = [c for c in (count, self.config.get("run_cap")) if c is not None]
        return min(caps) if caps else None

    def _target_reached(self, runs: list[dict]) -> bool:
        target = (self.config.get("metric") or {}).get("target")
        if target is None:
            return False
        for run in runs:
            value = run["summary"].get(self.metric_name)
            if run["state"] in ("finished", "stopped") and finite(value):
                if (value >= target) if self.goal == "maximize" else (value <= target):
                    return True
        return False

    def _claim(self, agent: Agent, count: int | None) -> dict | None:
        """Under the lock: the next run for `agent` (an interrupted one first), or None."""

        def claim(state: dict):
            runs = state["runs"]
            done = sum(run["state"] in TERMINAL for run in runs)
            limit = self._limit(count)
            if limit is not None and done >= limit or self._target_reached(runs):
                return _UNCHANGED
            orphans, in_flight = [], 0
            for run in runs:
                if run["state"] == PROPOSED:
                    orphans.append(run)
                elif run["state"] == RUNNING:
                    if run.get("agent") == agent.id or is_alive(run, self.directory):
                        in_flight += 1
                    else:
                        orphans.append(run)
            if limit is not None and done + in_flight >= limit:
                return _UNCHANGED
            if orphans:  # rerun an interrupted trial with the same params
                run = orphans[0]
                _set_interrupted(run)
                run["attempts"] = run.get("attempts", 1) + 1
                run.update(history=[], summary={}, reason=None, should_stop=False)
            else:
                run = self._proposal(runs)
                if run is None:
                    return _UNCHANGED
                runs.append(run)
            # the trial's seconds start after the proposal (bayes fits a model; the first
            # call imports the sweeps package): they are the trial's own
            run.update(
                state=RUNNING,
                agent=agent.id,
                agent_process=agent.process(),
                started_at=time.time(),
                ended_at=None,
                wandb_run_id=None if self.wandb_mode == "disabled" else uuid.uuid4().hex[:12],
            )
            return copy.deepcopy(run)

        claimed = self._locked_change(claim)
        return None if claimed is _UNCHANGED else claimed

    def _proposal(self, runs: list[dict]) -> dict | None:
        proposal = engine.propose(self.config, self._engine_config, runs, self.seed)
        if proposal is None:
            return None
        engine_params, search_info = proposal
        index = len(runs)
        params = engine.decode(self.config["parameters"], engine_params)
        if self.adapt_params is not None:
            params = plain(self.adapt_params(params))
        return {
            "index": index,
            "run_id": f"{self.name}-{index:04d}",
            "stage": self.stage,
            "params": params,
            "engine_params": engine_params,
            "search_info": search_info,
            "attempts": 1,
            "history": [],
            "summary": {},
            "reason": None,
            "should_stop": False,
            "proposed_at": time.time(),
        }

    def _record_epoch(self, index: int, agent: Agent, metrics: dict) -> bool:
        def change(state: dict, run: dict) -> bool:
            run["history"].append(jsonable(metrics))
            if "early_terminate" not in self.config:
                return False
            # Called after every epoch: the package stops only runs that are still running.
            # A run it picks that another agent runs is flagged for that agent's next report.
            to_stop = engine.runs_to_stop(self.config, self._engine_config, state["runs"])
            for other in state["runs"]:
                if other["run_id"] in to_stop and other["state"] == RUNNING:
                    other["should_stop"] = True
            return bool(run.get("should_stop"))

        return self._update(index, agent, change)

    # running

    def run(
        self,
        trial_fn: TrialFn,
        *,
        count: int | None = None,
        budget_seconds: float | None = None,
        expected_trial_seconds: float | None = None,
        budget_end: float | None = None,
        estimate: Callable[[dict, list[RunRecord]], float | None] | None = None,
        progress: bool | Callable[[str], None] = True,
    ) -> list[RunRecord]:
        """Run trials one after another; the records of the trials run by this call.

        Stops when `count` trials of this sweep have ended (finished, failed or stopped,
        counted over resumes and across agents; also the configuration's `run_cap`), when
        the engine has nothing more to propose (grid exhausted), when the metric's `target`
        is reached, or when the next trial would not fit in what is left of
        `budget_seconds`: a trial starts only if the time left is more than the expected
        length of a trial, the mean of this sweep's ended trials (before the first one:
        `expected_trial_seconds`, else 0). A trial that runs longer than expected is not
        cut short, so a budgeted run ends within the budget plus at most one trial's
        overrun. `estimate(params, runs)`, if given, is also asked about each proposed
        trial before it starts (trials differ in cost by an order of magnitude); a proposal
        it says will not fit is skipped (recorded as "skipped", never run, left out of
        `runs()`), and after MAX_SKIPS such proposals in a row the run ends. `budget_end` (a
        `time.monotonic()` value) is the end of a larger budget this run is part of (a
        staged search's), shown in the progress lines.
        An interrupted trial (killed agent) is rerun with the same params before new ones.
        After MAX_CONSECUTIVE_ERRORS trials in a row ended with an error (the trial function
        raised, or returned something that is not a result), TrialsKeepFailing is raised.
        An error of the state store raises StateError and is not recorded as the trial's.
        `progress`: True prints a line per trial, a callable receives each line instead.
        """
        say = _line_sink(progress)
        if count is not None and count < 0:
            raise ValueError(f"count must be >= 0, not {count}")
        deadline = None if budget_seconds is None else time.monotonic() + budget_seconds
        if budget_end is None:
            budget_end = deadline
        records_here, skips, errors = [], 0, 0
        with agent_in(self.directory) as agent:
            while deadline is None or self._fits(deadline, expected_trial_seconds):
                run = self._claim(agent, count)
                if run is None:
                    break
                if deadline is not None and estimate is not None:
                    expected = estimate(run["params"], self.runs())
                    left = deadline - time.monotonic()
                    if expected is not None and expected > left:
                        why = f"would take about {expected:.0f} s, {left:.0f} s are left"
                        self._update(run["index"], agent, lambda state, r, w=why: _skip(r, w))
                        if say:
                            say(f"[{self.stage or self.name}] skipped: {why}")
                        skips += 1
                        if skips >= MAX_SKIPS:
                            break
                        continue
                skips = 0
                record, errored = self._run_trial(trial_fn, run, agent)
                records_here.append(record)
                if say:
                    say(self._progress_line(record, count, budget_end))
                errors = errors + 1 if errored else 0
                if errors >= MAX_CONSECUTIVE_ERRORS:
                    raise TrialsKeepFailing(
                        f"{errors} trials in a row of the sweep in {self.directory} ended with"
                        " an error, so it stopped (as W&B's agent does); the last,"
                        f" {record.run_id}: {record.reason} (its traceback is in"
                        f" {self.directory / STATE_FILE})"
                    )
        return records_here

    def expected_trial_seconds(self, default: float | None = None) -> float | None:
        """The mean length of this sweep's ended trials; `default` before the first ends."""
        seconds = [r.seconds for r in self.runs() if r.state in TERMINAL and r.seconds is not None]
        return sum(seconds) / len(seconds) if seconds else default

    def _fits(self, deadline: float, default: float | None) -> bool:
        left = deadline - time.monotonic()
        return left > 0 and (self.expected_trial_seconds(default) or 0.0) <= left

    def _run_trial(self, trial_fn: TrialFn, run: dict, agent: Agent) -> tuple[RunRecord, bool]:
        """The trial's record, and whether it ended with an error."""
        index = run["index"]
        wandb_run = self._wandb_start(run)
        logging_ok = [wandb_run is not None]
        state_errors: list[StateError] = []

        def report(metrics: dict) -> bool:
            if not isinstance(metrics, Mapping):
                raise TypeError(
                    "report() takes a dict of metrics, e.g. {'epoch': 1, 'val_accuracy': 0.8},"
                    f" not {type(metrics).__name__}"
                )
            metrics = plain(dict(metrics))
            try:
                stop = self._record_epoch(index, agent, metrics)
            except StateError as error:
                state_errors.append(error)
                raise
            if logging_ok[0]:
                logging_ok[0] = wandb_log.log(wandb_run, metrics, run["run_id"])
            return stop

        extra: dict = {}
        try:
            outcome = trial_fn(copy.deepcopy(run["params"]), report)
        except Exception as error:  # a sweep never crashes because one trial did
            if state_errors:  # the state store failed under the trial: not the trial's doing
                raise state_errors[0] from error
            outcome = {"status": "failed", "reason": f"{type(error).__name__}: {error}"}
            extra["traceback"] = traceback.format_exc(limit=-8)
        except BaseException as interrupt:  # Ctrl-C, SIGTERM: put the trial back, re-raise
            named = str(interrupt) if isinstance(interrupt, KeyboardInterrupt) else ""
            why = named or type(interrupt).__name__
            with contextlib.suppress(SweepError):  # a dead agent's trial is rerun anyway
                self._update(index, agent, lambda state, r: _requeue(r, why))
            wandb_log.finish_interrupted(wandb_run, why)
            raise
        if state_errors:  # the trial function swallowed it
            raise state_errors[0]
        status, reason, summary = check_outcome(outcome, self.metric_name)
        errored = "traceback" in extra or is_malformed(outcome, status, reason)
        if status == "failed" and reason and "sweep's metric" in reason:
            warnings.warn(f"{run['run_id']} failed: {reason}", SweepWarning, stacklevel=2)
        # The run is complete before the state says the trial ended: killed in between, the
        # trial is rerun and this run is an interrupted attempt, never the trial's run.
        wandb_log.finish_run(wandb_run, status, summary, reason)
        if not logging_ok[0] and wandb_run is not None:
            extra["wandb_logging"] = "incomplete"

        def finish(state: dict, r: dict) -> dict:
            r.update(
                state=status,
                reason=reason,
                summary=jsonable(summary),
                ended_at=time.time(),
                **extra,
            )
            if wandb_run is None:
                r["wandb_run_id"] = None
            return copy.deepcopy(r)

        stored = self._update(index, agent, finish)
        return RunRecord.from_dict(stored, self.metric_name), errored

    def _progress_line(
        self, record: RunRecord, count: int | None = None, budget_end: float | None = None
    ) -> str:
        """`[stage] trial i/n: params -> state metric (seconds), time left in the budget`."""
        params = ", ".join(f"{k}={_short(v)}" for k, v in record.params.items())
        limit = self._limit(count)
        of = f"/{limit}" if limit is not None else ""
        rerun = f" (attempt {record.attempts})" if record.attempts > 1 else ""
        line = f"[{self.stage or self.name}] trial {record.index + 1}{of}{rerun}: {params}"
        line += f" -> {record.state}"
        if self.metric_name:
            value = record.summary.get(self.metric_name)
            line += f" {self.metric_name}={_short(value)}"
        if record.seconds is not None:
            line += f" ({record.seconds:.1f} s)"
        if budget_end is not None:
            line += f" [{max(0.0, budget_end - time.monotonic()):.0f} s left in the budget]"
        if record.reason:
            line += f": {record.reason}"
        return line

    # wandb: one run per attempt (kata/wandb_log.py); a logging problem never stops the sweep

    def _wandb_start(self, run: dict):
        if self.wandb_mode == "disabled":
            return None
        return wandb_log.start_run(
            project=self.wandb_project,
            directory=str(self.directory),
            mode=self.wandb_mode,
            group=self.group,
            job_type=self.stage or "sweep",
            name=run["run_id"],
            tags=[self.config["method"], *([self.stage] if self.stage else [])],
            config={**run["params"], **self.wandb_config},
            run_id=run["wandb_run_id"],
        )


_UNCHANGED = object()  # a change that found nothing to do: nothing is written


def _set_interrupted(run: dict) -> None:
    """The current attempt's wandb run joins the interrupted ones (it is never uploaded)."""
    if run.get("wandb_run_id"):
        run.setdefault("wandb_interrupted", []).append(run["wandb_run_id"])
    run["wandb_run_id"] = None


def _skip(run: dict, why: str) -> None:
    run.update(
        state=SKIPPED,
        agent=None,
        reason=f"not started: {why}",
        ended_at=None,
        wandb_run_id=None,  # only reserved: no wandb run was started
    )


def _requeue(run: dict, why: str) -> None:
    _set_interrupted(run)
    run.update(
        state=PROPOSED,
        agent=None,
        reason=f"interrupted ({why}); will be rerun",
        ended_at=time.time(),
    )


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _line_sink(progress: bool | Callable[[str], None]) -> Callable[[str], None] | None:
    """Where progress lines go: printed (True), to a callable, or nowhere (False)."""
    if callable(progress):
        return progress
    return (lambda line: print(line, flush=True)) if progress else None
