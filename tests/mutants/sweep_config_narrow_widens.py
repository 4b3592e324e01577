"""Margins not clipped to the old range: narrowing widens the search."""

from solutions import sweep_config as _reference
from solutions.sweep_config import *  # noqa: F403


def narrow(config, runs, keep=5):
    result = _reference.narrow(config, runs, keep)
    for name, spec in result["parameters"].items():
        if "min" in spec:
            old = config["parameters"][name]
            width = old["max"] - old["min"]
            result["parameters"][name] = {
                **spec,
                "min": spec["min"] * 0.5,
                "max": spec["max"] + width,
            }
    return result
