"""Sorting the wrong way round: narrowing around the worst runs."""

from solutions import sweep_config as _reference
from solutions.sweep_config import *  # noqa: F403


def narrow(config, runs, keep=5):
    flipped = {**config, "metric": {**config["metric"], "goal": "minimize"}}
    return {**_reference.narrow(flipped, runs, keep), "metric": config["metric"]}
