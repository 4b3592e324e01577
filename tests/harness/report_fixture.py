"""A realistic small job folder for the report (and the job's own tests) to read.

`write_job(folder)` writes trials.csv, curves.json, metrics.json and test_samples.npz as
`kata run` does (format: `kata.report_files`), from a synthetic search with a known
structure: validation accuracy peaks at a learning rate of 1e-3, ReLU beats tanh beats
sigmoid, more epochs help, learning rates above 0.03 diverge (failed, "loss is NaN", no
accuracy), sigmoid below 5e-4 sits at chance (failed, with its accuracy, 0.1, as the job
writes it), and a few trials are stopped early. Everything is seeded: the same call
writes the same files.
`write_trials(path, rows)` writes a crafted table; `trial_row(...)` makes one row.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from kata import data
from kata.report_files import HYPERPARAMETERS, TRIAL_COLUMNS

CLASS_NAMES = list(data.CLASS_NAMES)
STAGES = (("coarse", 0.25, 15), ("narrow", 5.0, 9), ("fine", 10.0, 6))
BASE_CONFIG = {
    "dataNormalisation": True,
    "horizontalFlip": False,
    "resizedCrop": False,
    "rotation": False,
    "numberHiddenLayers": 2,
    "hiddenLayerSize": 256,
    "activationFunction": "ReLU",
    "dropoutProbability": 0.2,
    "numberEpochs": 10.0,
    "learningRate": 1e-3,
    "batchSize": 64,
}
PROTOCOL = (
    "retrained from scratch on the 55,000 training images; validated on 5,000; "
    "test set of 10,000 used once"
)


def trial_row(
    stage: str = "fine",
    trial: str = "t0",
    *,
    status: str = "finished",
    val_accuracy: float | None = 0.85,
    reason: str = "",
    epochs: float | None = None,
    seconds: float | None = 1.0,
    **params: Any,
) -> dict[str, Any]:
    """One trials.csv row: BASE_CONFIG overridden by `params`."""
    unknown = set(params) - set(HYPERPARAMETERS)
    if unknown:
        raise TypeError(f"unknown hyperparameter(s) {sorted(unknown)}")
    config = {**BASE_CONFIG, **params}
    return {
        "stage": stage,
        "trial": trial,
        **config,
        "status": status,
        "val_accuracy": val_accuracy,
        "epochs": config["numberEpochs"] if epochs is None else epochs,
        "seconds": seconds,
        "reason": reason,
    }


def write_trials(path: str | Path, rows: list[dict[str, Any]]) -> Path:
    """Write rows (dicts keyed by TRIAL_COLUMNS; None as empty) as trials.csv."""
    path = Path(path)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=TRIAL_COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if row[k] is None else row[k] for k in TRIAL_COLUMNS})
    return path


def synthetic_accuracy(params: dict[str, Any]) -> float:
    """The known structure: peak at lr 1e-3, ReLU > tanh > sigmoid, more epochs help."""
    score = 0.80 - 0.06 * abs(math.log10(params["learningRate"]) + 3)
    score += {"ReLU": 0.04, "tanh": 0.0, "sigmoid": -0.08}[params["activationFunction"]]
    score += 0.07 * math.log10(1 + params["numberEpochs"]) - 0.02 * params["dropoutProbability"]
    return score


def synthetic_trials(seed: int = 0, stages=STAGES) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    rows = []
    for stage, epochs, count in stages:
        for i in range(count):
            params = {
                "dataNormalisation": bool(rng.integers(2)),
                "horizontalFlip": bool(rng.integers(2)),
                "resizedCrop": bool(rng.integers(2)),
                "rotation": bool(rng.integers(2)),
                "numberHiddenLayers": int(rng.choice([1, 2, 4])),
                "hiddenLayerSize": int(rng.choice([64, 256, 1024])),
                "activationFunction": str(rng.choice(["sigmoid", "tanh", "ReLU"])),
                "dropoutProbability": round(float(rng.uniform(0, 0.8)), 3),
                "numberEpochs": epochs,
                "learningRate": float(f"{10 ** rng.uniform(-4, -1):.3g}"),
                "batchSize": int(rng.choice([8, 64, 128])),
            }
            accuracy = synthetic_accuracy(params) + float(rng.normal(0, 0.005))
            name = f"{stage}-{i:02d}"
            if params["learningRate"] > 0.03:
                row = trial_row(stage, name, status="failed", val_accuracy=None, **params)
                row.update(reason="loss is NaN", epochs=round(epochs * 0.2, 3))
            elif params["activationFunction"] == "sigmoid" and params["learningRate"] < 5e-4:
                row = trial_row(stage, name, status="failed", val_accuracy=0.1, **params)
                row.update(reason="validation accuracy 0.100 is at chance", epochs=1)
            elif stage != "coarse" and i % 4 == 3:
                row = trial_row(stage, name, status="stopped", **params)
                row.update(val_accuracy=round(accuracy - 0.02, 4), epochs=epochs / 2)
                row["reason"] = "hyperband: behind the other trials"
            else:
                row = trial_row(stage, name, val_accuracy=round(accuracy, 4), **params)
            row["seconds"] = round(4 + 20 * epochs * float(rng.uniform(0.8, 1.2)), 1)
            rows.append(row)
    return rows


def _history(final: float, epochs: float) -> list[dict[str, float]]:
    points = [epochs] if epochs < 1 else list(range(1, int(epochs) + 1))
    history = []
    for epoch in points:
        progress = 1 - math.exp(-3 * epoch / max(epochs, 1))
        val = final - 0.15 * (1 - progress) / 0.95
        history.append(
            {
                "epoch": epoch,
                "train_loss": round(1.2 - 0.9 * progress, 4),
                "train_accuracy": round(min(0.99, val + 0.02 * progress), 4),
                "val_loss": round(1.25 - 0.85 * progress, 4),
                "val_accuracy": round(val, 4),
            }
        )
    return history


def synthetic_curves(rows: list[dict[str, Any]], final_accuracy: float) -> dict[str, Any]:
    curves: dict[str, Any] = {}
    for stage in dict.fromkeys(r["stage"] for r in rows):
        measured = [
            r
            for r in rows
            if r["stage"] == stage
            and r["val_accuracy"] is not None
            and r["status"] in ("finished", "stopped")
        ]
        for row in sorted(measured, key=lambda r: -r["val_accuracy"])[:2]:
            curves[row["trial"]] = {
                "stage": stage,
                "label": f"{stage}: {row['trial']}",
                "history": _history(row["val_accuracy"], row["numberEpochs"]),
            }
    curves["final"] = {
        "stage": "final",
        "label": "final training",
        "history": _history(final_accuracy, 10),
    }
    return curves


def synthetic_confusion(accuracy: float, total: int, rng: np.random.Generator) -> list[list[int]]:
    per_class = total // 10
    matrix = np.zeros((10, 10), dtype=int)
    for i in range(10):
        right = round(per_class * float(np.clip(accuracy + rng.normal(0, 0.06), 0.5, 0.99)))
        matrix[i, i] = right
        wrong = rng.multinomial(per_class - right, rng.dirichlet(np.ones(9) * 0.5))
        matrix[i, [j for j in range(10) if j != i]] = wrong
    return matrix.tolist()


def synthetic_images(labels: list[int], rng: np.random.Generator) -> np.ndarray:
    """Crude 28x28 shapes, one shape per class, so a screenshot shows something."""
    y, x = np.mgrid[0:28, 0:28]
    images = []
    for label in labels:
        width, height = 4 + label, 12 - label // 2
        shape = (abs(x - 14) < width) & (abs(y - 14) < height)
        noise = rng.integers(0, 60, size=(28, 28))
        images.append(np.where(shape, 200 + noise // 2, noise // 3).astype(np.uint8))
    return np.stack(images)


def write_job(
    folder: str | Path,
    *,
    rows: list[dict[str, Any]] | None = None,
    seed: int = 0,
    test_accuracy: float = 0.88,
) -> Path:
    """Write a complete job folder; `rows` replaces the synthetic trials. Returns the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed + 1)
    rows = synthetic_trials(seed) if rows is None else rows
    write_trials(folder / "trials.csv", rows)
    measured = [
        r for r in rows if r["val_accuracy"] is not None and r["status"] in ("finished", "stopped")
    ]
    last = [r for r in measured if r["stage"] == measured[-1]["stage"]] if measured else []
    best = max(last, key=lambda r: r["val_accuracy"], default=None)  # best of the last stage
    config = {k: best[k] for k in HYPERPARAMETERS} if best else dict(BASE_CONFIG)
    confusion = synthetic_confusion(test_accuracy, 10_000, rng)
    accuracy = sum(confusion[i][i] for i in range(10)) / sum(map(sum, confusion))
    true = [int(v) for v in rng.integers(0, 10, size=10)]
    predicted = [t if rng.random() < 0.8 else int((t + 1 + rng.integers(9)) % 10) for t in true]
    metrics = {
        "test_accuracy": accuracy,
        "val_accuracy": round(accuracy + 0.006, 4),
        "search_val_accuracy": best["val_accuracy"] if best else None,
        "config": config,
        "chosen_trial": best["trial"] if best else "baseline",
        "chosen_stage": best["stage"] if best else "none",
        "protocol": PROTOCOL,
        "seeds": {"split": 0, "search": seed, "final": 1},
        "phases": {"search": 1234.5, "final_training": 321.0, "test": 2.5},
        "class_names": CLASS_NAMES,
        "confusion_matrix": confusion,
        "samples": {
            "index": [int(v) for v in rng.choice(10_000, size=10, replace=False)],
            "true": true,
            "predicted": [int(p) for p in predicted],
        },
        "device": "cpu",
        "implementation": "solutions",
        "created": "2026-11-29T12:00:00+00:00",
    }
    (folder / "metrics.json").write_text(json.dumps(metrics, indent=1), encoding="utf-8")
    curves = synthetic_curves(rows, metrics["val_accuracy"])
    (folder / "curves.json").write_text(json.dumps(curves, indent=1), encoding="utf-8")
    np.savez_compressed(folder / "test_samples.npz", images=synthetic_images(true, rng))
    return folder
