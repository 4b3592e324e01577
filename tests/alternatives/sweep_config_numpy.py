"""Built from tables by comprehension; narrowing with numpy (log10, clip) and heapq."""

import copy
import heapq

import numpy as np

METRIC = "val_accuracy"
METHODS = ("grid", "random", "bayes")
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
GRID = {
    "dropoutProbability": [round(0.2 * i, 1) for i in range(5)],
    "learningRate": [10.0**e for e in range(-4, 0)],
}
CONTINUOUS = {
    "dropoutProbability": {"distribution": "uniform", "min": 0.0, "max": 0.8},
    "learningRate": {"distribution": "log_uniform_values", "min": 0.0001, "max": 0.1},
}


def build_sweep_config(method: str = "random") -> dict:
    if method not in METHODS:
        raise ValueError(f"unknown method {method}; use one of {METHODS}")
    parameters = {k: {"values": list(v)} for k, v in CATEGORICAL.items()}
    if method == "grid":
        parameters |= {k: {"values": list(v)} for k, v in GRID.items()}
    else:
        parameters |= copy.deepcopy(CONTINUOUS)
    return {
        "method": method,
        "metric": {"goal": "maximize", "name": METRIC},
        "early_terminate": {"type": "hyperband", "eta": 2, "min_iter": 1, "strict": False},
        "parameters": parameters,
    }


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and bool(np.isfinite(value))


def narrow(config: dict, runs: list[dict], keep: int = 5) -> dict:
    metric = config["metric"]["name"]
    sign = 1 if config["metric"].get("goal", "maximize") == "maximize" else -1
    finished = [
        r
        for r in runs
        if r.get("status") == "finished" and _finite(r.get("summary", {}).get(metric))
    ]
    if not finished:
        raise ValueError("nothing to narrow around: no finished run with a finite metric")
    best = heapq.nlargest(keep, finished, key=lambda r: sign * r["summary"][metric])
    result = copy.deepcopy(config)
    for name, spec in result["parameters"].items():
        seen = np.array([r["config"][name] for r in best if name in r["config"]])
        if seen.size == 0:
            continue
        if "values" in spec:
            spec["values"] = [v for v in spec["values"] if v in seen.tolist()]
        elif "min" in spec:
            log = spec.get("distribution") == "log_uniform_values"
            f, g = (np.log10, lambda v: 10.0**v) if log else (np.asarray, np.asarray)
            lo, hi = f(spec["min"]), f(spec["max"])
            margin = (hi - lo) * 0.1
            new = np.clip([f(seen.min()) - margin, f(seen.max()) + margin], lo, hi)
            spec["min"], spec["max"] = float(g(new[0])), float(g(new[1]))
    return result
