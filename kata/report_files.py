"""The files a job folder holds for its report: their format, read and checked.

A job (`kata run`) writes four files; the report (`kata.report.write_report`) reads nothing
else, so a report can always be rebuilt from the folder. Any file missing or not as below
raises `ReportError` with the file's name, the line or key, and what is wrong.

`trials.csv`, one row per trial of the search, a header row with at least these columns
(others are ignored)::

    stage        text, non-empty: coarse | narrow | fine (others allowed)
    trial        text, non-empty, unique: the run id
    dataNormalisation, horizontalFlip, resizedCrop, rotation
                 True | False (any case; 1 | 0 also accepted)
    numberHiddenLayers, hiddenLayerSize, batchSize
                 integer > 0
    activationFunction
                 text, non-empty (sigmoid | tanh | ReLU)
    dropoutProbability
                 float in [0, 1)
    numberEpochs float > 0 (fixed per stage: 0.25, 5, 10)
    learningRate float > 0
    status       finished | stopped | failed | running | proposed
    val_accuracy float in [0, 1], or empty (a failed, running or proposed trial)
    epochs       float >= 0 (epochs completed), or empty
    seconds      float >= 0 (wall clock), or empty
    reason       text, may be empty (why a trial failed or stopped)

A header with no rows is a search with no trials (the report says so).

`curves.json`, learning curves of the best runs per stage and of the final training::

    {"<trial id, or 'final'>": {"stage": str, "label": str,
                                "history": [{"epoch": number, "val_accuracy": number,
                                             "train_accuracy": number | null,
                                             "train_loss": number | null,
                                             "val_loss": number | null}, ...]}}

`epoch` and `val_accuracy` are required in every history entry, the others optional.

`metrics.json`, the final model evaluated once on the test set::

    test_accuracy, val_accuracy     number in [0, 1] (the retrained model's)
    search_val_accuracy             number in [0, 1] or null (the chosen trial's, in the search)
    config                          {the 11 hyperparameters: value}
    chosen_trial, chosen_stage      str
    protocol                        str (how the final model was trained and tested)
    seeds                           {str: number or str}
    phases                          {"search": s, "final_training": s, "test": s, ...} seconds
    class_names                     [10 str]
    confusion_matrix                10 x 10 integers >= 0, rows true, columns predicted;
                                    its accuracy (trace / total) must equal test_accuracy
    samples                         {"index": [n int], "true": [n int], "predicted": [n int]}
    device, implementation, created str

`test_samples.npz`: array `images`, uint8, shape (n, 28, 28): the test images of
`samples`, in the same order.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .config import ASSIGNMENT_VALUES

BOOLEAN_PARAMS = ("dataNormalisation", "horizontalFlip", "resizedCrop", "rotation")
INTEGER_PARAMS = ("numberHiddenLayers", "hiddenLayerSize", "batchSize")
CATEGORICAL_PARAMS = ("activationFunction",)
FLOAT_PARAMS = ("dropoutProbability", "numberEpochs", "learningRate")
HYPERPARAMETERS = tuple(ASSIGNMENT_VALUES)  # the assignment's 11, in its order
STATUSES = ("finished", "stopped", "failed", "running", "proposed")
MEASURED = ("finished", "stopped")  # statuses whose val_accuracy is a result
TRIAL_COLUMNS = ("stage", "trial", *HYPERPARAMETERS, "status", "val_accuracy", "epochs")
TRIAL_COLUMNS += ("seconds", "reason")
CURVE_METRICS = ("train_loss", "train_accuracy", "val_loss", "val_accuracy")
METRICS_KEYS = (
    "test_accuracy",
    "val_accuracy",
    "search_val_accuracy",
    "config",
    "chosen_trial",
    "chosen_stage",
    "protocol",
    "seeds",
    "phases",
    "class_names",
    "confusion_matrix",
    "samples",
    "device",
    "implementation",
    "created",
)


class ReportError(ValueError):
    """A job folder's file is missing or not in the format the report reads."""


@dataclass(frozen=True)
class Trial:
    stage: str
    trial: str
    params: dict[str, Any]
    status: str
    val_accuracy: float | None
    epochs: float | None
    seconds: float | None
    reason: str

    @property
    def measured(self) -> bool:
        """Finished or stopped early, with a validation accuracy."""
        return self.status in MEASURED and self.val_accuracy is not None


@dataclass(frozen=True)
class Curve:
    key: str
    stage: str
    label: str
    history: list[dict[str, float | None]]


@dataclass(frozen=True)
class JobFiles:
    trials: list[Trial]
    curves: list[Curve]
    metrics: dict[str, Any]
    images: np.ndarray
    stages: list[str] = field(default_factory=list)  # in order of first appearance


def read_job(job_dir: str | Path) -> JobFiles:
    """Read and check the four files of a job folder."""
    job_dir = Path(job_dir)
    if not job_dir.is_dir():
        raise ReportError(f"{job_dir}: not a folder (expected a job folder)")
    trials = read_trials(job_dir / "trials.csv")
    metrics = read_metrics(job_dir / "metrics.json")
    images = read_images(job_dir / "test_samples.npz", len(metrics["samples"]["index"]))
    stages = list(dict.fromkeys(t.stage for t in trials))
    return JobFiles(trials, read_curves(job_dir / "curves.json"), metrics, images, stages)


def _fail(path: Path, where: str, problem: str) -> ReportError:
    return ReportError(f"{path.name}: {where}: {problem}" if where else f"{path.name}: {problem}")


def _exists(path: Path) -> None:
    if not path.is_file():
        raise ReportError(f"{path.name}: missing (looked for {path})")


def _float(text: str, lo: float, hi: float, *, hi_open: bool = False) -> float:
    value = float(text)
    if not math.isfinite(value) or value < lo or value > hi or (hi_open and value == hi):
        raise ValueError(f"{text!r} is outside [{lo}, {hi}{')' if hi_open else ']'}")
    return value


def _bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise ValueError(f"{text!r} is not True or False")


def _positive_int(text: str) -> int:
    value = float(text)
    if value != int(value) or value <= 0:
        raise ValueError(f"{text!r} is not a positive integer")
    return int(value)


def _parse_param(name: str, text: str) -> Any:
    if name in BOOLEAN_PARAMS:
        return _bool(text)
    if name in INTEGER_PARAMS:
        return _positive_int(text)
    if name in CATEGORICAL_PARAMS:
        if not text.strip():
            raise ValueError("empty")
        return text.strip()
    if name == "dropoutProbability":
        return _float(text, 0.0, 1.0, hi_open=True)
    return _float(text, math.ulp(0.0), math.inf)  # numberEpochs, learningRate: > 0


def _optional(text: str, lo: float, hi: float) -> float | None:
    return None if not text.strip() else _float(text, lo, hi)


def read_trials(path: Path) -> list[Trial]:
    """The search's trials, in file order."""
    _exists(path)
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in TRIAL_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise _fail(path, "header", f"missing column(s) {missing}")
        trials, seen = [], set()
        for line, row in enumerate(reader, start=2):
            trials.append(_trial(path, line, row))
            if trials[-1].trial in seen:
                raise _fail(path, f"line {line}", f"trial id {trials[-1].trial!r} repeats")
            seen.add(trials[-1].trial)
    return trials


def _trial(path: Path, line: int, row: dict[str, str | None]) -> Trial:
    values: dict[str, Any] = {}
    for column in TRIAL_COLUMNS:
        text = row.get(column)
        if text is None:
            raise _fail(path, f"line {line}", f"too few fields (no {column!r})")
        try:
            if column in HYPERPARAMETERS:
                values[column] = _parse_param(column, text)
            elif column in ("stage", "trial") and not text.strip():
                raise ValueError("empty")
            elif column == "status" and text.strip() not in STATUSES:
                raise ValueError(f"{text!r} is not one of {list(STATUSES)}")
            elif column == "val_accuracy":
                values[column] = _optional(text, 0.0, 1.0)
            elif column in ("epochs", "seconds"):
                values[column] = _optional(text, 0.0, math.inf)
        except ValueError as error:
            raise _fail(path, f"line {line}, column {column!r}", str(error)) from None
    return Trial(
        stage=row["stage"].strip(),
        trial=row["trial"].strip(),
        params={name: values[name] for name in HYPERPARAMETERS},
        status=row["status"].strip(),
        val_accuracy=values["val_accuracy"],
        epochs=values["epochs"],
        seconds=values["seconds"],
        reason=(row["reason"] or "").strip(),
    )


def _load_json(path: Path) -> Any:
    _exists(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise _fail(path, "", f"not valid JSON ({error})") from None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def read_curves(path: Path) -> list[Curve]:
    """Learning curves, in file order."""
    data = _load_json(path)
    if not isinstance(data, dict):
        raise _fail(path, "", "expected an object {run id: curve}")
    curves = []
    for key, entry in data.items():
        where = f"[{key!r}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("history"), list):
            raise _fail(path, where, "expected {'stage', 'label', 'history': [...]}")
        for name in ("stage", "label"):
            if not isinstance(entry.get(name), str):
                raise _fail(path, where, f"{name!r} must be a string")
        history = []
        for i, point in enumerate(entry["history"]):
            at = f"{where}['history'][{i}]"
            if not isinstance(point, dict):
                raise _fail(path, at, "expected an object")
            for name in ("epoch", "val_accuracy"):
                if not _is_number(point.get(name)):
                    raise _fail(path, at, f"{name!r} must be a number, got {point.get(name)!r}")
            for name in CURVE_METRICS:
                if point.get(name) is not None and not _is_number(point[name]):
                    raise _fail(path, at, f"{name!r} must be a number or null")
            history.append({name: point.get(name) for name in ("epoch", *CURVE_METRICS)})
        curves.append(Curve(key, entry["stage"], entry["label"], history))
    return curves


def _check_accuracy(path: Path, metrics: dict, key: str, optional: bool = False) -> None:
    value = metrics[key]
    if optional and value is None:
        return
    if not _is_number(value) or not 0 <= value <= 1:
        raise _fail(path, repr(key), f"must be a number in [0, 1], got {value!r}")


def _int_list(value: Any, length: int | None = None, hi: int | None = None) -> bool:
    return (
        isinstance(value, list)
        and (length is None or len(value) == length)
        and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value)
        and (hi is None or all(v < hi for v in value))
    )


def read_metrics(path: Path) -> dict[str, Any]:
    """The final model's metrics, checked."""
    metrics = _load_json(path)
    if not isinstance(metrics, dict):
        raise _fail(path, "", "expected an object")
    missing = [k for k in METRICS_KEYS if k not in metrics]
    if missing:
        raise _fail(path, "", f"missing key(s) {missing}")
    for key in ("test_accuracy", "val_accuracy"):
        _check_accuracy(path, metrics, key)
    _check_accuracy(path, metrics, "search_val_accuracy", optional=True)
    config = metrics["config"]
    if not isinstance(config, dict) or set(HYPERPARAMETERS) - set(config):
        have = sorted(config) if isinstance(config, dict) else config
        raise _fail(path, "'config'", f"needs the 11 hyperparameters, got {have!r}")
    for key in ("chosen_trial", "chosen_stage", "protocol", "device", "implementation"):
        if not isinstance(metrics[key], str):
            raise _fail(path, repr(key), f"must be a string, got {metrics[key]!r}")
    if not isinstance(metrics["created"], str):
        raise _fail(path, "'created'", "must be a string (ISO time)")
    if not isinstance(metrics["seeds"], dict):
        raise _fail(path, "'seeds'", "must be an object")
    phases = metrics["phases"]
    if not isinstance(phases, dict) or not all(_is_number(v) for v in phases.values()):
        raise _fail(path, "'phases'", f"must map phase names to seconds, got {phases!r}")
    names = metrics["class_names"]
    if (
        not isinstance(names, list)
        or len(names) != 10
        or not all(isinstance(n, str) for n in names)
    ):
        raise _fail(path, "'class_names'", "must be a list of 10 strings")
    _check_confusion(path, metrics)
    _check_samples(path, metrics["samples"])
    return metrics


def _check_confusion(path: Path, metrics: dict) -> None:
    matrix = metrics["confusion_matrix"]
    if (
        not isinstance(matrix, list)
        or len(matrix) != 10
        or not all(_int_list(r, 10) for r in matrix)
    ):
        raise _fail(path, "'confusion_matrix'", "must be 10 rows of 10 integers >= 0")
    total = sum(map(sum, matrix))
    if total == 0:
        raise _fail(path, "'confusion_matrix'", "is all zeros")
    accuracy = sum(matrix[i][i] for i in range(10)) / total
    if abs(accuracy - metrics["test_accuracy"]) > 1e-3:
        raise _fail(
            path,
            "'confusion_matrix'",
            f"its accuracy {accuracy:.4f} differs from test_accuracy {metrics['test_accuracy']}",
        )


def _check_samples(path: Path, samples: Any) -> None:
    if not isinstance(samples, dict) or not _int_list(samples.get("index")):
        raise _fail(path, "'samples'", "needs 'index', 'true', 'predicted': lists of integers")
    n = len(samples["index"])
    for key in ("true", "predicted"):
        if not _int_list(samples.get(key), n, hi=10):
            raise _fail(path, f"'samples'[{key!r}]", f"must be {n} class numbers 0..9")


def read_images(path: Path, count: int) -> np.ndarray:
    """The sample images, (count, 28, 28) uint8."""
    _exists(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            if "images" not in archive.files:
                raise _fail(path, "", f"no array 'images' (has {archive.files})")
            images = archive["images"]
    except (OSError, ValueError) as error:
        if isinstance(error, ReportError):
            raise
        raise _fail(path, "", f"not a readable .npz file ({error})") from None
    if images.dtype != np.uint8 or images.shape != (count, 28, 28):
        raise _fail(
            path,
            "'images'",
            f"expected uint8 of shape ({count}, 28, 28), got {images.dtype} {images.shape}",
        )
    return images
