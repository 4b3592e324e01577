"""wandb logging of local sweep trials: one wandb run per attempt of a trial, never a crash.

:class:`kata.sweep.LocalSweep` starts a run per attempt with :func:`start_run` (its id chosen
and recorded in the sweep's state first, so every run on disk is accounted for), logs each
epoch's metrics with :func:`log` and ends it with :func:`finish_run` *before* the state says
the trial ended, so an ended trial's run is complete. An interrupted attempt (Ctrl-C,
SIGTERM) ends with :func:`finish_interrupted`: marked preempting, as W&B's docs ask of a run
that will be resumed, with status "interrupted" and exit code 128 + the signal, never as a
failure of its configuration. :func:`read_offline_run` reads an offline run's file back.
A logging problem turns logging off for that trial, with a warning; it never stops the sweep.
Every wandb call keeps the global `random` and `numpy.random` states as they were, so
logging never changes what a seeded sweep proposes or what a trial draws.

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
import struct
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
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
    run_id: str | None = None,
):
    """A wandb run for one attempt of a trial (with the id `run_id`), or None (with a
    warning) if wandb cannot start one."""
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
                id=run_id,
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


def finish_run(wandb_run, status: str, summary: Mapping, reason: str | None = None) -> None:
    """The trial's finite summary metrics, its status and reason, then the run's end (exit
    code 1 for a failed trial)."""
    if wandb_run is None:
        return
    try:
        with kept_global_rng():
            wandb_run.summary.update(
                {**finite_entries(summary), "sweep_status": status, "sweep_reason": reason}
            )
            wandb_run.finish(exit_code=1 if status == "failed" else 0)
    except Exception as error:
        warnings.warn(f"wandb could not finish a run: {error}", SweepWarning, stacklevel=3)


INTERRUPTED_EXIT = {"KeyboardInterrupt": 130, "SIGINT": 130, "SIGTERM": 143}


def finish_interrupted(wandb_run, why: str) -> None:
    """End the run of an interrupted attempt: preempting, status "interrupted", exit code
    128 + the signal (W&B's convention for a run to be resumed)."""
    if wandb_run is None:
        return
    try:
        with kept_global_rng():
            wandb_run.mark_preempting()
            wandb_run.summary.update({"sweep_status": "interrupted", "sweep_reason": why})
            wandb_run.finish(exit_code=INTERRUPTED_EXIT.get(why, 130))
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


# --- offline runs on disk ------------------------------------------------------------------

OFFLINE_GLOB = "offline-run-*"


def offline_runs(folder: Path) -> dict[str, Path]:
    """The offline runs wandb wrote under `folder/wandb`, by run id."""
    return {
        path.name.rsplit("-", 1)[1]: path for path in sorted((folder / "wandb").glob(OFFLINE_GLOB))
    }


@dataclass(frozen=True)
class OfflineRun:
    """What an offline run's `.wandb` file holds: its name, each history step's metrics,
    the last summary values, and the exit code (None: the run never ended)."""

    run_id: str
    name: str
    history: list[dict]
    summary: dict
    exit_code: int | None
    preempting: bool

    @property
    def complete(self) -> bool:
        return self.exit_code is not None


def read_offline_run(path: Path) -> OfflineRun:
    """Read `path/run-ID.wandb` (wandb's record log: LevelDB's log format of 32 KiB blocks
    holding protobuf `Record`s) as far as it was written."""
    import json

    from wandb.proto import wandb_internal_pb2

    files = sorted(path.glob("run-*.wandb"))  # none if killed before wandb wrote one
    name, history, summary, exit_code, preempting = "", [], {}, None, False
    for raw in _leveldb_records(files[0].read_bytes() if files else b""):
        record = wandb_internal_pb2.Record()
        record.ParseFromString(raw)
        kind = record.WhichOneof("record_type")
        if kind == "run":
            name = record.run.display_name
        elif kind == "history":
            step = {_key(i): json.loads(i.value_json) for i in record.history.item}
            history.append({k: v for k, v in step.items() if not k.startswith("_")})
        elif kind == "summary":
            summary.update({_key(i): json.loads(i.value_json) for i in record.summary.update})
        elif kind == "exit":
            exit_code = record.exit.exit_code
        elif kind == "preempting":
            preempting = True
    return OfflineRun(path.name.rsplit("-", 1)[1], name, history, summary, exit_code, preempting)


def _key(item) -> str:
    return item.key or "/".join(item.nested_key)


def _leveldb_records(data: bytes, block: int = 32768) -> Iterator[bytes]:
    """The records of a LevelDB-format log after wandb's 7-byte header; a torn tail (a
    killed writer) ends the iteration."""
    if data[:4] != b":W&B":
        return
    position, pieces = 7, b""
    while position + 7 <= len(data):
        left = block - position % block
        if left < 7:  # a block's tail too short for a header is padding
            position += left
            continue
        _, length, kind = struct.unpack("<IHB", data[position : position + 7])
        if kind == 0 and length == 0:  # zero padding up to the next block
            position += left
            continue
        chunk = data[position + 7 : position + 7 + length]
        if len(chunk) < length:
            return
        position += 7 + length
        if kind == 1:  # FULL
            yield chunk
        elif kind == 2:  # FIRST
            pieces = chunk
        elif kind == 3:  # MIDDLE
            pieces += chunk
        elif kind == 4:  # LAST
            yield pieces + chunk
