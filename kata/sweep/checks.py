"""Checks of a sweep configuration, every problem listed at once, before anything runs.

- :func:`validate_config`: what W&B itself would refuse (the sweeps package's own schema
  check, made readable: where each problem is, and for a malformed parameter the closest
  kind of parameter) and what the local engine cannot run.
- :func:`training_problems`: the kata's own rules for a sweep that trains the kata's
  network: every parameter is one of the 11 hyperparameters (a misspelt name is named with
  its closest match), every value a parameter can take is one a trial accepts
  (`kata.config.value_problem`), and the metric is one the trials report, with its goal.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from .engine import sweeps_package
from .trial import SUMMARY_METRICS
from .values import json_normalize, plain


def validate_config(config: Any) -> list[str]:
    """Every problem of a sweep configuration, readable; [] if it is valid.

    First every violation the sweeps package's own schema check reports, then, for a
    configuration the schema accepts, what this local engine cannot run.
    """
    if not isinstance(config, Mapping):
        return [f"a sweep configuration is a dict, not {type(config).__name__}"]
    try:
        normalized = json_normalize(config)
    except (TypeError, ValueError) as error:
        return [f"the sweep configuration must hold only JSON values: {error}"]
    problems = schema_problems(normalized)
    if not problems:
        problems = _local_problems(normalized)
    return problems


def schema_problems(config: dict) -> list[str]:
    """What the sweeps package's schema (W&B's) refuses, each with where it is."""
    sweeps = sweeps_package()
    from sweeps.config.schema import validator

    errors = list(validator.iter_errors(config))
    try:
        messages = sweeps.schema_violations_from_proposed_config(config)
    except Exception as error:  # it raises on a parameter that is not a dict, for one
        messages = [e.message for e in errors] + [str(error)]
    # Its first messages are these jsonschema errors' messages, in the same order: give them
    # their place in the configuration and a hint; the rest (min < max, probabilities, old
    # log distributions) already name their parameter.
    if [e.message for e in errors] == messages[: len(errors)]:
        messages = [_describe(e) for e in errors] + messages[len(errors) :]
    return list(dict.fromkeys(messages))  # min >= max is reported twice by the package


def _describe(error) -> str:
    where = ".".join(str(part) for part in error.absolute_path) or "sweep configuration"
    message = error.message
    if error.context:
        message += f" (closest: {_closest(error)[1]})"
    return f"{where}: {message}"


def _closest(error) -> tuple[int, str]:
    """The alternative of an anyOf/oneOf error that is nearest to valid, as (score, text)."""
    branches: dict[Any, list] = {}
    for sub in error.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    best: tuple[int, str] | None = None
    for subs in branches.values():
        score, texts = 0, []
        for sub in subs:
            if sub.context:
                inner_score, text = _closest(sub)
                score += inner_score
            else:
                score, text = score + 1, sub.message
                other_kind = list(sub.relative_path)[:1] == ["distribution"] or (
                    sub.validator == "required" and "'distribution'" in sub.message
                )
                score += 100 if other_kind else 0  # a branch for another distribution
                score += 10 if sub.validator == "additionalProperties" else 0  # another kind
            texts.append(text)
        if best is None or score < best[0]:
            best = (score, "; ".join(texts))
    assert best is not None
    return best


def _parameter_specs(parameters: dict, prefix: str = "") -> Iterator[tuple[str, dict]]:
    for name, spec in parameters.items():
        if isinstance(spec.get("parameters"), dict):
            yield from _parameter_specs(spec["parameters"], f"{prefix}{name}.")
        else:
            yield prefix + name, spec


def _local_problems(config: dict) -> list[str]:
    """What the schema allows but this engine (or sweeps 0.3.0 itself) cannot run."""
    from sweeps.params import HyperParameter

    problems = []
    method = config.get("method")
    if method not in ("grid", "random", "bayes"):
        problems.append(f"method: the local engine runs grid, random or bayes, not {method!r}")
    for key in ("scheduler", "metrics"):
        if key in config:
            problems.append(f"{key}: not supported by the local engine")
    if "parameters" not in config:
        return problems + ["parameters: the local engine needs a `parameters` section"]
    if method == "bayes" and "metric" not in config:
        problems.append("metric: method 'bayes' needs a `metric` to optimise")
    if "early_terminate" in config and "metric" not in config:
        problems.append("early_terminate: hyperband needs a `metric`")
    searchable = 0
    for name, spec in _parameter_specs(config["parameters"]):
        kind = HyperParameter(name, spec).type
        searchable += kind != HyperParameter.CONSTANT
        if method == "grid" and kind not in (
            HyperParameter.CATEGORICAL,
            HyperParameter.CONSTANT,
            HyperParameter.INT_UNIFORM,
            HyperParameter.Q_UNIFORM,
        ):
            problems.append(
                f"parameters.{name}: grid search takes only `values` (without probabilities),"
                f" `value`, int_uniform or q_uniform, not {kind.removeprefix('param_')}"
            )
        if method == "bayes" and kind == HyperParameter.CATEGORICAL_PROB:
            problems.append(
                f"parameters.{name}: bayes in sweeps 0.3.0 fails on `probabilities`"
                " (IndexError in HyperParameter.cdf); drop them"
            )
    if method == "bayes" and searchable == 0:
        problems.append("parameters: bayes needs at least one parameter that varies")
    return problems


# --- the kata's own rules --------------------------------------------------------------------


def training_problems(config: Any) -> list[str]:
    """Every problem of a sweep configuration for the kata's training: W&B's and the local
    engine's (`validate_config`), then the kata's rules (see the module's docstring)."""
    problems = validate_config(config)
    if problems:
        return problems
    config = json_normalize(config)
    from ..config import ASSIGNMENT_VALUES

    names = tuple(ASSIGNMENT_VALUES)
    for name, spec in config["parameters"].items():
        if name not in names:
            problems.append(
                f"parameters.{name}: not one of the 11 hyperparameters{_did_you_mean(name, names)}"
            )
        elif isinstance(spec.get("parameters"), dict):
            problems.append(
                f"parameters.{name}: a hyperparameter takes values, not nested parameters"
            )
        else:
            problems.extend(_value_problems(name, spec))
    return problems + _metric_problems(config.get("metric"))


def _did_you_mean(name: str, names: tuple[str, ...]) -> str:
    same_case = [n for n in names if n.lower() == name.lower()]
    close = same_case or difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    if close:
        return f" (did you mean {close[0]!r}?)"
    return f"; they are {', '.join(names)}"


UNBOUNDED = ("param_normal", "param_qnormal", "param_lognormal", "param_qlognormal")


def _value_problems(name: str, spec: dict) -> list[str]:
    """The values this parameter can take that a trial refuses, one message each."""
    from sweeps.params import HyperParameter

    from ..config import value_problem

    parameter = HyperParameter(name, spec)
    kind = parameter.type
    if kind in UNBOUNDED:
        return [
            f"parameters.{name}: a {kind.removeprefix('param_')} distribution has no bounds;"
            f" a trial takes {value_problem(name, None).removeprefix('expected ')}: use a"
            " bounded distribution"
        ]
    if kind == HyperParameter.CONSTANT:
        candidates = [("value", spec["value"])]
    elif kind in (HyperParameter.CATEGORICAL, HyperParameter.CATEGORICAL_PROB):
        candidates = [("value", value) for value in spec["values"]]
    elif kind == HyperParameter.INT_UNIFORM:
        candidates = [("min", spec["min"]), ("max", spec["max"])]
    else:  # a continuous or quantised distribution: what it draws at its two ends
        low, high = plain(parameter.ppf(np.array([0.0, 1.0])))
        candidates = [("its lowest value", low), ("its highest value", high)]
    problems = []
    for what, value in candidates:
        want = value_problem(name, value)
        if want is not None:
            problems.append(f"parameters.{name}: {what} {value!r}: {want}")
    return problems


def _metric_problems(metric: Any) -> list[str]:
    listed = ", ".join(f"{n} ({g})" for n, g in SUMMARY_METRICS.items())
    if not isinstance(metric, dict) or "name" not in metric:
        return [f"metric: the kata's sweeps pick the best trial by a metric; one of {listed}"]
    name, goal = metric["name"], metric.get("goal")
    if name not in SUMMARY_METRICS:
        return [f"metric.name: {name!r} is not a metric the trials report; one of {listed}"]
    if goal != SUMMARY_METRICS[name]:
        given = "no goal (the sweeps package then minimizes)" if goal is None else repr(goal)
        return [
            f"metric.goal: {name} needs goal {SUMMARY_METRICS[name]!r}, not {given}: the"
            " sweep would look for the worst network"
        ]
    return []
