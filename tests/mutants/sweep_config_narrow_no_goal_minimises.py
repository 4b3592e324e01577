"""Treats a metric without a "goal" as one to minimise (W&B's default is to maximise)."""

from solutions import sweep_config as _reference
from solutions.sweep_config import *  # noqa: F403


def narrow(config, runs, keep=5):
    goal = config["metric"].get("goal", "minimize")
    result = _reference.narrow({**config, "metric": {**config["metric"], "goal": goal}}, runs, keep)
    return {**result, "metric": config["metric"]}
