"""Writes the boolean hyperparameters as strings ("True", "False"), as a hand-quoted YAML."""

from solutions import sweep_config as _reference
from solutions.sweep_config import *  # noqa: F403


def build_sweep_config(method="random"):
    config = _reference.build_sweep_config(method)
    for spec in config["parameters"].values():
        if spec.get("values") == [True, False]:
            spec["values"] = ["True", "False"]
    return config
