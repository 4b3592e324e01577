"""The local sweep engine (kata/sweep/) with fast fake trials, real agent processes and
the sweeps package's traps."""

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from kata.sweep import (
    MAX_CONSECUTIVE_ERRORS,
    STATE_FILE,
    LocalSweep,
    RunRecord,
    StateError,
    SweepConfigError,
    SweepError,
    SweepWarning,
    TrialsKeepFailing,
    _engine_config,
    check_outcome,
    default_agents,
    run_agents,
    runs_to_upload,
    training_trial_fn,
    validate_config,
)

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("sweep_worker.py")

SEARCH_PARAMETERS = {
    "learningRate": {"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-1},
    "dropoutProbability": {"distribution": "uniform", "min": 0.0, "max": 0.8},
    "numberHiddenLayers": {"distribution": "int_uniform", "min": 1, "max": 4},
    "activationFunction": {"values": ["sigmoid", "tanh", "ReLU"]},
    "rotation": {"values": [True, False]},
}


def config(method="random", parameters=None, goal="maximize", metric="score", **extra):
    return {
        "method": method,
        "metric": {"name": metric, "goal": goal},
        "parameters": parameters or SEARCH_PARAMETERS,
        **extra,
    }


def grid(n, **extra):
    return config("grid", {"x": {"values": list(range(n))}}, **extra)


def sweep(path, cfg, **kwargs):
    return LocalSweep(path, cfg, wandb_mode="disabled", **kwargs)


def done(score, **summary):
    return {"status": "finished", "reason": None, "summary": {"score": score, **summary}}


def quick(params, report):
    return done(0.5)


def read_state(path: Path) -> dict:
    def refuse(constant):
        raise ValueError(f"{constant} in the state file is not JSON")

    return json.loads((path / STATE_FILE).read_text(), parse_constant=refuse)


# --- validation ----------------------------------------------------------------------------


def test_a_valid_configuration_has_no_problems():
    assert validate_config(config("bayes")) == []
    hyperband = {"type": "hyperband", "min_iter": 1, "eta": 2}
    assert validate_config(grid(3, early_terminate=hyperband)) == []


def test_validate_config_lists_every_violation_at_once():
    bad = {
        "method": "grod",
        "metric": {"name": "score", "goal": "max"},
        "parameters": {
            "lr": {"min": 0.1, "max": 0.01},
            "size": {"values": []},
            "drop": {"distribution": "uniform", "min": 0.0},
        },
        "early_terminate": {"type": "hyperband"},
        "colour": "blue",
    }
    problems = validate_config(bad)
    text = "\n".join(problems)
    for where in ("method", "metric.goal", "parameters.size", "parameters.drop", "colour"):
        assert where in text, where
    assert "lr: min 0.1 is not less than max 0.01" in problems  # reported once, not twice
    assert "should be non-empty" in text  # the closest kind of parameter explains `size`
    assert "'max' is a required property" in text  # ... and `drop`
    assert "max_iter" in text or "min_iter" in text  # ... and early_terminate
    assert len(problems) >= 6
    with pytest.raises(SweepConfigError) as raised:
        LocalSweep(Path("/nonexistent/never-created"), bad, wandb_mode="disabled")
    assert raised.value.problems == problems


def test_what_the_local_engine_cannot_run_is_listed_too():
    problems = validate_config(config("grid"))  # continuous ranges cannot make a grid
    assert any("parameters.learningRate" in p and "grid" in p for p in problems)
    no_metric = {"method": "bayes", "parameters": SEARCH_PARAMETERS}
    assert any("metric" in p for p in validate_config(no_metric))
    weighted = {"a": {"values": [1, 2], "probabilities": [0.5, 0.5]}, **SEARCH_PARAMETERS}
    assert any("probabilities" in p for p in validate_config(config("bayes", weighted)))
    assert validate_config(config("random", weighted)) == []
    assert validate_config([1, 2]) and validate_config({"method": "grid", "parameters": 3})


# --- proposals -----------------------------------------------------------------------------


def test_grid_runs_every_point_once_then_stops(tmp_path):
    cfg = config("grid", {"a": {"values": [1, 2]}, "b": {"values": ["u", "v", "w"]}})
    s = sweep(tmp_path, cfg)
    records = s.run(quick, progress=False)
    points = [(r.params["a"], r.params["b"]) for r in records]
    assert sorted(points) == [(a, b) for a in (1, 2) for b in ("u", "v", "w")]
    assert all(r.state == "finished" for r in records)
    assert s.run(quick, progress=False) == []  # exhausted, also for a later call
    assert len(s.runs()) == 6


@pytest.mark.parametrize("method, count", [("random", 8), ("bayes", 5)])
def test_random_and_bayes_propose_plain_values_within_the_ranges(tmp_path, method, count):
    seen = []

    def trial(params, report):
        seen.append(params)
        json.dumps(params)  # plain Python values (trap 3): numpy scalars would not serialise
        return done(params["dropoutProbability"])

    sweep(tmp_path, config(method)).run(trial, count=count, progress=False)
    assert len(seen) == count
    for p in seen:
        assert type(p["learningRate"]) is float and 1e-4 <= p["learningRate"] <= 1e-1
        assert type(p["dropoutProbability"]) is float and 0 <= p["dropoutProbability"] <= 0.8
        assert type(p["numberHiddenLayers"]) is int and 1 <= p["numberHiddenLayers"] <= 4
        assert p["activationFunction"] in ("sigmoid", "tanh", "ReLU")
        assert type(p["rotation"]) is bool
    assert len({p["learningRate"] for p in seen}) == count


def test_count_is_a_total_over_resumes_and_run_cap_is_honoured(tmp_path):
    assert len(sweep(tmp_path / "a", config()).run(quick, count=3, progress=False)) == 3
    again = sweep(tmp_path / "a", config())
    assert len(again.run(quick, count=5, progress=False)) == 2
    assert again.run(quick, count=5, progress=False) == []
    assert len(again.runs()) == 5
    capped = sweep(tmp_path / "b", config(run_cap=2))
    assert len(capped.run(quick, progress=False)) == 2


def test_no_trial_starts_after_the_time_budget(tmp_path):
    def slow(params, report):
        time.sleep(0.15)
        return done(0.5)

    s = sweep(tmp_path, config())
    assert s.run(slow, count=5, budget_seconds=0, progress=False) == []
    started = time.time()
    records = s.run(slow, count=50, budget_seconds=0.4, progress=False)
    assert 1 <= len(records) <= 4
    assert all(r.started_at <= started + 0.4 + 0.1 for r in records)


def test_a_proposal_the_estimate_says_will_not_fit_is_skipped(tmp_path, capsys):
    s = sweep(tmp_path, grid(4), stage="fine")
    costly = lambda params, runs: 100.0 if params["x"] in (1, 3) else 1.0  # noqa: E731
    records = s.run(quick, budget_seconds=50, estimate=costly, progress=True)
    assert [r.params["x"] for r in records] == [0, 2]
    assert [r.params["x"] for r in s.runs()] == [0, 2]
    assert [r["state"] for r in read_state(tmp_path)["runs"]] == [
        "finished",
        "skipped",
        "finished",
        "skipped",
    ]
    assert "[fine] skipped: would take about 100 s, 50 s are left" in capsys.readouterr().out
    everything = lambda params, runs: 100.0  # noqa: E731
    other = sweep(tmp_path / "other", config())
    assert other.run(quick, budget_seconds=50, estimate=everything, progress=False) == []
    assert len(read_state(tmp_path / "other")["runs"]) == 3  # three skips in a row end it


def test_the_metric_target_ends_the_sweep(tmp_path):
    cfg = grid(6)
    cfg["metric"]["target"] = 0.2
    records = sweep(tmp_path, cfg).run(lambda p, r: done(p["x"] / 10), progress=False)
    assert [r.params["x"] for r in records] == [0, 1, 2]


# --- failures ------------------------------------------------------------------------------


def test_failed_and_raising_trials_are_recorded_and_the_sweep_goes_on(tmp_path):
    def trial(params, report):
        x = params["x"]
        report({"epoch": 1, "score": 0.1})
        if x == 1:
            raise ValueError("boom")
        if x == 2:
            return {"status": "failed", "reason": "diverged", "summary": {}}
        if x == 3:
            return "not a dict"
        if x == 4:
            return {"status": "done", "summary": {"score": 0.3}}
        return done(0.9)

    s = sweep(tmp_path, grid(6))
    records = s.run(trial, progress=False)
    by_x = {r.params["x"]: r for r in records}
    assert [by_x[x].state for x in range(6)] == ["finished"] + ["failed"] * 4 + ["finished"]
    assert by_x[1].reason == "ValueError: boom"
    assert "boom" in read_state(tmp_path)["runs"][1]["traceback"]
    assert by_x[2].reason == "diverged"
    assert "returned str" in by_x[3].reason
    assert "'done'" in by_x[4].reason
    assert s.best().params["x"] == 0  # the first of the best


def test_a_summary_without_the_metric_fails_loudly_and_nan_never_counts(tmp_path):
    """Trap 2: the package imputes a missing or NaN metric silently (0.0)."""
    from sweeps import RunState, SweepRun
    from sweeps.bayes_search import ImputeStrategy, impute

    silent = impute("minimize", "loss", ImputeStrategy.best, run=SweepRun(state=RunState.failed))
    assert silent == 0.0  # what the package does: the *best* loss for a run with no loss

    outcomes = {
        0: {"status": "finished", "summary": {"loss": 0.5}},
        1: {"status": "finished", "summary": {"los": 0.1}},  # misspelt
        2: {"status": "stopped", "summary": {"loss": float("nan")}},
        3: {"status": "finished", "summary": {"loss": 0.7}},
    }

    def trial(params, report):
        report({"epoch": 1, "loss": float("nan")})
        return outcomes[params["x"]]

    cfg = config("grid", {"x": {"values": [0, 1, 2, 3]}}, goal="minimize", metric="loss")
    s = sweep(tmp_path, cfg)
    with pytest.warns(SweepWarning, match="'loss'") as caught:
        s.run(trial, progress=False)
    assert len(caught) == 2
    runs = s.runs()
    assert [r.state for r in runs] == ["finished", "failed", "failed", "finished"]
    assert "no 'loss'" in runs[1].reason and "misspelt" in runs[1].reason
    assert "not a finite number" in runs[2].reason
    assert runs[0].history == [{"epoch": 1, "loss": "NaN"}]  # stored as valid JSON
    assert s.best().params["x"] == 0

    # What bayes would see: no NaN anywhere; the failed runs get the worst loss, not 0.0.
    bayes = LocalSweep(tmp_path / "b", {**cfg, "method": "bayes"}, wandb_mode="disabled")
    views = bayes._engine_runs(read_state(tmp_path)["runs"], for_search=True)
    assert [v.summary_metrics["loss"] for v in views] == [0.5, 0.7, 0.7, 0.7]
    for view in views:
        assert all(np.isfinite(h["loss"]) for h in view.history if "loss" in h)


def test_check_outcome_refuses_what_a_trial_should_not_return():
    assert check_outcome(done(0.5), "score") == ("finished", None, {"score": 0.5})
    assert check_outcome(done(np.float32(0.5)), "score")[2] == {"score": 0.5}
    assert check_outcome({"status": "stopped", "summary": {}}, "score")[0] == "failed"
    assert check_outcome({"status": "failed", "reason": 3}, "score") == ("failed", "3", {})
    assert check_outcome({"status": "finished", "summary": []}, "score")[0] == "failed"
    assert check_outcome({"status": "finished"}, None) == ("finished", None, {})


def test_the_state_file_is_valid_after_every_trial(tmp_path):
    checked = []

    def trial(params, report):
        state = read_state(tmp_path)  # raises on NaN or half-written JSON
        current = state["runs"][-1]
        assert current["state"] == "running" and current["params"] == params
        assert all(r["state"] == "finished" and r["summary"] for r in state["runs"][:-1])
        report({"epoch": 1, "score": float("nan"), "train_loss": float("inf")})
        assert read_state(tmp_path)["runs"][-1]["history"][-1]["train_loss"] == "Infinity"
        checked.append(params["x"])
        return done(params["x"])

    sweep(tmp_path, grid(4)).run(trial, progress=False)
    assert checked == [0, 1, 2, 3]
    assert [r["state"] for r in read_state(tmp_path)["runs"]] == ["finished"] * 4
    assert not list(tmp_path.glob(f".{STATE_FILE}.*"))  # no temporary file left behind


def test_progress_prints_one_line_per_trial(tmp_path, capsys):
    sweep(tmp_path / "a", grid(3), stage="coarse").run(lambda p, r: done(p["x"] / 4), progress=True)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    assert lines[2].startswith("[coarse] trial 3: x=2 -> finished score=0.5")
    sweep(tmp_path / "b", grid(3)).run(
        lambda p, r: done(0.5), count=2, budget_seconds=600, progress=True
    )
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].startswith("[sweep] trial 2/2: x=1")
    assert lines[1].endswith("s left in the budget]")
    assert int(lines[1].rsplit("[", 1)[1].split()[0]) in range(590, 601)


def test_best_follows_the_goal(tmp_path):
    trial = lambda p, r: done(p["x"])  # noqa: E731
    assert sweep(tmp_path / "max", grid(3)).run(trial, progress=False)
    assert sweep(tmp_path / "max", grid(3)).best().params == {"x": 2}
    cfg = grid(3)
    cfg["metric"]["goal"] = "minimize"
    minimize = sweep(tmp_path / "min", cfg)
    assert minimize.best() is None
    minimize.run(trial, progress=False)
    assert minimize.best().params == {"x": 0}


# --- trap 1: falsy categorical values ---------------------------------------------------------


def test_bayes_tells_false_from_true(tmp_path):
    from sweeps import SweepRun
    from sweeps.params import HyperParameterSet

    # The trap, in sweeps 0.3.0: a falsy value is encoded like the first value.
    flags = {"flag": {"values": [True, False]}}
    raw = HyperParameterSet.from_config(flags)
    runs = [SweepRun(config={"flag": {"value": v}}) for v in (True, False)]
    encoded = raw.normalize_runs_as_array(runs)
    assert encoded[0][0] == encoded[1][0]  # True and False look the same to bayes

    four = {name: {"values": [True, False]} for name in ("a", "b", "c", "d")}
    four["lr"] = {"min": 0.0, "max": 1.0}
    seen = []

    def trial(params, report):
        seen.append(params)
        return done(sum(not params[k] for k in "abcd") + params["lr"])

    s = sweep(tmp_path, config("bayes", four))
    s.run(trial, count=5, progress=False)
    assert all(type(p[k]) is bool for p in seen for k in "abcd")
    params = HyperParameterSet.from_config(_engine_config(s.config)["parameters"])
    state = read_state(tmp_path)
    views = s._engine_runs(state["runs"], for_search=True)
    rows = params.normalize_runs_as_array(views)
    for k in "abcd":
        column = params.param_names_to_index[k]
        by_value = {}
        for run, row in zip(state["runs"], rows, strict=True):
            by_value.setdefault(run["params"][k], set()).add(row[column])
        if len(by_value) == 2:  # both values proposed: they must be encoded differently
            assert by_value[True].isdisjoint(by_value[False])


def test_zero_and_nested_values_decode_to_what_the_configuration_says(tmp_path):
    cfg = config(
        "grid",
        {
            "n": {"values": [0, 1, True, None]},
            "opt": {"parameters": {"name": {"values": ["", "adam"]}, "beta": {"value": 0.9}}},
        },
    )
    got = [r.params for r in sweep(tmp_path, cfg).run(quick, progress=False)]
    assert len(got) == 8
    assert [type(p["n"]) for p in got[:4:2]] == [int, int]  # 0 and 1 stay ints, True a bool
    assert {(repr(p["n"]), p["opt"]["name"]) for p in got} == {
        (n, name) for n in ("0", "1", "True", "None") for name in ("", "adam")
    }
    assert all(p["opt"]["beta"] == 0.9 for p in got)


# --- trap 4: random state ------------------------------------------------------------------


def proposals(path, cfg, seed, count, trial=quick):
    sweep(path, cfg, seed=seed).run(trial, count=count, progress=False)
    return [r.params for r in sweep(path, cfg, seed=seed).runs()]


def test_a_seeded_sweep_proposes_the_same_runs_again_across_a_resume(tmp_path):
    first = proposals(tmp_path / "a", config(), seed=3, count=5)
    assert proposals(tmp_path / "b", config(), seed=3, count=5) == first
    assert proposals(tmp_path / "c", config(), seed=4, count=5) != first
    proposals(tmp_path / "d", config(), seed=3, count=2)  # interrupted after two ...
    assert proposals(tmp_path / "d", config(), seed=3, count=5) == first  # ... then resumed


def test_bayes_with_the_same_seed_proposes_the_same_runs(tmp_path):
    def trial(params, report):
        return done(params["dropoutProbability"] - params["learningRate"])

    first = proposals(tmp_path / "a", config("bayes"), seed=1, count=4, trial=trial)
    assert proposals(tmp_path / "b", config("bayes"), seed=1, count=4, trial=trial) == first


def test_the_engine_and_the_trials_keep_their_random_streams_apart(tmp_path):
    drawn = []

    def greedy(params, report):
        drawn.append((random.random(), float(np.random.rand())))
        for _ in range(100):
            random.random(), np.random.rand()
        return done(0.5)

    random.seed(7)
    np.random.seed(7)
    greedy_proposals = proposals(tmp_path / "a", config(), seed=0, count=4, trial=greedy)
    random.seed(7)
    np.random.seed(7)
    expected = []
    for _ in range(4):
        expected.append((random.random(), float(np.random.rand())))
        for _ in range(100):
            random.random(), np.random.rand()
    assert drawn == expected  # the engine's draws did not touch the trials' stream
    assert proposals(tmp_path / "b", config(), seed=0, count=4) == greedy_proposals


# --- trap 5 and early termination ------------------------------------------------------------

CURVES = {  # metric per epoch, by the value of the grid parameter "curve"
    "good": [0.9, 0.9, 0.9, 0.9],
    "fine": [0.85, 0.85, 0.85, 0.85],
    "bad": [0.1, 0.1, 0.1, 0.1],
    "flat": [0.5, 0.5, 0.5, 0.5],
    "fading": [0.9, 0.2, 0.2, 0.2],
}


def curve_trial(params, report):
    curve = CURVES[params["curve"]]
    for epoch, value in enumerate(curve, start=1):
        if report({"epoch": epoch, "score": value}):
            return {"status": "stopped", "reason": "hyperband", "summary": {"score": value}}
    return done(curve[-1])


def curve_sweep(path, curves, **early_terminate):
    cfg = config("grid", {"curve": {"values": curves}})
    cfg["early_terminate"] = {"type": "hyperband", **early_terminate}
    return sweep(path, cfg)


def test_hyperband_stops_a_clearly_bad_run_after_its_first_epoch(tmp_path):
    s = curve_sweep(tmp_path, ["good", "fine", "bad"], min_iter=1, eta=2)
    good, fine, bad = s.run(curve_trial, progress=False)
    assert (good.state, fine.state) == ("finished", "finished")
    assert len(good.history) == len(fine.history) == 4
    assert bad.state == "stopped" and len(bad.history) == 1


def test_hyperband_strict_is_false_unless_the_configuration_says_so(tmp_path):
    """Trap 5: sweeps 0.3.0 defaults `strict` to True; W&B's docs say false."""
    base = config("grid", {"x": {"values": [1]}})
    missing = {**base, "early_terminate": {"type": "hyperband", "min_iter": 1}}
    assert _engine_config(missing)["early_terminate"]["strict"] is False
    strict = {**base, "early_terminate": {"type": "hyperband", "min_iter": 1, "strict": True}}
    assert _engine_config(strict)["early_terminate"]["strict"] is True
    # A run that was good once but is poor at the band: only the strict rule stops it.
    curves = ["flat", "flat", "fading"]
    lenient = curve_sweep(tmp_path / "a", curves, min_iter=2, eta=2)
    assert lenient.run(curve_trial, progress=False)[-1].state == "finished"
    strict_sweep = curve_sweep(tmp_path / "b", curves, min_iter=2, eta=2, strict=True)
    fading = strict_sweep.run(curve_trial, progress=False)[-1]
    assert fading.state == "stopped" and len(fading.history) == 2


# --- resume ----------------------------------------------------------------------------------


def test_a_different_configuration_or_seed_on_disk_is_refused(tmp_path):
    sweep(tmp_path, grid(3)).run(quick, count=1, progress=False)
    with pytest.raises(SweepError, match="different configuration.*parameters"):
        sweep(tmp_path, grid(4))
    with pytest.raises(SweepError, match="seed 0, not 5"):
        sweep(tmp_path, grid(3), seed=5)
    assert len(sweep(tmp_path, grid(3)).runs()) == 1


def test_an_interrupted_trial_is_put_back_and_rerun_with_the_same_params(tmp_path):
    calls = []

    def trial(params, report):
        calls.append(params["x"])
        report({"epoch": 1, "score": 0.0})
        if params["x"] == 1 and calls.count(1) == 1:
            raise KeyboardInterrupt
        return done(params["x"])

    s = sweep(tmp_path, grid(3))
    with pytest.raises(KeyboardInterrupt):
        s.run(trial, progress=False)
    interrupted = s.runs()[1]
    assert interrupted.state == "proposed" and "KeyboardInterrupt" in interrupted.reason
    records = s.run(trial, progress=False)
    assert [r.params["x"] for r in records] == [1, 2]
    assert records[0].attempts == 2 and records[0].history == [{"epoch": 1, "score": 0.0}]
    assert calls == [0, 1, 1, 2]
    assert [r.state for r in s.runs()] == ["finished"] * 3


def worker_env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return env


def worker(directory, *args):
    return [sys.executable, str(WORKER), str(directory), *map(str, args)]


def wait_for(predicate, process, timeout=60.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            if predicate():
                return
        except (FileNotFoundError, json.JSONDecodeError, KeyError, IndexError):
            pass
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "SIGINT"])
def test_a_killed_agent_resumes_without_losing_or_repeating_a_trial(tmp_path, sig):
    events = tmp_path / "events.txt"
    command = worker(tmp_path / "sweep", "--grid", 5, "--epochs", 4, "--sleep", 0.08)
    command += ["--events", str(events)]

    def mid_trial():
        runs = read_state(tmp_path / "sweep")["runs"]
        finished = [r for r in runs if r["state"] == "finished"]
        return len(finished) >= 2 and runs[-1]["state"] == "running" and runs[-1]["history"]

    process = subprocess.Popen(
        command, env=worker_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        wait_for(mid_trial, process)
        process.send_signal(sig)
        process.communicate(timeout=30)
    finally:
        process.kill()
    before = read_state(tmp_path / "sweep")["runs"]
    assert process.returncode == (-9 if sig == signal.SIGKILL else 130)
    interrupted = [r for r in before if r["state"] not in ("finished",)]
    assert len(interrupted) == 1
    assert interrupted[0]["state"] == ("running" if sig == signal.SIGKILL else "proposed")

    result = subprocess.run(command, env=worker_env(), capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr.decode()
    after = read_state(tmp_path / "sweep")["runs"]
    assert sorted(r["params"]["x"] for r in after) == [0, 1, 2, 3, 4]
    assert all(r["state"] == "finished" and len(r["history"]) == 4 for r in after)
    for old in before:
        if old["state"] == "finished":
            assert after[old["index"]] == old  # not lost, not repeated
    rerun = after[interrupted[0]["index"]]
    assert rerun["params"] == interrupted[0]["params"] and rerun["attempts"] == 2
    lines = [line.split()[:2] for line in events.read_text().splitlines()]
    x = str(rerun["params"]["x"])
    assert lines.count(["start", x]) == 2 and lines.count(["end", x]) == 1
    for other in {"0", "1", "2", "3", "4"} - {x}:
        assert lines.count(["start", other]) == lines.count(["end", other]) == 1


@pytest.mark.parametrize("count", [None, 5])
def test_two_agent_processes_share_one_sweep(tmp_path, count):
    command = worker(tmp_path / "sweep", "--grid", 8, "--epochs", 2, "--sleep", 0.1)
    command += ["--barrier", str(tmp_path / "barrier"), "--agents", "2"]
    if count is not None:
        command += ["--count", str(count)]
    agents = [subprocess.Popen(command, env=worker_env(), stderr=subprocess.PIPE) for _ in "ab"]
    for agent in agents:
        _, err = agent.communicate(timeout=60)
        assert agent.returncode == 0, err.decode()
    runs = read_state(tmp_path / "sweep")["runs"]
    xs = [r["params"]["x"] for r in runs]
    assert len(xs) == len(set(xs)) == (count or 8)  # no grid point twice, count not exceeded
    assert all(r["state"] == "finished" and r["attempts"] == 1 for r in runs)
    assert len({r["agent"] for r in runs}) == 2  # both agents ran trials
    assert not list((tmp_path / "sweep" / "agents").iterdir())  # agents cleaned up


# --- wandb -----------------------------------------------------------------------------------


def test_each_trial_is_one_offline_wandb_run(tmp_path, monkeypatch):
    wandb = pytest.importorskip("wandb")
    for name in ("WANDB_CONFIG_DIR", "WANDB_CACHE_DIR", "WANDB_DATA_DIR"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    monkeypatch.setenv("WANDB_SILENT", "true")
    s = LocalSweep(tmp_path / "sweep", grid(2), name="coarse", stage="coarse")
    try:
        records = s.run(lambda p, r: r({"epoch": 1, "score": 0.5}) or done(0.5), progress=False)
    finally:
        wandb.teardown()
    assert [r.state for r in records] == ["finished", "finished"]
    offline = sorted((tmp_path / "sweep" / "wandb").glob("offline-run-*"))
    assert len(offline) == 2
    assert {r.wandb_run_id for r in records} == {p.name.rsplit("-", 1)[1] for p in offline}


def test_each_trial_s_wandb_run_carries_the_sweep_s_id_stage_tags_and_constants(
    tmp_path, monkeypatch
):
    wandb = pytest.importorskip("wandb")
    calls = []

    class FakeRun:
        id, summary = "fake", {}

        def log(self, metrics):
            pass

        def finish(self, exit_code=None):
            pass

    monkeypatch.setattr(wandb, "init", lambda **kwargs: calls.append(kwargs) or FakeRun())
    constants = {"seed": 3, "train_subset": None, "implementation": "exercises", "device": "cpu"}
    s = LocalSweep(tmp_path / "sweep", grid(3), wandb_mode="offline", wandb_config=constants)
    s.run(quick, count=2, progress=False)
    assert len(s.id) == 32 and read_state(tmp_path / "sweep")["id"] == s.id
    assert [c["group"] for c in calls] == [s.id, s.id]
    assert [c["job_type"] for c in calls] == ["sweep", "sweep"]
    assert calls[0]["tags"] == ["grid"]
    assert [c["name"] for c in calls] == ["sweep-0000", "sweep-0001"]
    assert calls[1]["config"] == {"x": 1, **constants}
    again = LocalSweep(tmp_path / "sweep", grid(3), stage="fine", wandb_mode="offline")
    again.run(quick, progress=False)
    assert again.id == s.id and calls[2]["group"] == s.id  # a resumed sweep keeps its group
    assert calls[2]["job_type"] == "fine" and calls[2]["tags"] == ["grid", "fine"]
    named = LocalSweep(tmp_path / "other", grid(1), group="job-42", wandb_mode="offline")
    named.run(quick, progress=False)
    assert calls[3]["group"] == "job-42" and named.id != s.id


# --- the kata's training -----------------------------------------------------------------------


def test_training_trial_fn_runs_a_tiny_real_trial(tmp_path):
    pytest.importorskip("torch")
    from tests.harness.synthetic import learnable_split

    train, validation = learnable_split(320, seed=1), learnable_split(100, seed=2)
    parameters = {
        "hiddenLayerSize": {"value": 16},
        "numberEpochs": {"value": 2},
        "batchSize": {"value": 32},
        "learningRate": {"values": [3e-3, -1.0]},
    }
    cfg = config("grid", parameters, metric="val_accuracy")
    s = sweep(tmp_path, cfg)
    good, bad = s.run(training_trial_fn(train, validation, seed=0), progress=False)
    assert good.state == "finished" and good.metric > 0.5
    assert [h["epoch"] for h in good.history] == [1, 2]
    assert good.history[-1]["val_accuracy"] == good.metric
    keys = {"epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy"}
    assert all(keys <= set(h) for h in good.history)
    assert good.seconds > 0 and good.params["numberEpochs"] == 2
    assert bad.state == "failed" and "learningRate=-1.0" in bad.reason


@pytest.mark.parametrize(
    "epochs, state, trained",
    [(1, "finished", 1), (0.5, "finished", 1), (2, "stopped", 1), (2.5, "stopped", 1)],
)
def test_a_trial_that_trained_all_its_epochs_is_finished_even_if_told_to_stop(
    epochs, state, trained
):
    """Hyperband may pick a run at a rung that is its last epoch: nothing is left to stop."""
    from tests.harness.synthetic import learnable_split

    trial = training_trial_fn(learnable_split(300, seed=1), learnable_split(50, seed=2))
    reports = []

    def always_stop(metrics):
        reports.append(metrics)
        return True

    params = {"hiddenLayerSize": 16, "batchSize": 30, "learningRate": 1e-2, "numberEpochs": epochs}
    outcome = trial(params, always_stop)
    assert outcome["status"] == state and outcome["summary"]["epochs"] == trained
    assert len(reports) == trained


def test_a_hyperband_stop_at_the_last_epoch_leaves_the_run_finished(tmp_path):
    from tests.harness.synthetic import learnable_split

    train, validation = learnable_split(300, seed=1), learnable_split(50, seed=2)
    parameters = {
        "hiddenLayerSize": {"value": 16},
        "batchSize": {"value": 30},
        "numberEpochs": {"value": 1},
        "learningRate": {"values": [1e-2, 3e-3, 3e-4]},  # the last learns least in one epoch
    }
    cfg = config("grid", parameters, metric="val_accuracy")
    cfg["early_terminate"] = {"type": "hyperband", "min_iter": 1, "eta": 2}
    s = sweep(tmp_path, cfg)
    good, fine, poor = s.run(training_trial_fn(train, validation), progress=False)
    assert poor.metric < min(good.metric, fine.metric)
    assert read_state(tmp_path)["runs"][2]["should_stop"]  # hyperband picked it at epoch 1
    assert (good.state, fine.state, poor.state) == ("finished", "finished", "finished")


def _agent_pid_trial(params, report):
    time.sleep(0.05)  # long enough for both agents to take turns
    return done(0.5, pid=os.getpid())


def test_run_agents_forks_agents_that_share_the_sweep(tmp_path):
    s = sweep(tmp_path, grid(8))
    run_agents(s, _agent_pid_trial, agents=2, progress=False)
    runs = s.runs()
    assert sorted(r.params["x"] for r in runs) == list(range(8))
    assert all(r.state == "finished" for r in runs)
    pids = {r.summary["pid"] for r in runs}
    assert len(pids) == 2 and os.getpid() not in pids


def test_one_agent_runs_in_this_process(tmp_path):
    s = sweep(tmp_path, grid(3))
    run_agents(s, _agent_pid_trial, agents=1, progress=False)
    assert {r.summary["pid"] for r in s.runs()} == {os.getpid()}


def test_default_agents_are_two_on_a_multicore_cpu_and_one_on_a_gpu(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert default_agents("cpu") == 2 and default_agents("cuda") == 1
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    assert default_agents("cpu") == 1


# --- errors: the trial's, the store's, and a sweep that keeps failing -----------------------------


def test_an_agent_stops_after_consecutive_errors_but_not_after_failed_results(tmp_path):
    calls = []

    def broken(params, report):
        calls.append(params["x"])
        raise RuntimeError("no such device")

    s = sweep(tmp_path / "a", grid(20))
    with pytest.raises(TrialsKeepFailing, match="5 trials in a row.*RuntimeError: no such device"):
        s.run(broken, progress=False)
    assert len(calls) == MAX_CONSECUTIVE_ERRORS == 5
    assert [r.state for r in s.runs()] == ["failed"] * 5
    malformed = sweep(tmp_path / "b", grid(20))  # a result without the metric is a bug too
    with pytest.raises(TrialsKeepFailing), pytest.warns(SweepWarning, match="misspelt"):
        malformed.run(lambda p, r: {"status": "finished", "summary": {}}, progress=False)
    diverging = sweep(tmp_path / "c", grid(8))  # failed results are the search's findings
    diverged = {"status": "failed", "reason": "diverged", "summary": {}}
    assert len(diverging.run(lambda p, r: diverged, progress=False)) == 8


def test_an_error_of_the_state_store_is_never_the_trial_s_failure(tmp_path, monkeypatch):
    from kata.sweep.store import StateStore

    s = sweep(tmp_path, grid(2))
    write = StateStore.write

    def disk_full_after_first_epoch(self, state):
        if any(run["history"] for run in state["runs"]):
            raise OSError(28, "No space left on device")
        write(self, state)

    def trial(params, report):
        report({"epoch": 1, "score": 0.5})
        return done(0.5)

    monkeypatch.setattr(StateStore, "write", disk_full_after_first_epoch)
    with pytest.raises(StateError, match="No space left on device"):
        s.run(trial, progress=False)
    monkeypatch.setattr(StateStore, "write", write)
    (run,) = read_state(tmp_path)["runs"]
    assert run["state"] == "running" and run["reason"] is None  # not "failed"
    assert [r.state for r in s.run(trial, progress=False)] == ["finished", "finished"]


def test_a_damaged_state_file_is_named_and_never_read_half_way(tmp_path):
    for text, words in [
        ("{", "not valid JSON"),
        ("[]", "it holds a list"),
        ('{"version": 1, "seed": 0, "config": {}}', "'runs' is missing"),
        ('{"version": 2, "seed": 0, "config": {}, "runs": []}', "state version 2"),
    ]:
        (tmp_path / STATE_FILE).write_text(text)
        with pytest.raises(SweepError, match=f"sweep.json is damaged: {words}"):
            sweep(tmp_path, grid(2))


# --- liveness, stale files ---------------------------------------------------------------------


def test_liveness_does_not_hinge_on_lock_files_and_stale_files_are_removed(tmp_path):
    folder = tmp_path / "sweep"
    command = worker(folder, "--grid", 3, "--epochs", 50, "--sleep", 0.1)
    process = subprocess.Popen(command, env=worker_env(), stderr=subprocess.PIPE)
    try:
        wait_for(lambda: read_state(folder)["runs"][0]["history"], process)
        for lock in (folder / "agents").glob("*.lock"):
            lock.unlink()  # a user tidying up
        s = sweep(folder, grid(3))
        assert s.running_elsewhere() == 1 and s.interrupted_runs() == []
        process.kill()
        process.wait()
        assert s.interrupted_runs() == ["sweep-0000"]  # now its trial is free to rerun
    finally:
        process.kill()
    stale = folder / "agents" / f"{socket.gethostname()}-999999999-deadbeef.lock"
    stale.touch()
    (folder / f".{STATE_FILE}.x.tmp").write_text("{half")
    s = sweep(folder, grid(3))
    assert not list(folder.glob(f".{STATE_FILE}.*"))  # a killed writer's temporary file
    s.run(quick, count=1, progress=False)
    assert not stale.exists() and list((folder / "agents").iterdir()) == []


def test_a_best_found_while_another_command_runs_trials_is_provisional(tmp_path, capsys):
    from kata.sweep_cli import _show_best

    record = RunRecord(index=0, run_id="s-0000", params={"x": 1}, state="finished", metric=0.5)
    _show_best(tmp_path, record, "best trial", running=2)
    assert "provisional: 2 trial(s) of another command still running" in capsys.readouterr().out


# --- wandb runs that tell the state's story ---------------------------------------------------


def test_an_interrupted_attempt_is_marked_and_only_ended_trials_are_uploaded(
    tmp_path, monkeypatch, capsys
):
    wandb = pytest.importorskip("wandb")
    from kata.cli import main
    from kata.wandb_log import read_offline_run

    for name in ("WANDB_CONFIG_DIR", "WANDB_CACHE_DIR", "WANDB_DATA_DIR"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    monkeypatch.setenv("WANDB_SILENT", "true")
    tries = []

    def trial(params, report):
        tries.append(params["x"])
        report({"epoch": 1, "score": 0.5})
        if tries == [0, 1]:
            raise KeyboardInterrupt
        return done(0.5)

    folder = tmp_path / "sweep"
    try:
        with pytest.raises(KeyboardInterrupt):
            LocalSweep(folder, grid(2), wandb_mode="offline").run(trial, progress=False)
        LocalSweep(folder, grid(2), wandb_mode="offline").run(trial, progress=False)
    finally:
        wandb.teardown()
    upload = runs_to_upload(folder)
    assert len(upload.runs) == 2 and len(upload.interrupted) == 1 and upload.unknown == []
    interrupted = read_offline_run(upload.interrupted[0])
    assert interrupted.preempting and interrupted.exit_code == 130
    assert interrupted.summary["sweep_status"] == "interrupted"
    assert {read_offline_run(p).summary["sweep_status"] for p in upload.runs} == {"finished"}
    assert main(["sync", str(folder), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "2 run(s) to upload" in out and "1 interrupted attempt(s)" in out
    assert sorted(out.splitlines()[1:]) == sorted(str(p) for p in upload.runs)
