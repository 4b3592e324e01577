"""The staged coarse-to-fine search, with a fast fake trial instead of training."""

import math
from dataclasses import replace

import pytest

from kata.staged import (
    DEFAULT_STAGES,
    Stage,
    StageResult,
    best_overall,
    best_run,
    run_staged,
    search_id,
)
from kata.sweep import RunRecord

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


# --- the wall-clock budget, on a fake clock ------------------------------------------------


class FakeClock:
    """Stands in for the `time` module of kata.sweep.local and kata.staged: trials advance it."""

    def __init__(self):
        self.now = 1000.0

    def monotonic(self):
        return self.now

    def time(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


@pytest.fixture
def clock(monkeypatch):
    import kata.staged
    import kata.sweep.local

    fake = FakeClock()
    monkeypatch.setattr(kata.sweep.local, "time", fake)
    monkeypatch.setattr(kata.staged, "time", fake)
    return fake


class TimedTrial(FakeTrial):
    """FakeTrial that takes `overhead` plus `per_epoch` seconds per epoch on the fake clock."""

    def __init__(self, clock, per_epoch=10.0, overhead=2.0):
        super().__init__()
        self.clock, self.per_epoch, self.overhead = clock, per_epoch, overhead

    def __call__(self, params, report):
        self.clock.advance(self.overhead + self.per_epoch * params["numberEpochs"])
        return super().__call__(params, report)


def test_with_a_budget_the_stages_share_the_clock_and_counts_do_not_stop_them(tmp_path, clock):
    start = clock.now
    results = run(tmp_path, TimedTrial(clock), budget_seconds=300)  # trials of 4.5, 22, 32 s
    elapsed = clock.now - start
    longest = max(r.seconds for result in results for r in result.runs)
    assert [r.stage.name for r in results] == ["coarse", "narrow", "fine"]
    assert 300 - longest <= elapsed <= 300  # the budget, not the counts, decides
    assert len(results[0].runs) > STAGES[0].count and len(results[2].runs) > STAGES[2].count
    assert results[0].budget_seconds == pytest.approx(300 / 3)
    for result in results:  # each stage within its share of the time left
        assert result.seconds <= result.budget_seconds


def test_a_stage_s_unused_share_passes_to_the_later_stages(tmp_path, clock):
    # trials of 90 s (coarse), 580 s (narrow), 860 s (fine): 11 coarse trials fit in
    # 1000 s, and the 10 s left pass on, as do the 425 s the narrow stage cannot use
    coarse, narrow, fine = run(tmp_path, TimedTrial(clock, 280, 20), budget_seconds=3000)
    assert coarse.budget_seconds == pytest.approx(1000) and coarse.seconds == 990
    assert narrow.budget_seconds == pytest.approx((3000 - 990) / 2)
    assert len(narrow.runs) == 1 and narrow.seconds == 580
    assert fine.budget_seconds == pytest.approx(3000 - 990 - 580)
    assert len(fine.runs) == 1


def test_no_trial_starts_that_the_estimate_says_cannot_fit(tmp_path, clock):
    # trials of 11, 81, 121 s; the fine stage has 111 s left and expects a trial to take
    # 3 epochs at the narrow stage's 40.5 s per epoch (faster than the coarse stage's 44)
    start = clock.now
    results = run(tmp_path, TimedTrial(clock, 40, 1), budget_seconds=280)
    assert [len(r.runs) for r in results] == [8, 1, 0]
    assert clock.now - start == 8 * 11 + 81


def test_a_stage_whose_share_cannot_fit_a_trial_borrows_the_time_for_one(tmp_path, clock):
    # 5 coarse trials of 11 s, then 125 s left: the narrow share, 83 s, is less than the
    # 88 s a trial is expected to take (2 epochs at 44 s), so the stage takes 97 s
    coarse, narrow, fine = run(tmp_path, TimedTrial(clock, 40, 1), budget_seconds=180)
    assert (len(coarse.runs), len(narrow.runs), len(fine.runs)) == (5, 1, 0)
    assert narrow.budget_seconds == pytest.approx(88 * 1.1)


class BatchCostTrial(TimedTrial):
    """A batch-8 trial costs 6 times, a batch-64 trial 1.5 times what a batch-128 one does."""

    def __call__(self, params, report):
        factor = {8: 6, 64: 1.5, 128: 1}[params["batchSize"]]
        self.clock.advance(self.overhead + self.per_epoch * params["numberEpochs"] * factor)
        return FakeTrial.__call__(self, params, report)


@pytest.mark.parametrize("budget", [300, 450])
def test_a_proposed_trial_that_would_not_fit_does_not_start(tmp_path, clock, budget):
    # the batch size sets the cost; after the coarse stage every batch size has a rate
    start = clock.now
    results = run(tmp_path, BatchCostTrial(clock, 10, 1), budget_seconds=budget)
    assert {r.params["batchSize"] for r in results[0].runs} == {8, 64, 128}
    assert clock.now - start <= budget  # no overrun: each trial's cost was foreseen
    assert all(r.state != "proposed" for result in results for r in result.runs)


def test_without_a_budget_the_counts_decide(tmp_path, clock):
    results = run(tmp_path, TimedTrial(clock))
    assert [len(r.runs) for r in results] == [s.count for s in STAGES]
    assert all(r.budget_seconds is None for r in results)


def test_progress_shows_the_stage_the_trial_and_the_time_left(tmp_path, clock, capsys):
    run_staged(
        tmp_path / "search",
        TimedTrial(clock),
        stages=STAGES,
        budget_seconds=100,
        wandb_mode="disabled",
        progress=True,
    )
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("== stage 1/3: coarse (random, 0.25 epochs per trial, 33 s of the")
    assert "100 s left in the budget" in out[0]
    assert out[1].startswith("[coarse] trial 1: ") and out[1].endswith("s left in the budget]")
    narrow = next(line for line in out if line.startswith("== stage 2/3: narrow"))
    assert "a trial takes about" in narrow


def test_trial_lines_can_go_elsewhere_and_each_stage_ends_with_its_summary(tmp_path, capsys):
    elsewhere = []
    results = run_staged(
        tmp_path / "search",
        FakeTrial(),
        stages=STAGES,
        wandb_mode="disabled",
        progress=True,
        trial_lines=elsewhere.append,
    )
    out = capsys.readouterr().out.splitlines()
    assert [line[:8] for line in out] == ["== stage", "   stage"] * 3
    assert len(elsewhere) == sum(len(r.runs) for r in results)
    assert all(
        line.startswith(("[coarse] trial", "[narrow] trial", "[fine] trial")) for line in elsewhere
    )
    coarse = results[0]
    failed = sum(r.state == "failed" for r in coarse.runs)
    assert out[1].startswith(f"   stage coarse: {len(coarse.runs)} trials (")
    assert f"{failed} failed" in out[1]
    assert f"best validation accuracy {coarse.best().metric:.4f} ({coarse.best().run_id})" in out[1]


# --- the coarse stage's epochs follow the batch size ------------------------------------------


def test_the_coarse_stage_equalises_batch_sizes_and_records_what_a_trial_trained(tmp_path):
    coarse = DEFAULT_STAGES[0]
    assert coarse.epochs_for(128) == 0.25 and coarse.epochs_for(8) == 0.125
    # optimizer steps per trial: batch 8 takes 8 times those of batch 128, not 16 times
    steps = {b: coarse.epochs_for(b) * 55_000 / b for b in (8, 64, 128)}
    assert steps[8] / steps[128] == pytest.approx(8) and steps[64] / steps[128] < 2
    assert DEFAULT_STAGES[1].epochs_for(8) == DEFAULT_STAGES[1].epochs == 5
    stages = (replace(STAGES[0], batch_exponent=0.5), *STAGES[1:])
    trial = FakeTrial()
    results = run_staged(
        tmp_path / "s", trial, stages=stages, wandb_mode="disabled", progress=False
    )
    coarse = results[0].runs
    for params, record in zip(trial.calls[: len(coarse)], coarse, strict=True):
        assert params["numberEpochs"] == stages[0].epochs_for(params["batchSize"])
        assert record.params == params  # the record says what the trial trained
    assert len({r.params["numberEpochs"] for r in coarse}) > 1
    assert {r.params["numberEpochs"] for r in results[1].runs} == {2}


# --- choosing the best run ----------------------------------------------------------------------


def record(index, metric, state="finished", stage="coarse"):
    return RunRecord(
        index=index,
        run_id=f"{stage}-{index}",
        params={"learningRate": 0.001},
        state=state,
        summary={"val_accuracy": metric},
        metric=metric,
        stage=stage,
    )


def test_best_overall_is_the_best_finished_run_of_any_stage():
    maximize = {"metric": {"name": "val_accuracy", "goal": "maximize"}}
    results = [
        StageResult(STAGES[0], maximize, [record(0, 0.7), record(1, 0.95, "stopped")]),
        StageResult(STAGES[1], maximize, [record(0, 0.9, stage="narrow"), record(1, 0.8)]),
        StageResult(STAGES[2], maximize, [record(0, 0.85, stage="fine")]),
    ]
    assert best_overall(results).run_id == "narrow-0"  # a stopped run does not count
    assert best_run(results).run_id == "fine-0"  # the last stage's best
    results[0].runs.append(record(2, 0.9))
    assert best_overall(results).run_id == "narrow-0"  # a tie goes to the later stage
    minimize = {"metric": {"name": "val_accuracy", "goal": "minimize"}}
    assert best_overall([StageResult(STAGES[0], minimize, results[1].runs)]).metric == 0.8
    assert best_overall([StageResult(STAGES[0], maximize, [record(0, 0.9, "failed")])]) is None
    assert best_overall([]) is None


def test_every_record_keeps_what_a_job_needs(tmp_path):
    results = run(tmp_path, FakeTrial())
    best = best_overall(results)
    assert best is not None and best.state == "finished" and best.stage in ("narrow", "fine")
    assert best.params["numberEpochs"] == best.history[-1]["epoch"]
    assert best.summary["val_accuracy"] == best.metric and best.seconds >= 0
    assert all(r.metric <= best.metric for res in results for r in res.runs if r.metric)


# --- wandb: what each trial's run carries -------------------------------------------------------


def test_each_trial_s_wandb_run_is_grouped_typed_tagged_and_named(tmp_path, monkeypatch):
    wandb = pytest.importorskip("wandb")
    calls = []

    class FakeRun:
        def __init__(self):
            self.id, self.summary = f"w{len(calls)}", {}

        def log(self, metrics):
            pass

        def finish(self, exit_code=None):
            pass

    def fake_init(**kwargs):
        calls.append(kwargs)
        return FakeRun()

    monkeypatch.setattr(wandb, "init", fake_init)
    extra = {"train_subset": 1000, "device": "cpu"}
    stages = tuple(replace(s, count=2) for s in STAGES)
    kwargs = dict(stages=stages, wandb_mode="offline", progress=False, seed=7)
    results = run_staged(tmp_path / "s", FakeTrial(), wandb_config=extra, **kwargs)
    trials = [r for result in results for r in result.runs]
    assert len(calls) == len(trials) == 6
    group = search_id(tmp_path / "s")
    assert len(group) == 32 and group != "s"
    assert {c["group"] for c in calls} == {group}
    assert [c["job_type"] for c in calls] == ["coarse"] * 2 + ["narrow"] * 2 + ["fine"] * 2
    assert calls[0]["tags"] == ["random", "coarse"] and calls[-1]["tags"] == ["bayes", "fine"]
    assert len({c["name"] for c in calls}) == 6
    assert [c["name"] for c in calls] == [r.run_id for r in trials]
    for call, trial in zip(calls, trials, strict=True):
        assert call["mode"] == "offline"
        assert call["config"] == {
            **trial.params,
            "seed": 7,
            "implementation": "solutions",
            "train_subset": 1000,
            "device": "cpu",
        }
    # a resumed search logs into the same group
    more = tuple(replace(s, count=3) for s in STAGES)
    run_staged(tmp_path / "s", FakeTrial(), wandb_config=extra, **{**kwargs, "stages": more})
    assert len(calls) == 9 and {c["group"] for c in calls} == {group}


def test_a_trial_s_estimate_separates_fixed_seconds_from_seconds_per_epoch():
    from kata.staged import _trial_estimator

    def ended(batch, epochs, seconds, epoch_seconds):
        history = [{"epoch": 1, "val_accuracy": 0.8}]
        if epoch_seconds is not None:
            history[0]["epoch_seconds"] = epoch_seconds
        params = {"batchSize": batch, "numberEpochs": epochs, "rotation": False}
        return RunRecord(
            0, "r", params, "finished", history=history, started_at=0, ended_at=seconds
        )

    coarse = StageResult(STAGES[0], {}, [ended(128, 0.25, 3.0, 1.0)])
    estimate = _trial_estimator([coarse])
    five = {"batchSize": 128, "numberEpochs": 5, "rotation": False}
    assert estimate(five, []) == pytest.approx(2 + 5 * 4)  # 2 s fixed, 4 s per epoch
    assert estimate({**five, "batchSize": 8}, []) == pytest.approx(22)  # no batch 8 seen
    batch8 = ended(8, 0.125, 4.0, 3.0)
    assert estimate({**five, "batchSize": 8}, [batch8]) == pytest.approx(1 + 5 * 24)
    without = StageResult(STAGES[0], {}, [ended(128, 0.25, 3.0, None)])
    assert _trial_estimator([without])(five, []) == pytest.approx(5 * 12)
    assert estimate({**five, "numberEpochs": "5"}, []) is None
