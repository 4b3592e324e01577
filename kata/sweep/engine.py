"""W&B's own sweep engine (the `sweeps` package) and the workarounds for its traps.

Proposals come from ``sweeps.next_run``, early termination from ``sweeps.stop_runs``. Traps
of sweeps 0.3.0 worked around here (each has a test in tests/harness/test_sweep.py):

1. bayes encodes a run's categorical value with ``if not value: continue`` (params.py,
   ``normalize_runs_as_array``), so False, 0, "" or None is read as the *first* value: with
   ``values: [True, False]`` the engine cannot tell False from True (and ``value_to_idx`` uses
   ``==``, so 1 and True collide too). The engine only ever sees categorical values as
   non-empty string tokens ("#1:false"), decoded back to the configured values.
2. a missing or NaN metric is imputed silently (a misspelt metric name becomes 0.0, the *best*
   value when minimising). NaN never reaches the engine (only finite entries are shown), and
   for bayes a failed run without any finite metric is shown with the worst metric seen,
   never 0.0. (`records.check_outcome` fails a trial whose summary lacks the metric.)
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
import hashlib
import json
import random
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..wandb_log import finite_entries, kept_global_rng
from .records import PROPOSED, RUNNING, SKIPPED
from .values import jsonable, plain


def sweeps_package():
    """The `sweeps` package, imported on first use (it pulls in scipy; sklearn for bayes)."""
    with warnings.catch_warnings():
        # pydantic 2 warns about sweeps' pydantic-1 style `class Config` on import.
        warnings.simplefilter("ignore", UserWarning)
        import sweeps
        import sweeps.params  # noqa: F401
    return sweeps


@contextlib.contextmanager
def seeded_global_rng(seed_text: str | None = None) -> Iterator[None]:
    """Save `random` and `numpy.random`'s global states, optionally seed them, restore after."""
    with kept_global_rng():
        if seed_text is not None:
            random.seed(seed_text)  # a str seed hashes with sha512: the same in every process
            digest = hashlib.sha256(seed_text.encode()).digest()
            np.random.seed(int.from_bytes(digest[:4], "little"))
        yield


# --- the engine's view of the configuration (trap 1, trap 5) --------------------------------


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
    value = plain(value)
    if isinstance(spec, dict):
        if isinstance(spec.get("parameters"), dict) and isinstance(value, dict):
            return {k: _decode_value(spec["parameters"].get(k), v) for k, v in value.items()}
        if isinstance(spec.get("values"), list) and isinstance(value, str) and value[:1] == "#":
            return copy.deepcopy(spec["values"][int(value[1 : value.index(":")])])
    return value


def decode(parameters: dict, engine_params: dict) -> dict:
    """A proposal's run config ({name: {"value": v}}) to the trial's plain params."""
    return {
        name: _decode_value(parameters.get(name), entry.get("value"))
        for name, entry in engine_params.items()
    }


def engine_config(config: dict) -> dict:
    """The configuration as the engine gets it: categorical values as tokens, hyperband's
    `strict` explicit."""
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


def goal(config: dict) -> str:
    # The sweeps schema's default goal is minimize, and the engine fills it so: agree with it.
    return (config.get("metric") or {}).get("goal", "minimize")


# --- the engine's view of the runs (trap 2) -------------------------------------------------


def engine_runs(config: dict, runs: list[dict], *, for_search: bool) -> list:
    """The runs as the sweeps package sees them: finite metrics only; stopped runs are
    finished ones (their metrics are real); for bayes, a failed run without any finite
    metric gets the worst metric seen, so the package never imputes 0.0 for it."""
    sweeps = sweeps_package()
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
            history=[finite_entries(h) for h in run["history"]],
            summary_metrics=finite_entries(run["summary"]),
        )
        for run in runs
    ]
    metric = (config.get("metric") or {}).get("name")
    if for_search and metric and config["method"] == "bayes":
        seen = [
            value
            for view in views
            for value in [*view.metric_history(metric), view.summary_metrics.get(metric)]
            if value is not None
        ]
        if seen:
            worst = min(seen) if goal(config) == "maximize" else max(seen)
            for view in views:
                lacks = metric not in view.summary_metrics and not view.metric_history(metric)
                if view.state == sweeps.RunState.failed and lacks:
                    view.summary_metrics[metric] = worst
                    view.history.append({metric: worst})
    return views


def propose(config: dict, engine: dict, runs: list[dict], seed: int) -> tuple[dict, dict] | None:
    """(engine params, search info) of the next run, None when the grid is exhausted."""
    sweeps = sweeps_package()
    views = engine_runs(config, runs, for_search=True)
    with seeded_global_rng(f"kata-sweep:{seed}:{len(runs)}"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn's convergence chatter
        suggestion = sweeps.next_run(engine, views)
    if suggestion is None:
        return None
    return jsonable(suggestion.config), jsonable(suggestion.search_info or {})


def runs_to_stop(config: dict, engine: dict, runs: list[dict]) -> set[str]:
    """The run ids hyperband would stop now (only runs still running are picked)."""
    views = engine_runs(config, runs, for_search=False)
    with seeded_global_rng("kata-sweep:stop"):
        return {view.name for view in sweeps_package().stop_runs(engine, views)}
