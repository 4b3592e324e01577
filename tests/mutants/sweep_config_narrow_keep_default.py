"""Keeps the best 10 runs when `keep` is not given, not the docstring's 5."""

from solutions import sweep_config as _reference
from solutions.sweep_config import *  # noqa: F403


def narrow(config, runs, keep=10):
    return _reference.narrow(config, runs, keep)
