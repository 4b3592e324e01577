"""wandb logging of local sweep trials: one wandb run per trial, never a crash.

:class:`kata.sweep.LocalSweep` starts a run per trial with :func:`start_run`, logs each
epoch's metrics with :func:`log` and ends it with :func:`finish_run`. A logging problem turns
logging off for that trial, with a warning; it never stops the sweep. Every wandb call keeps
the global `random` and `numpy.random` states as they were, so logging never changes what a
seeded sweep proposes or what a trial draws.

What each run carries, so that runs can be told apart and grouped in W&B's interface:

- ``group``: the sweep's or the search's unique id (kept in its state on disk, so a resumed
  sweep logs into the same group);
- ``job_type``: the stage ("coarse", "narrow", "fine"; "sweep" for a plain sweep);
- ``tags``: the search method and the stage;
- ``name``: the trial's run id, unique across the stages of a search;
- ``config``: the trial's hyperparameters plus constant entries such as ``seed``,
  ``train_subset``, ``implementation`` (solutions or exercises) and ``device``.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import random
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np


class SweepWarning(UserWarning):
    """Something a person should see: a trial without the metric, wandb logging off."""


@contextlib.contextmanager
def kept_global_rng() -> Iterator[None]:
    """`random` and `numpy.random`'s global states, restored after the block."""
    python_state, numpy_state = random.getstate(), np.random.get_state()
    try:
        yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)


def settings():
    """wandb settings for many short runs: no console capture, system stats, code or git."""
    import wandb

    return wandb.Settings(
        console="off",
        silent=True,
        x_disable_stats=True,
        x_disable_meta=True,
        x_disable_machine_info=True,
        x_save_requirements=False,
        disable_code=True,
        save_code=False,
        disable_git=True,
        disable_job_creation=True,
    )


def start_run(
    *,
    project: str,
    directory: str,
    mode: str,
    group: str,
    job_type: str,
    name: str,
    tags: list[str],
    config: dict,
):
    """A wandb run for one trial, or None (with a warning) if wandb cannot start one."""
    try:
        import wandb

        with kept_global_rng():
            return wandb.init(
                project=project,
                dir=directory,
                mode=mode,
                group=group,
                job_type=job_type,
                name=name,
                tags=tags,
                config=config,
                reinit="finish_previous",
                settings=settings(),
            )
    except Exception as error:
        warnings.warn(f"wandb logging off for {name}: {error}", SweepWarning, stacklevel=3)
        return None


def log(wandb_run, metrics: dict, name: str) -> bool:
    """Log one epoch's metrics; False (with a warning) if that failed."""
    try:
        with kept_global_rng():
            wandb_run.log(metrics)
        return True
    except Exception as error:
        warnings.warn(f"wandb logging off for {name}: {error}", SweepWarning, stacklevel=3)
        return False


def finish_run(wandb_run, status: str, summary: Mapping) -> None:
    """The trial's finite summary metrics and its status, then the run's end."""
    if wandb_run is None:
        return
    try:
        with kept_global_rng():
            wandb_run.summary.update({**finite_entries(summary), "sweep_status": status})
            wandb_run.finish(exit_code=1 if status == "failed" else 0)
    except Exception as error:
        warnings.warn(f"wandb could not finish a run: {error}", SweepWarning, stacklevel=3)


def finite_entries(metrics: Mapping) -> dict:
    """Only the finite numbers of a metrics dict (NaN never reaches wandb or the engine)."""
    return {k: v for k, v in metrics.items() if _finite(v)}


def _finite(value: Any) -> bool:
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )
