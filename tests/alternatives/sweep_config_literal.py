"""The configuration written out as one literal dict; narrowing in natural-log space.

math.exp(math.log(1e-4)) is 1.0000000000000009e-4: a bound that comes back from log space
may differ from the old one, or from a run's value, by a rounding.
"""

import math

METRIC = "val_accuracy"
METHODS = ("grid", "random", "bayes")


def build_sweep_config(method="random"):
    if method not in ("grid", "random", "bayes"):
        raise ValueError(f"method must be grid, random or bayes, not {method!r}")
    config = {
        "method": method,
        "metric": {"name": "val_accuracy", "goal": "maximize"},
        "parameters": {
            "dataNormalisation": {"values": [True, False]},
            "horizontalFlip": {"values": [True, False]},
            "resizedCrop": {"values": [True, False]},
            "rotation": {"values": [True, False]},
            "numberHiddenLayers": {"values": [1, 2, 4]},
            "hiddenLayerSize": {"values": [64, 256, 1024]},
            "activationFunction": {"values": ["sigmoid", "tanh", "ReLU"]},
            "dropoutProbability": {"distribution": "uniform", "min": 0.0, "max": 0.8},
            "numberEpochs": {"values": [5, 10]},
            "learningRate": {"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-1},
            "batchSize": {"values": [8, 64, 128]},
        },
        "early_terminate": {"type": "hyperband", "min_iter": 1, "eta": 2, "strict": False},
    }
    if method == "grid":
        config["parameters"]["dropoutProbability"] = {"values": [0, 0.2, 0.4, 0.6, 0.8]}
        config["parameters"]["learningRate"] = {"values": [0.0001, 0.001, 0.01, 0.1]}
    return config


def narrow(config, runs, keep=5):
    metric = config["metric"]["name"]
    maximize = config["metric"].get("goal", "maximize") == "maximize"
    good = []
    for run in runs:
        value = run.get("summary", {}).get(metric)
        if run.get("status") != "finished" or not isinstance(value, (int, float)):
            continue
        if math.isnan(value) or math.isinf(value):
            continue
        good.append(run)
    if not good:
        raise ValueError("no finished run with a finite metric")
    good = sorted(good, key=lambda r: r["summary"][metric], reverse=maximize)[:keep]
    new = dict(config)
    new["parameters"] = {}
    for name, spec in config["parameters"].items():
        seen = [r["config"][name] for r in good if name in r["config"]]
        spec = dict(spec)
        if seen and "values" in spec:
            spec["values"] = [v for v in spec["values"] if v in seen]
        elif seen and "min" in spec:
            if spec.get("distribution") == "log_uniform_values":
                lo, hi = math.log(spec["min"]), math.log(spec["max"])
                pad = (hi - lo) / 10
                a = max(lo, math.log(min(seen)) - pad)
                b = min(hi, math.log(max(seen)) + pad)
                spec["min"], spec["max"] = math.exp(a), math.exp(b)
            else:
                pad = (spec["max"] - spec["min"]) / 10
                spec["min"] = max(spec["min"], min(seen) - pad)
                spec["max"] = min(spec["max"], max(seen) + pad)
        new["parameters"][name] = spec
    return new
