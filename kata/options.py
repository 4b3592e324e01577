"""The command line's options, checked before anything runs: every meaningless value is
named, all at once, instead of being quietly changed (`--agents 0` once meant "the
default", `--train-subset 0` "all images")."""

from __future__ import annotations

import argparse
import math

from .config import device_problem

TRAIN_IMAGES = 55_000  # the training split: 60,000 images less the 5,000 held out


def option_problems(args: argparse.Namespace, *, min_subset: int = 1) -> list[str]:
    """One message per option of `args` whose value means nothing; [] if all are fine."""
    problems = []
    subset = getattr(args, "train_subset", None)
    if subset is not None and not min_subset <= subset <= TRAIN_IMAGES:
        problems.append(f"--train-subset {subset}: expected {min_subset} to {TRAIN_IMAGES} images")
    for flag, least, what in (("agents", 1, "agent"), ("count", 1, "trial")):
        value = getattr(args, flag, None)
        if value is not None and value < least:
            problems.append(f"--{flag} {value}: expected at least {least} {what}")
    for flag, what in (("budget", "number of seconds"), ("scale", "multiple")):
        value = getattr(args, flag, None)
        if value is not None and not (math.isfinite(value) and value > 0):
            problems.append(f"--{flag} {value:g}: expected a positive {what}")
    seed = getattr(args, "seed", None)
    if seed is not None and seed < 0:
        problems.append(f"--seed {seed}: expected an integer >= 0")
    device = getattr(args, "device", None)
    if device is not None:
        problems.append(device_problem(device))
    return [p for p in problems if p]
