# Exercise 6: sweep_config. Generated from solutions/sweep_config.py by `python -m kata stubs`.
# Replace each `raise NotImplementedError(...)` with your code; check it with `pytest exercises/sweep_config.py`.
# Stub fingerprint e6dd5cf64622b0e3: `kata stubs` replaces this file only while untouched.
"""Exercise 6: the W&B sweep configuration of the assignment, and the coarse-to-fine step.

A sweep configuration is a plain dict in W&B's format: `method`, `metric`,
`parameters` and optionally `early_terminate`. The same dict runs locally
(`python -m kata sweep`) and on W&B's servers (`wandb.sweep`).
"""

import math

METRIC = "val_accuracy"
METHODS = ("grid", "random", "bayes")

# The assignment's hyperparameters: the discrete ones with their values...
CATEGORICAL = {
    "dataNormalisation": [True, False],
    "horizontalFlip": [True, False],
    "resizedCrop": [True, False],
    "rotation": [True, False],
    "numberHiddenLayers": [1, 2, 4],
    "hiddenLayerSize": [64, 256, 1024],
    "activationFunction": ["sigmoid", "tanh", "ReLU"],
    "numberEpochs": [5, 10],
    "batchSize": [8, 64, 128],
}
# ... and the continuous ones with their ranges.
DROPOUT_RANGE = (0.0, 0.8)
LEARNING_RATE_RANGE = (1e-4, 1e-1)


def build_sweep_config(method: str = "random") -> dict:
    """The sweep configuration for the assignment's 11 hyperparameters.

    - `method`: one of METHODS; anything else raises ValueError.
    - `metric`: validation accuracy (METRIC), to be maximised.
    - the nine discrete hyperparameters take exactly the values in CATEGORICAL, as
      {"values": [...]}: the same values, of the same types (booleans, not strings), in
      the same order;
    - dropoutProbability: uniform over DROPOUT_RANGE;
    - learningRate: log-uniform over LEARNING_RATE_RANGE, given as the actual values
      (W&B's `log_uniform_values`; the old `log_uniform` takes exponents of e instead);
    - grid search cannot sample a continuous range: there, dropoutProbability takes the
      values 0, 0.2, 0.4, 0.6, 0.8 and learningRate 1e-4, 1e-3, 1e-2, 1e-1;
    - `early_terminate`: {"type": "hyperband", "min_iter": 1, "eta": 2, "strict": ...},
      `strict` set explicitly to True or False.
    """
    raise NotImplementedError(
        "exercise 6 (sweep_config): build_sweep_config in exercises/sweep_config.py is yours to write. Hint: python -m kata hint sweep_config"
    )


def narrow(config: dict, runs: list[dict], keep: int = 5) -> dict:
    """The next, narrower sweep configuration after a stage of the coarse-to-fine search.

    `runs` are finished trials as dicts with "status" ("finished", "failed", ...),
    "config" (the hyperparameters) and "summary" (the metrics, including the metric
    named in `config["metric"]`). Only runs with status "finished" and a finite metric
    count (not NaN, not infinite); of those, the best `keep` by the metric's goal
    (`config["metric"]["goal"]`: "maximize", the default, or "minimize"; ties in the
    order the runs were given) decide the new configuration:

    - a parameter with `values` keeps only the values seen among the best runs, in their
      original order;
    - a continuous parameter (`min`/`max`) shrinks to the smallest range holding the best
      runs' values, widened on each side by 10% of the old width (on a log10 scale for
      `log_uniform_values`) and clipped to the old range;
    - a parameter that none of the best runs has in its "config" keeps its old spec;
    - nothing ever widens, every other key stays as it was, and `config` is not changed.

    `keep` defaults to 5; a metric without a "goal" is maximised (W&B's default). No
    counting run at all raises ValueError, with a message that says so.
    """
    raise NotImplementedError(
        "exercise 6 (sweep_config): narrow in exercises/sweep_config.py is yours to write. Hint: python -m kata hint sweep_config"
    )
