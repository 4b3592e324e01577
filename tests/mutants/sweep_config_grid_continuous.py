"""A continuous distribution under grid search: grid cannot enumerate it."""

from solutions import sweep_config as _reference
from solutions.sweep_config import *  # noqa: F403


def build_sweep_config(method="random"):
    config = _reference.build_sweep_config("random")
    config["method"] = method
    return config
