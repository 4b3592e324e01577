"""Exercise 6: the sweep configuration of the assignment and the coarse-to-fine narrowing."""

import copy
import math
import random

import numpy as np
import pytest
import sweeps
from hypothesis import given
from hypothesis import strategies as st

from tests.checks import call, describe, fail
from tests.strategies import sweep_runs

pytestmark = pytest.mark.exercise("sweep_config")

METHODS = ("grid", "random", "bayes")
METRIC = "val_accuracy"
# The assignment, written out here again so a changed constant in the exercise shows up.
DISCRETE = {
    "dataNormalisation": [True, False],
    "horizontalFlip": [True, False],
    "resizedCrop": [True, False],
    "rotation": [True, False],
    "numberHiddenLayers": [1, 2, 4],
    "hiddenLayerSize": [64, 256, 1024],
    "activationFunction": ["sigmoid", "tanh", "ReLU"],
    "numberEpochs": [5, 10],
    "batchSize": [8, 64, 128],
}
DROPOUT = (0.0, 0.8)
LEARNING_RATE = (1e-4, 1e-1)
ALL_KEYS = set(DISCRETE) | {"dropoutProbability", "learningRate"}
GRID = {"dropoutProbability": [0.0, 0.2, 0.4, 0.6, 0.8], "learningRate": [1e-4, 1e-3, 1e-2, 1e-1]}
# Relative slack for a range bound compared with a run's value or the old bound. A correct
# narrow may work in log space (log10, or natural log) and convert back: exp(log(x)) is x
# within (|ln x| + 2) x 2^-52 relative, below 3e-15 for x in [1e-4, 1]
# (exp(log(1e-4)) = 1.0000000000000009e-4). 1e-12 covers any base and numpy and stays
# far below a real mistake (a margin of 10% of the old width, a missing clip).
BOUND_RTOL = 1e-12


def at_most(a: float, b: float) -> bool:
    """a <= b, up to the rounding of a log/exp round trip."""
    return a <= b + BOUND_RTOL * max(abs(a), abs(b))


@pytest.fixture(scope="module")
def sweep_config(impl):
    return impl.module("sweep_config")


def build(sweep_config, method: str) -> dict:
    config = sweep_config.build_sweep_config(method)
    if not isinstance(config, dict):
        fail(call("build_sweep_config", method), describe(config), "a dict")
    return config


def schema_problems(config: dict) -> list[str]:
    """W&B's own schema check, each problem once (it can report one several times)."""
    problems = sweeps.schema_violations_from_proposed_config(copy.deepcopy(config))
    return list(dict.fromkeys(str(problem) for problem in problems))


def typed(values) -> list:
    """Values with their types: True is not "True", and 1 is not True or 1.0."""
    return [(type(v).__name__, v) for v in values]


def proposals(config: dict, n: int) -> list[dict]:
    """n runs proposed by W&B's own engine, with the global random state kept apart."""
    py_state, np_state = random.getstate(), np.random.get_state()
    random.seed(0)
    np.random.seed(0)
    try:
        # One call for all n: validating the configuration each time costs 50 ms a run.
        runs = sweeps.next_runs(copy.deepcopy(config), [], validate=True, n=n)
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
    return [{k: v["value"] for k, v in run.config.items()} for run in runs]


@pytest.mark.parametrize("method", METHODS)
def test_the_configuration_is_valid_under_wandbs_own_schema(sweep_config, method):
    config = build(sweep_config, method)
    problems = schema_problems(config)
    if problems:
        fail(call("build_sweep_config", method), f"schema violations {problems}", "none")
    if config.get("method") != method:
        fail(call("build_sweep_config", method), f"method {config.get('method')!r}", repr(method))
    try:
        proposed = proposals(config, 1)[0]
    except Exception as error:  # W&B's engine refuses it: say why
        fail(
            call("build_sweep_config", method),
            f"sweeps.next_run raised {error!r}",
            "a configuration W&B's sweep engine can propose runs from",
        )
    if set(proposed) != ALL_KEYS:
        fail(
            call("build_sweep_config", method),
            f"proposed keys {sorted(proposed)}",
            f"the assignment's 11 hyperparameters {sorted(ALL_KEYS)}",
        )


@pytest.mark.parametrize("method", METHODS)
def test_the_metric_is_validation_accuracy_maximised(sweep_config, method):
    metric = build(sweep_config, method).get("metric")
    if metric != {"name": METRIC, "goal": "maximize"}:
        fail(
            call("build_sweep_config", method),
            f"metric {metric!r}",
            f"{{'name': {METRIC!r}, 'goal': 'maximize'}}: accuracy on the validation set, "
            "the higher the better (not the training loss, not minimised)",
        )


@pytest.mark.parametrize("method", METHODS)
def test_the_discrete_hyperparameters_take_exactly_the_assignments_values(sweep_config, method):
    parameters = build(sweep_config, method).get("parameters", {})
    for name, values in DISCRETE.items():
        got = parameters.get(name, {}).get("values")
        # Exactly these values, of these types, in this order (the docstring's CATEGORICAL):
        # "True" is a string, not a boolean, and a grid enumerates values in their order.
        if not isinstance(got, list) or typed(got) != typed(values):
            fail(
                call("build_sweep_config", method),
                f"{name}: {parameters.get(name)!r}",
                f"{{'values': {values!r}}} (these values, types and order)",
            )


@pytest.mark.parametrize("method", ["random", "bayes"])
def test_continuous_ranges_and_a_log_uniform_learning_rate(sweep_config, method):
    parameters = build(sweep_config, method)["parameters"]
    expected = {
        "dropoutProbability": {"distribution": "uniform", "min": DROPOUT[0], "max": DROPOUT[1]},
        "learningRate": {
            "distribution": "log_uniform_values",
            "min": LEARNING_RATE[0],
            "max": LEARNING_RATE[1],
        },
    }
    for name, spec in expected.items():
        got = parameters.get(name)
        if not isinstance(got, dict) or {k: got.get(k) for k in spec} != spec:
            fail(call("build_sweep_config", method), f"{name}: {got!r}", f"{spec!r}")


def test_sampled_learning_rates_are_log_uniform_over_the_range(sweep_config):
    config = build(sweep_config, "random")
    rates = np.array([p["learningRate"] for p in proposals(config, 400)])
    called = call("build_sweep_config", "random") + ", 400 proposals from sweeps.next_run"
    if rates.min() < LEARNING_RATE[0] * 0.999 or rates.max() > LEARNING_RATE[1] * 1.001:
        fail(
            called,
            f"learning rates from {rates.min():.3g} to {rates.max():.3g}",
            f"learning rates within {LEARNING_RATE}",
        )
    below_middle = float((np.log10(rates) < -2.5).mean())
    if abs(below_middle - 0.5) > 0.1:
        fail(
            called,
            f"{below_middle:.0%} of the learning rates below 10^-2.5",
            "about half: log-uniform puts as many rates in [1e-4, 3e-3] as in [3e-3, 1e-1]",
        )
    dropouts = np.array([p["dropoutProbability"] for p in proposals(config, 100)])
    if dropouts.min() < DROPOUT[0] or dropouts.max() > DROPOUT[1]:
        fail(
            called,
            f"dropout from {dropouts.min():.3g} to {dropouts.max():.3g}",
            f"dropout within {DROPOUT}",
        )


def test_grid_search_gets_values_only_spanning_the_ranges(sweep_config):
    parameters = build(sweep_config, "grid")["parameters"]
    called = call("build_sweep_config", "grid")
    for name, spec in parameters.items():
        if "values" not in spec or "distribution" in spec and spec["distribution"] != "categorical":
            fail(
                called,
                f"{name}: {spec!r}",
                "a list of values: grid search cannot enumerate a continuous distribution",
            )
    for name, expected in GRID.items():
        got = parameters[name]["values"]
        exact = isinstance(got, list) and len(got) == len(expected)
        exact = exact and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isclose(v, e)
            for v, e in zip(got, expected, strict=False)
        )
        if not exact:
            fail(called, f"{name} values {got!r}", f"{expected!r} (the docstring's grid, in order)")
    for name, (low, high) in (("dropoutProbability", DROPOUT), ("learningRate", LEARNING_RATE)):
        values = sorted(parameters[name]["values"])
        if not (
            math.isclose(values[0], low) and math.isclose(values[-1], high) and len(values) >= 3
        ):
            fail(called, f"{name} values {values}", f"at least 3 values from {low} to {high}")
    rates = sorted(parameters["learningRate"]["values"])
    ratios = [b / a for a, b in zip(rates, rates[1:], strict=False)]
    if max(ratios) / min(ratios) > 1.5:
        fail(called, f"learning rates {rates}", "log-spaced values (a constant ratio)")


@pytest.mark.parametrize("method", METHODS)
def test_hyperband_early_termination_with_strict_set(sweep_config, method):
    early = build(sweep_config, method).get("early_terminate")
    if not (
        isinstance(early, dict)
        and early.get("type") == "hyperband"
        and isinstance(early.get("strict"), bool)
        and typed([early.get("min_iter"), early.get("eta")]) == typed([1, 2])
    ):
        fail(
            call("build_sweep_config", method),
            f"early_terminate {early!r}",
            "{'type': 'hyperband', 'min_iter': 1, 'eta': 2, 'strict': True or False}: "
            "min_iter 1 and eta 2 as the docstring says (W&B's default eta is 3), and strict "
            "set explicitly (its default changed)",
        )


def test_an_unknown_method_is_rejected(sweep_config):
    try:
        config = sweep_config.build_sweep_config("bayesian")
    except ValueError:
        return
    fail(call("build_sweep_config", "bayesian"), describe(config), "ValueError")


# --- narrowing -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reference_config(reference):
    return reference.module("sweep_config").build_sweep_config("random")


def counted(runs: list[dict]) -> list[dict]:
    return [
        r
        for r in runs
        if r["status"] == "finished"
        and isinstance(r["summary"].get(METRIC), float)
        and math.isfinite(r["summary"][METRIC])
    ]


def narrowed(sweep_config, config, runs, keep=5) -> dict:
    before = copy.deepcopy(config)
    result = sweep_config.narrow(config, copy.deepcopy(runs), keep)
    called = f"narrow(config, <{len(runs)} runs>, keep={keep})"
    if config != before:
        fail(called, "the given configuration was changed", "a new dict, the input left alone")
    if not isinstance(result, dict):
        fail(called, describe(result), "a sweep configuration dict")
    problems = schema_problems(result)
    if problems:
        fail(called, f"schema violations {problems}", "a valid sweep configuration")
    return result


@st.composite
def stage_results(draw, config):
    """A run list with at least one finished run with a finite metric, in any position."""
    runs = draw(sweep_runs(config, METRIC))
    one = draw(sweep_runs(config, METRIC, max_runs=1).filter(bool))[0]
    one.update(status="finished", summary={METRIC: draw(st.floats(0.0, 1.0))})
    runs.insert(draw(st.integers(0, len(runs))), one)
    return runs


@given(data=st.data(), keep=st.integers(1, 6))
def test_narrowing_never_widens_and_keeps_the_best_run_inside(
    sweep_config, reference_config, data, keep
):
    runs = data.draw(stage_results(reference_config))
    result = narrowed(sweep_config, reference_config, runs, keep)
    best = max(counted(runs), key=lambda r: r["summary"][METRIC])
    called = f"narrow(config, <{len(runs)} runs>, keep={keep})"
    for name, old in reference_config["parameters"].items():
        new = result["parameters"].get(name, {})
        value = best["config"][name]
        if "values" in old:
            if not set(typed(new.get("values", []))) <= set(typed(old["values"])):
                fail(called, f"{name} values {new.get('values')}", f"a subset of {old['values']}")
            if value not in new.get("values", []):
                fail(
                    called,
                    f"{name} values {new.get('values')}",
                    f"values that include the best run's {value!r}",
                )
        else:
            low, high = new.get("min", -math.inf), new.get("max", math.inf)
            if not (at_most(old["min"], low) and low <= high and at_most(high, old["max"])):
                fail(
                    called,
                    f"{name} range [{new.get('min')}, {new.get('max')}]",
                    f"a range inside [{old['min']}, {old['max']}]: narrowing never widens",
                )
            if not (at_most(low, value) and at_most(value, high)):
                fail(
                    called,
                    f"{name} range [{low}, {high}]",
                    f"a range holding the best run's {value}",
                )


@given(data=st.data(), keep=st.integers(1, 6))
def test_categorical_values_are_those_of_the_best_runs(sweep_config, reference_config, data, keep):
    runs = data.draw(stage_results(reference_config))
    result = narrowed(sweep_config, reference_config, runs, keep)
    scores = sorted((r["summary"][METRIC] for r in counted(runs)), reverse=True)
    cutoff = scores[min(keep, len(scores)) - 1]
    surely_in = [r for r in counted(runs) if r["summary"][METRIC] > cutoff]
    maybe_in = [r for r in counted(runs) if r["summary"][METRIC] >= cutoff]
    for name, old in reference_config["parameters"].items():
        if "values" not in old:
            continue
        got = result["parameters"][name]["values"]
        kept = set(typed(got))
        must = set(typed(r["config"][name] for r in surely_in))
        may = set(typed(r["config"][name] for r in maybe_in))
        in_order = [v for v in old["values"] if (type(v).__name__, v) in kept]
        if not must <= kept <= may or typed(got) != typed(in_order):
            fail(
                f"narrow(config, <{len(runs)} runs>, keep={keep})",
                f"{name} values {got!r}",
                f"the values of the best {keep} finished runs, in the old order: all of "
                f"{sorted(v for _, v in must)!r}, nothing outside {sorted(v for _, v in may)!r}",
            )


def test_continuous_ranges_shrink_around_the_best_runs(sweep_config, reference_config):
    runs = [
        {
            "status": "finished",
            "summary": {METRIC: 0.9 - i / 100},
            "config": {
                **{k: v[0] for k, v in DISCRETE.items()},
                "learningRate": 1e-3 * (1 + i / 10),
                "dropoutProbability": 0.3 + i / 100,
            },
        }
        for i in range(5)
    ]
    result = narrowed(sweep_config, reference_config, runs, keep=5)["parameters"]
    called = "narrow(config, <5 runs with learning rates 1e-3..1.4e-3, dropout 0.30..0.34>)"
    # The docstring's rule exactly: the best runs' range widened by 10% of the old width on
    # each side (log10 for the learning rate: the old width is 3 decades, so 0.3 decades),
    # clipped to the old range. rel_tol 1e-9 leaves room for any log base and rounding.
    log_low, log_high = math.log10(1e-3) - 0.3, math.log10(1.4e-3) + 0.3
    expected = {
        "learningRate": (10**log_low, 10**log_high),
        "dropoutProbability": (0.30 - 0.08, 0.34 + 0.08),
    }
    for name, (low, high) in expected.items():
        got = result[name]
        if not all(
            math.isclose(got.get(k, math.nan), v, rel_tol=1e-9)
            for k, v in (("min", low), ("max", high))
        ):
            fail(
                called,
                f"{name} range [{got.get('min')!r}, {got.get('max')!r}]",
                f"[{low:.6g}, {high:.6g}]: the best runs' range widened by 10% of the old "
                "width on each side" + (" on a log10 scale" if name == "learningRate" else ""),
            )


@given(data=st.data())
def test_failed_and_unmeasured_runs_are_ignored(sweep_config, reference_config, data):
    runs = data.draw(stage_results(reference_config))
    noise = data.draw(sweep_runs(reference_config, METRIC))
    # Runs that failed, crashed or lack a finite metric, with tempting metrics.
    ignored = [dict(r, summary={METRIC: 1.0}) for r in noise if r["status"] != "finished"]
    ignored += [
        dict(r, status="finished", summary={METRIC: bad})
        for r in noise
        for bad in (float("nan"), float("inf"))
    ]
    ignored += [dict(r, status="finished", summary={}) for r in noise]
    if narrowed(sweep_config, reference_config, runs + ignored) != narrowed(
        sweep_config, reference_config, runs
    ):
        fail(
            f"narrow(config, <runs> + <{len(ignored)} failed or unmeasured runs>)",
            "a different configuration than without them",
            "failed runs and runs without a finite metric ignored",
        )


@pytest.mark.parametrize("statuses", [[], ["failed", "crashed"], ["running"]])
def test_no_counting_run_raises_a_clear_error(sweep_config, reference_config, statuses):
    runs = [{"status": s, "config": {}, "summary": {METRIC: 0.9}} for s in statuses]
    try:
        result = sweep_config.narrow(reference_config, runs, 5)
    except ValueError as error:
        if not str(error).strip() or str(error) == "None":
            fail(
                f"narrow(config, runs with statuses {statuses})",
                f"ValueError({str(error)!r})",
                "a ValueError whose message says why (no finished run with a finite metric)",
            )
        return
    fail(
        f"narrow(config, runs with statuses {statuses})",
        describe(result),
        "ValueError: there is no finished run to narrow around",
    )


@given(data=st.data(), keep=st.integers(1, 6))
def test_a_metric_to_minimise_keeps_the_lowest_runs(sweep_config, reference_config, data, keep):
    # narrow follows config["metric"]["goal"]: a later stage may minimise a loss.
    config = {**reference_config, "metric": {"name": METRIC, "goal": "minimize"}}
    runs = data.draw(stage_results(reference_config))
    result = narrowed(sweep_config, config, runs, keep)
    best = min(counted(runs), key=lambda r: r["summary"][METRIC])
    for name, spec in result["parameters"].items():
        value = best["config"][name]
        inside = (
            (type(value).__name__, value) in set(typed(spec["values"]))
            if "values" in spec
            else at_most(spec["min"], value) and at_most(value, spec["max"])
        )
        if not inside:
            fail(
                f"narrow(config with goal 'minimize', <{len(runs)} runs>, keep={keep})",
                f"{name}: {spec!r}",
                f"a space holding the run with the lowest {METRIC}, whose {name} is {value!r}",
            )


@given(data=st.data())
def test_the_defaults_keep_five_and_maximise(sweep_config, reference_config, data):
    # keep defaults to 5, and a metric without a "goal" is maximised (W&B's default).
    runs = data.draw(stage_results(reference_config))
    no_goal = {**reference_config, "metric": {"name": METRIC}}
    called = f"narrow(config, <{len(runs)} runs>)"
    if narrowed(sweep_config, reference_config, runs, 5) != sweep_config.narrow(
        reference_config, copy.deepcopy(runs)
    ):
        fail(called, "a different result than with keep=5", "keep=5 by default")
    explicit = narrowed(sweep_config, reference_config, runs, 5)["parameters"]
    if sweep_config.narrow(no_goal, copy.deepcopy(runs), 5)["parameters"] != explicit:
        fail(
            called + " with a metric that has no 'goal'",
            "another result than with goal 'maximize'",
            "the metric maximised, W&B's default goal",
        )


def test_a_parameter_no_best_run_has_keeps_its_old_range(sweep_config, reference_config):
    runs = [
        {
            "status": "finished",
            "summary": {METRIC: 0.8},
            "config": {k: v[0] for k, v in DISCRETE.items()} | {"learningRate": 1e-3},
        }
    ]
    result = narrowed(sweep_config, reference_config, runs)["parameters"]
    if result.get("dropoutProbability") != reference_config["parameters"]["dropoutProbability"]:
        fail(
            "narrow(config, <a run without dropoutProbability in its config>)",
            f"dropoutProbability {result.get('dropoutProbability')!r}",
            f"{reference_config['parameters']['dropoutProbability']!r}: unchanged, no run "
            "says anything about it",
        )
