"""Narrowing by editing the given configuration in place: the previous stage is lost."""

from solutions import sweep_config as _reference
from solutions.sweep_config import *  # noqa: F403


def narrow(config, runs, keep=5):
    config["parameters"] = _reference.narrow(config, runs, keep)["parameters"]
    return config
