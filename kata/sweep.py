"""A local, W&B-compatible sweep engine: no account, no network.

The same W&B sweep configuration (``method`` grid|random|bayes, ``metric``, ``parameters``,
``early_terminate`` hyperband) runs here as on W&B's servers, with W&B's own open-source
engine, the ``sweeps`` package (``pip install wandb[sweeps]``): proposals come from
``sweeps.next_run`` and early termination from ``sweeps.stop_runs``.

- :func:`validate_config` lists every problem of a configuration (the package's own schema
  check, made readable, plus what this engine cannot run).
- :class:`LocalSweep` runs trials one after another; its state lives in one JSON file in its
  directory, rewritten atomically after every change, so a sweep killed at any point resumes
  where it stopped, and several agent processes can share it (``fcntl.flock``). With a
  time budget, a trial starts only while it is expected to fit (the mean of the sweep's
  trials so far). Each trial is one wandb run (kata/wandb_log.py), grouped by the sweep's id.
- :func:`run_online` is the thin path to W&B's servers (``wandb.sweep`` + ``wandb.agent``).
- :func:`training_trial_fn` adapts :func:`kata.train.train_trial` to a trial function.

A trial function is ``trial_fn(params, report) -> {"status", "reason", "summary"}``; it calls
``report(metrics)`` after every epoch and stops when that returns True ("stopped"). A trial
that has trained all its epochs is "finished", even if its last report was told to stop.

Traps of sweeps 0.3.0 this module works around (each has a test in tests/harness/test_sweep.py):

1. bayes encodes a run's categorical value with ``if not value: continue`` (params.py,
   ``normalize_runs_as_array``), so False, 0, "" or None is read as the *first* value: with
   ``values: [True, False]`` the engine cannot tell False from True (and ``value_to_idx`` uses
   ``==``, so 1 and True collide too). The engine here only ever sees categorical values as
   non-empty string tokens ("#1:false"), decoded back to the configured values.
2. a missing or NaN metric is imputed silently (a misspelt metric name becomes 0.0, the *best*
   value when minimising). A trial whose summary lacks a finite value of the configured metric
   is recorded as failed, loudly, with the reason; NaN never reaches the engine, and a failed
   run without any finite metric is shown to bayes with the worst metric seen, never 0.0.
3. sampled values come back as numpy scalars: trials get plain Python values.
4. random and bayes draw from the global ``random`` and ``numpy.random`` generators. Every
   engine call runs with those generators seeded from (seed, proposal number) and restored
   afterwards, so the trials' random streams never see the engine's draws, the trials' draws
   never change the proposals, and a seeded sweep proposes the same runs again, across resumes.
5. hyperband's ``strict`` defaults to True in the 0.3.0 schema though W&B's docs say false:
   it is set explicitly (what the configuration says, else False).
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import hashlib
import json
import math
import numbers
import os
import random
import socket
import sys
import tempfile
import time
import traceback
import uuid
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import wandb_log
from .wandb_log import SweepWarning, kept_global_rng
from .wandb_log import finite_entries as _finite_entries

METRIC = "val_accuracy"
STATE_FILE = "sweep.json"
LOCK_FILE = "sweep.lock"
AGENTS_DIR = "agents"
STATE_VERSION = 1

PROPOSED = "proposed"  # waiting to run: an interrupted trial put back for a rerun
RUNNING = "running"
SKIPPED = "skipped"  # proposed under a budget, never run: it would not have fitted
MAX_SKIPS = 3  # proposals in a row that would not fit before a budgeted run ends
STATUSES = ("finished", "failed", "stopped")  # what a trial function may return
TERMINAL = frozenset(STATUSES)
WANDB_MODES = ("offline", "disabled", "online")

Report = Callable[[dict], bool]
TrialFn = Callable[[dict, Report], dict]


class SweepError(RuntimeError):
    """A sweep that cannot go on: bad state on disk, or a configuration that differs."""


class SweepConfigError(SweepError, ValueError):
    """A sweep configuration with problems; `problems` lists every one."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("invalid sweep configuration:\n  " + "\n  ".join(self.problems))


# --- the sweeps package -------------------------------------------------------------------


def _sweeps():
    """The `sweeps` package, imported on first use (it pulls in scipy; sklearn for bayes)."""
    with warnings.catch_warnings():
        # pydantic 2 warns about sweeps' pydantic-1 style `class Config` on import.
        warnings.simplefilter("ignore", UserWarning)
        import sweeps
        import sweeps.params  # noqa: F401
    return sweeps


@contextlib.contextmanager
def _global_rng(seed_text: str | None = None) -> Iterator[None]:
    """Save `random` and `numpy.random`'s global states, optionally seed them, restore after."""
    with kept_global_rng():
        if seed_text is not None:
            random.seed(seed_text)  # a str seed hashes with sha512: the same in every process
            digest = hashlib.sha256(seed_text.encode()).digest()
            np.random.seed(int.from_bytes(digest[:4], "little"))
        yield


# --- plain values ------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """numpy (and 0-d torch) scalars, arrays and tuples to plain Python values, recursively."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if getattr(value, "ndim", None) == 0 and callable(getattr(value, "item", None)):
        return value.item()
    return value


def _jsonable(value: Any) -> Any:
    """`_plain`, with non-finite floats as the strings "NaN", "Infinity", "-Infinity" (valid
    JSON keeps them readable) and anything else JSON cannot hold as its repr."""
    value = _plain(value)
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, str | bool | int | float):
        return value
    return repr(value)


def _json_normalize(config: Mapping) -> dict:
    """The configuration as JSON would give it back (tuples become lists, numpy plain)."""
    return json.loads(json.dumps(_plain(config), allow_nan=False))


def _finite(value: Any) -> bool:
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


# --- validation --------------------------------------------------------------------------


def validate_config(config: Any) -> list[str]:
    """Every problem of a sweep configuration, readable; [] if it is valid.

    First every violation the sweeps package's own schema check reports (with where it is,
    and for a malformed parameter the closest matching kind of parameter), then, for a
    configuration the schema accepts, what this local engine cannot run.
    """
    if not isinstance(config, Mapping):
        return [f"a sweep configuration is a dict, not {type(config).__name__}"]
    try:
        normalized = _json_normalize(config)
    except (TypeError, ValueError) as error:
        return [f"the sweep configuration must hold only JSON values: {error}"]
    problems = _schema_problems(normalized)
    if not problems:
        problems = _local_problems(normalized)
    return problems


def _schema_problems(config: dict) -> list[str]:
    sweeps = _sweeps()
    from sweeps.config.schema import validator

    errors = list(validator.iter_errors(config))
    try:
        messages = sweeps.schema_violations_from_proposed_config(config)
    except Exception as error:  # it raises on a parameter that is not a dict, for one
        messages = [e.message for e in errors] + [str(error)]
    # Its first messages are these jsonschema errors' messages, in the same order: give them
    # their place in the configuration and a hint; the rest (min < max, probabilities, old
    # log distributions) already name their parameter.
    if [e.message for e in errors] == messages[: len(errors)]:
        messages = [_describe(e) for e in errors] + messages[len(errors) :]
    return list(dict.fromkeys(messages))  # min >= max is reported twice by the package


def _describe(error) -> str:
    where = ".".join(str(part) for part in error.absolute_path) or "sweep configuration"
    message = error.message
    if error.context:
        message += f" (closest: {_closest(error)[1]})"
    return f"{where}: {message}"


def _closest(error) -> tuple[int, str]:
    """The alternative of an anyOf/oneOf error that is nearest to valid, as (score, text)."""
    branches: dict[Any, list] = {}
    for sub in error.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    best: tuple[int, str] | None = None
    for subs in branches.values():
        score, texts = 0, []
        for sub in subs:
            if sub.context:
                inner_score, text = _closest(sub)
                score += inner_score
            else:
                score, text = score + 1, sub.message
                other_kind = list(sub.relative_path)[:1] == ["distribution"] or (
                    sub.validator == "required" and "'distribution'" in sub.message
                )
                score += 100 if other_kind else 0  # a branch for another distribution
                score += 10 if sub.validator == "additionalProperties" else 0  # another kind
            texts.append(text)
        if best is None or score < best[0]:
            best = (score, "; ".join(texts))
    assert best is not None
    return best


def _parameter_specs(parameters: dict, prefix: str = "") -> Iterator[tuple[str, dict]]:
    for name, spec in parameters.items():
        if isinstance(spec.get("parameters"), dict):
            yield from _parameter_specs(spec["parameters"], f"{prefix}{name}.")
        else:
            yield prefix + name, spec


def _local_problems(config: dict) -> list[str]:
    """What the schema allows but this engine (or sweeps 0.3.0 itself) cannot run."""
    from sweeps.params import HyperParameter

    problems = []
    method = config.get("method")
    if method not in ("grid", "random", "bayes"):
        problems.append(f"method: the local engine runs grid, random or bayes, not {method!r}")
    for key in ("scheduler", "metrics"):
        if key in config:
            problems.append(f"{key}: not supported by the local engine")
    if "parameters" not in config:
        return problems + ["parameters: the local engine needs a `parameters` section"]
    if method == "bayes" and "metric" not in config:
        problems.append("metric: method 'bayes' needs a `metric` to optimise")
    if "early_terminate" in config and "metric" not in config:
        problems.append("early_terminate: hyperband needs a `metric`")
    searchable = 0
    for name, spec in _parameter_specs(config["parameters"]):
        kind = HyperParameter(name, spec).type
        searchable += kind != HyperParameter.CONSTANT
        if method == "grid" and kind not in (
            HyperParameter.CATEGORICAL,
            HyperParameter.CONSTANT,
            HyperParameter.INT_UNIFORM,
            HyperParameter.Q_UNIFORM,
        ):
            problems.append(
                f"parameters.{name}: grid search takes only `values` (without probabilities),"
                f" `value`, int_uniform or q_uniform, not {kind.removeprefix('param_')}"
            )
        if method == "bayes" and kind == HyperParameter.CATEGORICAL_PROB:
            problems.append(
                f"parameters.{name}: bayes in sweeps 0.3.0 fails on `probabilities`"
                " (IndexError in HyperParameter.cdf); drop them"
            )
    if method == "bayes" and searchable == 0:
        problems.append("parameters: bayes needs at least one parameter that varies")
    return problems


# --- the engine's view of the configuration and the runs -----------------------------------


def _token(index: int, value: Any) -> str:
    """A categorical value as the engine sees it: a non-empty string, never falsy (trap 1)."""
    return f"#{index}:{json.dumps(value, sort_keys=True)}"


def _encode_parameters(parameters: dict) -> dict:
    encoded = {}
    for name, spec in parameters.items():
        spec = copy.deepcopy(spec)
        if isinstance(spec.get("parameters"), dict):
            spec["parameters"] = _encode_parameters(spec["parameters"])
        elif isinstance(spec.get("values"), list):
            spec["values"] = [_token(i, v) for i, v in enumerate(spec["values"])]
        encoded[name] = spec
    return encoded


def _decode_value(spec: Any, value: Any) -> Any:
    value = _plain(value)
    if isinstance(spec, dict):
        if isinstance(spec.get("parameters"), dict) and isinstance(value, dict):
            return {k: _decode_value(spec["parameters"].get(k), v) for k, v in value.items()}
        if isinstance(spec.get("values"), list) and isinstance(value, str) and value[:1] == "#":
            return copy.deepcopy(spec["values"][int(value[1 : value.index(":")])])
    return value


def _decode(parameters: dict, engine_params: dict) -> dict:
    """A proposal's run config ({name: {"value": v}}) to the trial's plain params."""
    return {
        name: _decode_value(parameters.get(name), entry.get("value"))
        for name, entry in engine_params.items()
    }


def _engine_config(config: dict) -> dict:
    engine = copy.deepcopy(config)
    engine["parameters"] = _encode_parameters(config["parameters"])
    terminate = engine.get("early_terminate")
    if isinstance(terminate, dict) and terminate.get("type") == "hyperband":
        # Trap 5: sweeps 0.3.0's schema fills `strict` with True (stop a run whose metric at
        # the band is below the threshold) although W&B's docs give false (stop only if the
        # run's best value so far is below it). Keep what the configuration says; default to
        # the documented False, explicitly, so the package's default never applies.
        terminate["strict"] = bool(terminate.get("strict", False))
    return engine


def _goal(config: dict) -> str:
    # The sweeps schema's default goal is minimize, and the engine fills it so: agree with it.
    return (config.get("metric") or {}).get("goal", "minimize")


# --- records -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunRecord:
    """One run of the sweep as stored on disk.

    `params` are the hyperparameters it trained (numberEpochs included: what it actually
    trained), `history` one dict per reported epoch (for the kata's training: epoch,
    train_loss, train_accuracy, val_loss, val_accuracy, epoch_seconds, images_per_second),
    `summary` the metrics at its end, `seconds` its wall-clock length.
    """

    index: int
    run_id: str
    params: dict
    state: str  # proposed | running | finished | failed | stopped
    reason: str | None = None
    history: list[dict] = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    metric: float | None = None  # the configured metric from the summary, if finite
    attempts: int = 1
    agent: str | None = None
    started_at: float | None = None
    ended_at: float | None = None
    wandb_run_id: str | None = None
    stage: str | None = None  # the stage of a staged search that ran it

    @property
    def seconds(self) -> float | None:
        if self.started_at is None or self.ended_at is None:
            return None
        return self.ended_at - self.started_at

    @classmethod
    def from_dict(cls, run: dict, metric_name: str | None) -> RunRecord:
        value = run.get("summary", {}).get(metric_name) if metric_name else None
        return cls(
            index=run["index"],
            run_id=run["run_id"],
            params=copy.deepcopy(run["params"]),
            state=run["state"],
            reason=run.get("reason"),
            history=copy.deepcopy(run.get("history", [])),
            summary=copy.deepcopy(run.get("summary", {})),
            metric=float(value) if _finite(value) else None,
            attempts=run.get("attempts", 1),
            agent=run.get("agent"),
            started_at=run.get("started_at"),
            ended_at=run.get("ended_at"),
            wandb_run_id=run.get("wandb_run_id"),
            stage=run.get("stage"),
        )


def records(state: dict) -> list[RunRecord]:
    """The runs of a sweep's state (`sweep.json`), without proposals skipped for want of
    time."""
    metric = (state["config"].get("metric") or {}).get("name")
    return [RunRecord.from_dict(run, metric) for run in state["runs"] if run["state"] != SKIPPED]


def check_outcome(outcome: Any, metric_name: str | None) -> tuple[str, str | None, dict]:
    """(status, reason, summary) of what a trial function returned, refusing a finished or
    stopped trial whose summary lacks a finite value of the metric (trap 2)."""
    if not isinstance(outcome, Mapping):
        return (
            "failed",
            f"the trial function returned {type(outcome).__name__}, not a dict with"
            " status, reason and summary",
            {},
        )
    summary = outcome.get("summary") or {}
    if not isinstance(summary, Mapping):
        return "failed", f"the trial's summary is a {type(summary).__name__}, not a dict", {}
    summary = _plain(dict(summary))
    status, reason = outcome.get("status"), outcome.get("reason")
    if status not in STATUSES:
        return (
            "failed",
            f"the trial function returned status {status!r}, not one of {STATUSES}",
            summary,
        )
    if status != "failed" and metric_name:
        if metric_name not in summary:
            return (
                "failed",
                f"the trial's summary has no {metric_name!r}, the sweep's metric (it has"
                f" {sorted(summary)}); a misspelt metric name? The sweeps package would"
                " silently count it as 0.0",
                summary,
            )
        if not _finite(summary[metric_name]):
            return (
                "failed",
                f"the sweep's metric {metric_name!r} is {summary[metric_name]!r}, not a finite"
                " number",
                summary,
            )
    return status, None if reason is None else str(reason), summary


# --- the local sweep -------------------------------------------------------------------------


class LocalSweep:
    """A W&B sweep configuration run locally, its state in `directory/sweep.json`.

    `seed` seeds the engine's random draws (not the trials'); `name` is the prefix of run
    ids (``NAME-0000``, ...); `stage` the wandb job type and a tag. Each trial is one wandb
    run, logged in `wandb_mode` ("offline": `wandb sync DIRECTORY/wandb/offline-run-*`
    uploads them later; "disabled": no logging) to `wandb_project`, in the wandb group
    `group` (default: this sweep's unique id, `self.id`, kept in its state so that a resumed
    sweep logs into the same group), with `wandb_config` (constant entries such as seed,
    train_subset, implementation, device) added to each run's config. `adapt_params`, if
    given, turns a proposal's params into what the trial trains (the coarse stage of the
    staged search sets numberEpochs from batchSize with it); the record keeps what it
    returns. Offline logging costs roughly 50 ms per trial (init, a log per epoch, finish)
    plus 1.5-2 s once per process to start wandb's service.
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
        self.config = _json_normalize(config)
        self.seed = int(seed)
        self.name = name
        self.stage = stage
        self.wandb_mode = wandb_mode
        self.wandb_project = wandb_project
        self.wandb_config = _plain(dict(wandb_config or {}))
        self.adapt_params = adapt_params
        self.metric_name: str | None = (self.config.get("metric") or {}).get("name")
        self.goal = _goal(self.config)
        self._engine_config = _engine_config(self.config)
        self._state_path = self.directory / STATE_FILE
        self._agents = self.directory / AGENTS_DIR
        self.directory.mkdir(parents=True, exist_ok=True)
        self._agents.mkdir(exist_ok=True)
        with self._locked():
            state = self._read()
            if state is None:
                state = {
                    "version": STATE_VERSION,
                    "id": uuid.uuid4().hex,
                    "name": name,
                    "seed": self.seed,
                    "config": self.config,
                    "created_at": time.time(),
                    "runs": [],
                }
                self._write(state)
            else:
                self._check_same(state)
                if "id" not in state:  # a sweep started before sweeps had ids
                    state["id"] = uuid.uuid4().hex
                    self._write(state)
        self.id: str = state["id"]
        self.group = group or self.id

    # state on disk

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with open(self.directory / LOCK_FILE, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _read(self) -> dict | None:
        try:
            text = self._state_path.read_text()
        except FileNotFoundError:
            return None
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise SweepError(f"{self._state_path} is not valid JSON: {error}") from error

    def _write(self, state: dict) -> None:
        """Atomically: a temporary file in the same folder, then os.replace."""
        fd, tmp = tempfile.mkstemp(prefix=f".{STATE_FILE}.", suffix=".tmp", dir=self.directory)
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(state, f, indent=1, allow_nan=False)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self._state_path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    def _check_same(self, state: dict) -> None:
        if state.get("version") != STATE_VERSION:
            raise SweepError(f"{self._state_path} has state version {state.get('version')!r}")
        if state["config"] != self.config:
            keys = sorted(
                k
                for k in set(state["config"]) | set(self.config)
                if state["config"].get(k) != self.config.get(k)
            )
            raise SweepError(
                f"{self.directory} holds a sweep with a different configuration (differs in:"
                f" {', '.join(keys)}); resume it with the configuration in {self._state_path},"
                " or start the new configuration in another directory"
            )
        if state["seed"] != self.seed:
            raise SweepError(
                f"{self.directory} holds a sweep with seed {state['seed']}, not {self.seed};"
                " resume it with the same seed, or use another directory"
            )

    def runs(self) -> list[RunRecord]:
        """Every run of the sweep, from disk, in the order they were proposed (not the
        proposals skipped for want of time, which stay in the state file)."""
        return records(self._read() or {"config": self.config, "runs": []})

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

    # agents: a lock file each, held while the agent runs; a dead agent's lock is free

    @contextlib.contextmanager
    def _agent(self) -> Iterator[str]:
        agent = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        path = self._agents / f"{agent}.lock"
        handle = open(path, "w")
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield agent
        finally:
            path.unlink(missing_ok=True)
            handle.close()

    def _alive(self, agent: str | None, me: str) -> bool:
        if agent == me:
            return True
        if not agent:
            return False
        try:
            fd = os.open(self._agents / f"{agent}.lock", os.O_RDONLY)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)  # also releases the lock if we got it
        return False

    # the engine

    def _engine_runs(self, runs: list[dict], *, for_search: bool) -> list:
        """The runs as the sweeps package sees them: finite metrics only; stopped runs are
        finished ones (their metrics are real); for bayes, a failed run without any finite
        metric gets the worst metric seen, so the package never imputes 0.0 for it."""
        sweeps = _sweeps()
        states = {
            PROPOSED: sweeps.RunState.pending,
            SKIPPED: sweeps.RunState.pending,  # so that grid and bayes move on from it
            RUNNING: sweeps.RunState.running,
            "finished": sweeps.RunState.finished,
            "stopped": sweeps.RunState.finished,
            "failed": sweeps.RunState.failed,
        }
        views = [
            sweeps.SweepRun(
                name=run["run_id"],
                config=run["engine_params"],
                state=states[run["state"]],
                history=[_finite_entries(h) for h in run["history"]],
                summary_metrics=_finite_entries(run["summary"]),
            )
            for run in runs
        ]
        metric = self.metric_name
        if for_search and metric and self.config["method"] == "bayes":
            seen = [
                value
                for view in views
                for value in [*view.metric_history(metric), view.summary_metrics.get(metric)]
                if value is not None
            ]
            if seen:
                worst = min(seen) if self.goal == "maximize" else max(seen)
                for view in views:
                    lacks = metric not in view.summary_metrics and not view.metric_history(metric)
                    if view.state == sweeps.RunState.failed and lacks:
                        view.summary_metrics[metric] = worst
                        view.history.append({metric: worst})
        return views

    def _propose(self, runs: list[dict]) -> tuple[dict, dict] | None:
        """(engine params, search info) of the next run, None when the grid is exhausted."""
        sweeps = _sweeps()
        views = self._engine_runs(runs, for_search=True)
        with _global_rng(f"kata-sweep:{self.seed}:{len(runs)}"), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # sklearn's convergence chatter
            suggestion = sweeps.next_run(self._engine_config, views)
        if suggestion is None:
            return None
        return _jsonable(suggestion.config), _jsonable(suggestion.search_info or {})

    def _limit(self, count: int | None) -> int | None:
        caps = [c for c in (count, self.config.get("run_cap")) if c is not None]
        return min(caps) if caps else None

    def _target_reached(self, runs: list[dict]) -> bool:
        target = (self.config.get("metric") or {}).get("target")
        if target is None:
            return False
        for run in runs:
            value = run["summary"].get(self.metric_name)
            if run["state"] in ("finished", "stopped") and _finite(value):
                if (value >= target) if self.goal == "maximize" else (value <= target):
                    return True
        return False

    def _claim(self, agent: str, count: int | None) -> dict | None:
        """Under the lock: the next run for `agent` (an interrupted one first), or None."""
        with self._locked():
            state = self._read()
            runs = state["runs"]
            done = sum(run["state"] in TERMINAL for run in runs)
            limit = self._limit(count)
            if limit is not None and done >= limit or self._target_reached(runs):
                return None
            orphans, in_flight = [], 0
            for run in runs:
                if run["state"] == PROPOSED:
                    orphans.append(run)
                elif run["state"] == RUNNING:
                    if self._alive(run.get("agent"), agent):
                        in_flight += 1
                    else:
                        orphans.append(run)
            if limit is not None and done + in_flight >= limit:
                return None
            now = time.time()
            if orphans:  # rerun an interrupted trial with the same params
                run = orphans[0]
                run["attempts"] = run.get("attempts", 1) + 1
                run.update(history=[], summary={}, reason=None, should_stop=False)
            else:
                proposal = self._propose(runs)
                if proposal is None:
                    return None
                engine_params, search_info = proposal
                index = len(runs)
                params = _decode(self.config["parameters"], engine_params)
                if self.adapt_params is not None:
                    params = _plain(self.adapt_params(params))
                run = {
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
                    "proposed_at": now,
                }
                runs.append(run)
            # the trial's seconds start after the proposal (bayes fits a model; the first
            # call imports the sweeps package): they are the trial's own
            run.update(state=RUNNING, agent=agent, started_at=time.time(), ended_at=None)
            self._write(state)
            return copy.deepcopy(run)

    def _update(self, index: int, agent: str, change: Callable[[dict, dict], Any]) -> Any:
        with self._locked():
            state = self._read()
            run = state["runs"][index]
            if run["state"] != RUNNING or run.get("agent") != agent:
                raise SweepError(
                    f"run {run['run_id']} is {run['state']} by {run.get('agent')}, not running"
                    f" by this agent ({agent}): was the sweep state edited?"
                )
            result = change(state, run)
            self._write(state)
            return result

    def _record_epoch(self, index: int, agent: str, metrics: dict) -> bool:
        def change(state: dict, run: dict) -> bool:
            run["history"].append(_jsonable(metrics))
            if "early_terminate" not in self.config:
                return False
            # Called after every epoch: the package stops only runs that are still running.
            # A run it picks that another agent runs is flagged for that agent's next report.
            views = self._engine_runs(state["runs"], for_search=False)
            with _global_rng("kata-sweep:stop"):
                to_stop = {view.name for view in _sweeps().stop_runs(self._engine_config, views)}
            for other in state["runs"]:
                if other["run_id"] in to_stop and other["state"] == RUNNING:
                    other["should_stop"] = True
            return bool(run.get("should_stop"))

        return self._update(index, agent, change)

    def run(
        self,
        trial_fn: TrialFn,
        *,
        count: int | None = None,
        budget_seconds: float | None = None,
        expected_trial_seconds: float | None = None,
        budget_end: float | None = None,
        estimate: Callable[[dict, list[RunRecord]], float | None] | None = None,
        progress: bool = True,
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
        """
        if count is not None and count < 0:
            raise ValueError(f"count must be >= 0, not {count}")
        deadline = None if budget_seconds is None else time.monotonic() + budget_seconds
        if budget_end is None:
            budget_end = deadline
        records, skips = [], 0
        with self._agent() as agent:
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
                        if progress:
                            print(f"[{self.stage or self.name}] skipped: {why}", flush=True)
                        skips += 1
                        if skips >= MAX_SKIPS:
                            break
                        continue
                skips = 0
                record = self._run_trial(trial_fn, run, agent)
                records.append(record)
                if progress:
                    print(self._progress_line(record, count, budget_end), flush=True)
        return records

    def expected_trial_seconds(self, default: float | None = None) -> float | None:
        """The mean length of this sweep's ended trials; `default` before the first ends."""
        seconds = [r.seconds for r in self.runs() if r.state in TERMINAL and r.seconds is not None]
        return sum(seconds) / len(seconds) if seconds else default

    def _fits(self, deadline: float, default: float | None) -> bool:
        left = deadline - time.monotonic()
        return left > 0 and (self.expected_trial_seconds(default) or 0.0) <= left

    def _run_trial(self, trial_fn: TrialFn, run: dict, agent: str) -> RunRecord:
        index = run["index"]
        wandb_run = self._wandb_start(run)
        logging_ok = [wandb_run is not None]

        def report(metrics: dict) -> bool:
            if not isinstance(metrics, Mapping):
                raise TypeError(
                    "report() takes a dict of metrics, e.g. {'epoch': 1, 'val_accuracy': 0.8},"
                    f" not {type(metrics).__name__}"
                )
            metrics = _plain(dict(metrics))
            stop = self._record_epoch(index, agent, metrics)
            if logging_ok[0]:
                logging_ok[0] = wandb_log.log(wandb_run, metrics, run["run_id"])
            return stop

        extra: dict = {}
        try:
            outcome = trial_fn(copy.deepcopy(run["params"]), report)
        except Exception as error:  # a sweep never crashes because one trial did
            outcome = {"status": "failed", "reason": f"{type(error).__name__}: {error}"}
            extra["traceback"] = traceback.format_exc(limit=-8)
        except BaseException as interrupt:  # Ctrl-C, SystemExit: put the trial back, re-raise
            why = type(interrupt).__name__
            with contextlib.suppress(Exception):
                self._update(index, agent, lambda state, r: _requeue(r, why))
            wandb_log.finish_run(wandb_run, "failed", {})
            raise
        status, reason, summary = check_outcome(outcome, self.metric_name)
        if status == "failed" and reason and "sweep's metric" in reason:
            warnings.warn(f"{run['run_id']} failed: {reason}", SweepWarning, stacklevel=2)
        wandb_id = getattr(wandb_run, "id", None) if wandb_run is not None else None

        def finish(state: dict, r: dict) -> dict:
            r.update(
                state=status,
                reason=reason,
                summary=_jsonable(summary),
                ended_at=time.time(),
                wandb_run_id=wandb_id,
                **extra,
            )
            return copy.deepcopy(r)

        stored = self._update(index, agent, finish)
        wandb_log.finish_run(wandb_run, status, summary)
        return RunRecord.from_dict(stored, self.metric_name)

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

    # wandb: one run per trial (kata/wandb_log.py); a logging problem never stops the sweep

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
        )


def _skip(run: dict, why: str) -> None:
    run.update(state=SKIPPED, agent=None, reason=f"not started: {why}", ended_at=None)


def _requeue(run: dict, why: str) -> None:
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


# --- W&B's servers ---------------------------------------------------------------------------


def run_online(
    config: dict,
    trial_fn: TrialFn,
    *,
    project: str,
    count: int | None,
    entity: str | None = None,
) -> str:
    """The same sweep on W&B's servers: `wandb.sweep`, then `wandb.agent` runs `count` trials.

    Each trial is a `wandb.init()` whose config the server chose; `trial_fn(params, report)`
    runs with a `report` that logs to wandb and returns False (on W&B, early termination is
    the server's: the agent stops the trial's thread). Returns the sweep id. Needs an account
    and network; the W&B server runs sweeps 0.3.0 itself, traps included.
    """
    problems = _schema_problems(_json_normalize(config))
    if problems:
        raise SweepConfigError(problems)
    import wandb

    metric_name = (config.get("metric") or {}).get("name")
    sweep_id = wandb.sweep(_json_normalize(config), project=project, entity=entity)

    def agent_function() -> None:
        wandb_run = wandb.init(settings=wandb_log.settings())
        params = _plain(dict(wandb_run.config))

        def report(metrics: dict) -> bool:
            wandb_run.log(_plain(dict(metrics)))
            return False

        try:
            outcome = trial_fn(params, report)
        except Exception as error:
            outcome = {"status": "failed", "reason": f"{type(error).__name__}: {error}"}
        status, reason, summary = check_outcome(outcome, metric_name)
        if reason:
            print(f"[{wandb_run.id}] {status}: {reason}", file=sys.stderr, flush=True)
        wandb_run.summary.update(
            {**_finite_entries(summary), "sweep_status": status, "sweep_reason": reason}
        )
        wandb_run.finish(exit_code=1 if status == "failed" else 0)

    wandb.agent(sweep_id, function=agent_function, count=count, project=project, entity=entity)
    return sweep_id


# --- the kata's training as a trial function -------------------------------------------------


def training_trial_fn(
    train,
    validation,
    *,
    seed: int = 0,
    device: str = "cpu",
    progress: bool = False,
    package: str = "solutions",
    time_limit: float | None = None,
) -> TrialFn:
    """A trial function that trains `TrialConfig.from_dict(params)` with `train_trial`.

    Every epoch is reported (metric "val_accuracy"); a True from `report` stops the trial. A
    configuration that `TrialConfig` refuses is a failed run with its reason. `package` is
    whose code builds the pipeline: "solutions" (the reference) or "exercises". A trial
    still training after `time_limit` seconds is stopped (a safety net under a budget,
    where an estimate can be wrong).
    """
    from .config import ConfigError, TrialConfig
    from .train import train_trial

    def trial(params: dict, report: Report) -> dict:
        try:
            config = TrialConfig.from_dict(params, seed=seed, device=device)
        except ConfigError as error:
            return {"status": "failed", "reason": str(error), "summary": {}}

        planned = math.ceil(config.numberEpochs)  # the epochs train_trial runs, the last partial

        def on_epoch(epoch) -> bool:
            stop = bool(
                report(
                    {
                        "epoch": epoch.epoch,
                        "train_loss": epoch.train_loss,
                        "train_accuracy": epoch.train_accuracy,
                        "val_loss": epoch.val_loss,
                        METRIC: epoch.val_accuracy,
                        "epoch_seconds": epoch.seconds,
                        "images_per_second": epoch.images_per_second,
                        "train_images_per_second": epoch.train_images_per_second,
                    }
                )
            )
            # A stop asked after the last epoch stops nothing: the trial has finished.
            return stop and epoch.epoch < planned

        result = train_trial(
            config,
            train,
            validation,
            on_epoch=on_epoch,
            progress=progress,
            package=package,
            time_limit=time_limit,
        )
        summary: dict = {"epochs": len(result.history), "seconds": result.seconds}
        if result.history:
            last = result.history[-1]
            summary.update(
                {
                    METRIC: last.val_accuracy,
                    "val_loss": last.val_loss,
                    "train_loss": last.train_loss,
                    "train_accuracy": last.train_accuracy,
                }
            )
        return {"status": result.status, "reason": result.reason, "summary": summary}

    return trial


def run_agents(sweep: LocalSweep, trial_fn: TrialFn, *, agents: int = 1, **run_options) -> None:
    """`sweep.run(trial_fn, **run_options)` in `agents` processes sharing the sweep.

    Each agent is a forked process with one torch thread: on a 2-core machine two such
    agents train small networks 1.3 to 1.7 times faster than one agent with two threads
    (figures in the changelog). With one agent, it runs in this process.
    """
    if agents <= 1:
        sweep.run(trial_fn, **run_options)
        return
    import multiprocessing

    context = multiprocessing.get_context("fork")
    processes = [
        context.Process(target=_agent_main, args=(sweep, trial_fn, run_options), daemon=False)
        for _ in range(agents)
    ]
    for process in processes:
        process.start()
    try:
        for process in processes:
            process.join()
    except KeyboardInterrupt:  # the agents got the signal too: let them put their trials back
        for process in processes:
            process.join()
        raise
    failed = [p.exitcode for p in processes if p.exitcode != 0]
    if failed:
        raise SweepError(f"{len(failed)} of {agents} agents exited with codes {failed}")


def _agent_main(sweep: LocalSweep, trial_fn: TrialFn, run_options: dict) -> None:
    import torch

    torch.set_num_threads(1)
    try:
        sweep.run(trial_fn, **run_options)
    except KeyboardInterrupt:  # the trial is back in the queue; the parent says so, once
        sys.exit(130)


def default_agents(device: str = "cpu") -> int:
    """Two single-threaded agents on a CPU with at least two cores, else one."""
    return 2 if device == "cpu" and (os.cpu_count() or 1) >= 2 else 1
