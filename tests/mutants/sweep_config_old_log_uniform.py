"""The old `log_uniform` with plain values as bounds: they are base-e exponents there."""

from solutions import sweep_config as _reference
from solutions.sweep_config import *  # noqa: F403


def build_sweep_config(method="random"):
    config = _reference.build_sweep_config(method)
    if method != "grid":
        config["parameters"]["learningRate"] = {
            "distribution": "log_uniform",
            "min": 1e-4,
            "max": 0.1,
        }
    return config
