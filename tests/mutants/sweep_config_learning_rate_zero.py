"""A learning rate range from 0: a network that never moves."""

from solutions import sweep_config as _reference
from solutions.sweep_config import *  # noqa: F403


def build_sweep_config(method="random"):
    config = _reference.build_sweep_config(method)
    if method == "grid":
        config["parameters"]["learningRate"] = {"values": [0.0, 1e-3, 1e-2, 1e-1]}
    else:
        config["parameters"]["learningRate"] = {"distribution": "uniform", "min": 0.0, "max": 0.1}
    return config
