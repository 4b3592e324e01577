"""Hyperparameter importance, computed the way W&B's parameter importance panel does.

W&B trains a random forest with the hyperparameters as inputs and the metric as the target
and reports the forest's feature importances, beside each hyperparameter's linear (Pearson)
correlation with the metric. Here, with scikit-learn's `RandomForestRegressor` (fixed
`random_state`), per stage: the stages of a staged search train for different numbers of
epochs, and across stages `numberEpochs` would explain most of the metric by itself.

Encoding (the figure says so too): booleans as 0/1; `activationFunction` one-hot, one
feature per value (`activationFunction=ReLU`), as W&B splits categorical values; the other
numbers as their values, the learning rate as log10 (it is searched on a log scale).
Within a stage, features that do not vary are dropped (the epochs, usually), and so are
the epochs where they follow the batch size (the coarse stage: `followers`). A stage with
fewer than `MIN_TRIALS` measured trials gets a note instead of numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from sklearn.ensemble import RandomForestRegressor

from .report_files import BOOLEAN_PARAMS, CATEGORICAL_PARAMS, HYPERPARAMETERS, Trial

MIN_TRIALS = 5
ENCODING_NOTE = (
    "Encoding: booleans 0/1; activationFunction one-hot (one feature per value); "
    "learningRate as log10; other numbers as their values. Constant features dropped, and"
    " the epochs where they follow the batch size."
)


@dataclass(frozen=True)
class StageImportance:
    """Importance and correlation of each encoded feature with the metric, in one stage."""

    stage: str
    n_trials: int  # measured trials (finished or stopped, with a metric)
    features: list[str]
    importance: list[float]  # sums to 1 (or all 0 when the metric does not vary)
    correlation: list[float]  # Pearson, -1..1 (0 when the metric does not vary)
    dropped: list[str]  # features constant within the stage
    note: str | None = None  # why there are no numbers, when there are none

    def ranked(self) -> list[tuple[str, float, float]]:
        """(feature, importance, correlation), most important first."""
        rows = zip(self.features, self.importance, self.correlation, strict=True)
        return sorted(rows, key=lambda row: -row[1])


def feature_param(feature: str) -> str:
    """The hyperparameter an encoded feature comes from."""
    if feature.startswith("log10("):
        return feature[len("log10(") : -1]
    return feature.split("=", 1)[0]


def feature_name(param: str, value: object = None) -> str:
    if param in CATEGORICAL_PARAMS:
        return f"{param}={value}"
    return "log10(learningRate)" if param == "learningRate" else param


def followers(trials: list[Trial]) -> dict[str, str]:
    """Hyperparameters that merely follow another one-to-one in these trials: {follower:
    followed}. In the coarse stage the epochs follow the batch size (each batch size trains
    its own fraction of an epoch), and a forest or a comparison would credit the epochs
    with whatever the batch size does. The epochs are checked first (a stage sets them;
    they are never searched), so they are the ones left out."""
    order = ["numberEpochs", *(p for p in HYPERPARAMETERS if p != "numberEpochs")]
    kept = [p for p in order if len({str(t.params[p]) for t in trials}) > 1]
    follows: dict[str, str] = {}
    for param in kept:
        for other in kept:
            if other == param or other in follows:
                continue
            pairs = {(str(t.params[param]), str(t.params[other])) for t in trials}
            # one-to-one, and seen repeatedly: values that never repeat (two continuous
            # hyperparameters) pair up one-to-one by chance
            repeated = 2 * len(pairs) <= len(trials)
            if repeated and len(pairs) == len({a for a, _ in pairs}) == len({b for _, b in pairs}):
                follows[param] = other
                break
    return follows


def encode(trials: list[Trial]) -> tuple[list[str], np.ndarray]:
    """Feature names and matrix (one row per trial), before dropping constant columns."""
    names: list[str] = []
    columns: list[list[float]] = []
    for param in HYPERPARAMETERS:
        values = [t.params[param] for t in trials]
        if param in CATEGORICAL_PARAMS:
            for level in sorted(set(values), key=str):
                names.append(feature_name(param, level))
                columns.append([float(v == level) for v in values])
        elif param in BOOLEAN_PARAMS:
            names.append(param)
            columns.append([float(v) for v in values])
        elif param == "learningRate":
            names.append(feature_name(param))
            columns.append([math.log10(v) for v in values])
        else:
            names.append(param)
            columns.append([float(v) for v in values])
    matrix = np.array(columns, dtype=float).T.reshape(len(trials), len(names))
    return names, matrix


def stage_importance(stage: str, trials: list[Trial], random_state: int = 0) -> StageImportance:
    """Importance and correlation over the measured trials of one stage."""
    measured = [t for t in trials if t.stage == stage and t.measured]
    if len(measured) < MIN_TRIALS:
        note = (
            f"{len(measured)} measured trial(s) in stage {stage!r}: too few "
            f"(fewer than {MIN_TRIALS}) to estimate importance."
        )
        return StageImportance(stage, len(measured), [], [], [], [], note)
    names, matrix = encode(measured)
    varies = matrix.max(axis=0) > matrix.min(axis=0)
    follows = followers(measured)
    varies &= np.array([feature_param(n) not in follows for n in names])
    dropped = [n for n, v in zip(names, varies, strict=True) if not v]
    names = [n for n, v in zip(names, varies, strict=True) if v]
    matrix = matrix[:, varies]
    target = np.array([t.val_accuracy for t in measured], dtype=float)
    if not names:
        note = f"No hyperparameter varies within stage {stage!r}."
        return StageImportance(stage, len(measured), [], [], [], dropped, note)
    if np.ptp(target) == 0:
        zeros = [0.0] * len(names)
        note = f"Validation accuracy is the same in every trial of stage {stage!r}."
        return StageImportance(stage, len(measured), names, zeros, zeros, dropped, note)
    forest = RandomForestRegressor(n_estimators=100, random_state=random_state)
    forest.fit(matrix, target)
    correlation = [float(np.corrcoef(column, target)[0, 1]) for column in matrix.T]
    importance = [float(v) for v in forest.feature_importances_]
    return StageImportance(stage, len(measured), names, importance, correlation, dropped)


def importance_by_stage(trials: list[Trial], stages: list[str]) -> list[StageImportance]:
    return [stage_importance(stage, trials) for stage in stages]
