"""`goal: minimize` on an accuracy: the sweep hunts for the worst networks."""

from solutions import sweep_config as _reference
from solutions.sweep_config import *  # noqa: F403


def build_sweep_config(method="random"):
    config = _reference.build_sweep_config(method)
    config["metric"]["goal"] = "minimize"
    return config
