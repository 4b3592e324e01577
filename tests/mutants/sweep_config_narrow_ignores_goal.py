"""Always keeps the highest metrics, even when the configuration says to minimise."""

from solutions import sweep_config as _reference
from solutions.sweep_config import *  # noqa: F403


def narrow(config, runs, keep=5):
    result = _reference.narrow(
        {**config, "metric": {**config["metric"], "goal": "maximize"}}, runs, keep
    )
    return {**result, "metric": config["metric"]}
