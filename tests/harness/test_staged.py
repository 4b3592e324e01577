"""The staged coarse-to-fine search, with a fast fake trial instead of training."""

import math

from kata.staged import DEFAULT_STAGES, Stage, best_run, run_staged

STAGES = (
    Stage("coarse", "random", epochs=0.25, count=12),
    Stage("narrow", "bayes", epochs=2, count=4, keep=4),
    Stage("fine", "bayes", epochs=3, count=2, keep=2),
)


class FakeTrial:
    """Accuracy peaks at a learning rate of 1e-3 with ReLU; sigmoid does not learn."""

    def __init__(self):
        self.calls = []

    def __call__(self, params, report):
        self.calls.append(params)
        if params["activationFunction"] == "sigmoid":
            return {"status": "failed", "reason": "at chance", "summary": {}}
        score = 0.9 - 0.1 * abs(math.log10(params["learningRate"]) + 3)
        score -= 0.05 * (params["activationFunction"] == "tanh")
        for epoch in range(1, math.ceil(params["numberEpochs"]) + 1):
            now = score - 0.1 / epoch
            if report({"epoch": epoch, "val_accuracy": now}):
                return {"status": "stopped", "reason": "early", "summary": {"val_accuracy": now}}
        return {"status": "finished", "reason": None, "summary": {"val_accuracy": score}}


def run(tmp_path, trial, **kwargs):
    return run_staged(
        tmp_path / "search", trial, stages=STAGES, wandb_mode="disabled", progress=False, **kwargs
    )


def test_each_stage_narrows_the_previous_one_and_fixes_its_epochs(tmp_path):
    trial = FakeTrial()
    results = run(tmp_path, trial)
    assert [r.stage.name for r in results] == ["coarse", "narrow", "fine"]
    for result in results:
        assert {r.params["numberEpochs"] for r in result.runs} == {result.stage.epochs}
    for earlier, later in zip(results, results[1:], strict=False):
        for name, spec in later.config["parameters"].items():
            old = earlier.config["parameters"][name]
            if "values" in spec:
                assert set(map(str, spec["values"])) <= set(map(str, old["values"]))
            elif "min" in spec:
                assert old["min"] <= spec["min"] <= spec["max"] <= old["max"]
    # sigmoid never finishes, so the narrowing drops it after the coarse stage
    later_activations = {r.params["activationFunction"] for r in results[2].runs}
    assert "sigmoid" not in later_activations
    best = best_run(results)
    assert best is not None and best in results[-1].runs


def test_a_rerun_resumes_without_repeating_a_trial(tmp_path):
    trial = FakeTrial()
    first = run(tmp_path, trial)
    calls = len(trial.calls)
    again = run(tmp_path, trial)
    assert len(trial.calls) == calls
    assert [len(r.runs) for r in again] == [len(r.runs) for r in first]
    assert [r.config for r in again] == [r.config for r in first]


def test_no_finished_trial_stops_the_search_before_narrowing(tmp_path):
    def always_fails(params, report):
        return {"status": "failed", "reason": "diverged", "summary": {}}

    results = run(tmp_path, always_fails)
    assert [r.stage.name for r in results] == ["coarse"]
    assert best_run(results) is None


def test_the_default_plan_goes_coarse_then_narrow_then_fine():
    assert [s.name for s in DEFAULT_STAGES] == ["coarse", "narrow", "fine"]
    assert DEFAULT_STAGES[0].epochs <= 1 and DEFAULT_STAGES[0].method == "random"
    assert [s.epochs for s in DEFAULT_STAGES[1:]] == [5, 10]
    assert math.isclose(sum(s.budget_share for s in DEFAULT_STAGES), 1.0)
