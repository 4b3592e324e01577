"""The training loss as the metric: it rewards overfitting, not generalisation."""

from solutions import sweep_config as _reference
from solutions.sweep_config import *  # noqa: F403


def build_sweep_config(method="random"):
    config = _reference.build_sweep_config(method)
    config["metric"] = {"name": "train_loss", "goal": "minimize"}
    return config
