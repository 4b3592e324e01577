"""The files a job leaves behind, written atomically: a kill never leaves half a file.

`trials.csv`, `curves.json`, `metrics.json`, `best_config.yaml`, `test_samples.npz` and the
job's own state `job.json`; `kata/report_files.py` documents the formats the report reads from them.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from .report_files import HYPERPARAMETERS, TRIAL_COLUMNS
from .sweep import RunRecord


@contextlib.contextmanager
def atomic_file(path: Path, mode: str = "w"):
    """Write to a temporary file beside `path`, then rename it over `path`."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp's 0600 would hide the results from others
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_json(path: Path, data: Any) -> None:
    with atomic_file(path) as f:
        json.dump(data, f, indent=1, allow_nan=False)
        f.write("\n")


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


def write_best_config(path: Path, config: dict) -> None:
    """The 11 hyperparameters as YAML, in the assignment's order: `kata train --config` input."""
    with atomic_file(path) as f:
        f.write("# the configuration `kata run` chose; train it with: kata train --config FILE\n")
        yaml.safe_dump({k: config[k] for k in HYPERPARAMETERS}, f, sort_keys=False)


def trial_rows(stages: Iterable[tuple[str, list[RunRecord]]]) -> list[dict]:
    """One row per trial of every stage, in the columns of `trials.csv`."""
    rows = []
    for stage, runs in stages:
        for run in runs:
            row = {"stage": stage, "trial": run.run_id}
            row.update({k: run.params.get(k, "") for k in HYPERPARAMETERS})
            seconds = run.seconds
            row.update(
                status=run.state,
                val_accuracy="" if run.metric is None else run.metric,
                epochs=len(run.history),
                seconds="" if seconds is None else round(seconds, 3),
                reason=run.reason or "",
            )
            rows.append(row)
    return rows


def write_trials_csv(path: Path, rows: list[dict]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=TRIAL_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    with atomic_file(path) as f:
        f.write(buffer.getvalue())


def curve(history: Iterable[dict]) -> list[dict]:
    """Per-epoch metrics in the form `curves.json` holds."""
    keys = ("epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy")
    return [{k: entry[k] for k in keys if k in entry} for entry in history]


def write_test_samples(path: Path, images: np.ndarray) -> None:
    with atomic_file(path, "wb") as f:
        np.savez_compressed(f, images=images)
