"""The main job (`kata run`) on small synthetic data: files, resume, the test set used once."""

import json
import math

import pytest
import torch
import yaml

import kata.job as job_module
from kata.config import TrialConfig, load_config_file
from kata.job import (
    BUDGET_TOO_SMALL,
    FOLDER_CONFLICT,
    NOTHING_FINISHED,
    Job,
    JobError,
    JobSettings,
    Preset,
    Splits,
)
from kata.staged import Stage, StageResult
from kata.sweep import RunRecord
from kata.trained import load_trained_model
from tests.harness.synthetic import learnable_split

TINY = Preset(
    "quick",
    budget=120.0,
    stages=(
        Stage("coarse", "random", epochs=1, count=4, budget_share=0.5),
        Stage("narrow", "bayes", epochs=2, count=2, keep=2, budget_share=0.5),
    ),
    search_subset=None,
    final_epochs=2,
    final_share=0.3,
)
EXPECTED_FILES = (
    "job.json",
    "model.pt",
    "best_config.yaml",
    "trials.csv",
    "metrics.json",
    "curves.json",
    "test_samples.npz",
)


class CountingSplits(Splits):
    def __init__(self):
        # Few, wide-margin classes: every trial that learns at all learns them at once.
        super().__init__(learnable_split(400, 1), learnable_split(200, 2), self._test)
        self.test_loads = 0

    def _test(self):
        self.test_loads += 1
        return learnable_split(300, 3)


def counted(run_staged):
    """run_staged by trial counts: a budget would make these tests last as long as it."""

    def run(*args, **kwargs):
        return run_staged(*args, **{**kwargs, "budget_seconds": None})

    return run


def tiny(mp):
    mp.setitem(job_module.PRESETS, "quick", TINY)
    mp.setattr(Job, "_report", lambda self: (self.out / "report.html").write_text("x"))
    mp.setattr(job_module, "run_staged", counted(job_module.run_staged))


@pytest.fixture(autouse=True)
def tiny_preset(monkeypatch):
    tiny(monkeypatch)


@pytest.fixture(scope="module")
def splits():
    return CountingSplits()


def make_job(out, **settings):
    defaults = dict(preset="quick", seed=0)
    return Job(
        out,
        JobSettings(**{**defaults, **settings}),
        wandb="disabled",
        agents=1,
        progress=False,
        say=lambda text: None,
    )


@pytest.fixture(scope="module")
def finished(tmp_path_factory, splits):
    out = tmp_path_factory.mktemp("job") / "run"
    with pytest.MonkeyPatch.context() as mp:
        tiny(mp)
        metrics = make_job(out).run(splits)
    return out, metrics


def test_a_job_writes_every_file(finished):
    out, metrics = finished
    for name in EXPECTED_FILES:
        assert (out / name).is_file(), name
    for key in ("test_accuracy", "val_accuracy", "config", "seeds", "phases"):
        assert key in metrics
    assert set(metrics["phases"]) >= {"search", "final_training", "test"}
    assert len(metrics["confusion_matrix"]) == 10
    assert sum(map(sum, metrics["confusion_matrix"])) == 300
    assert len(metrics["samples"]["index"]) == 10


def test_the_reported_test_accuracy_is_the_saved_models(finished):
    out, metrics = finished
    trained = load_trained_model(out / "model.pt")
    test = learnable_split(300, 3)
    predicted = trained.predict(test.images)
    assert metrics["test_accuracy"] == float((predicted == test.labels).float().mean())
    truth = test.labels[metrics["samples"]["index"]].tolist()
    assert metrics["samples"]["true"] == truth
    assert metrics["samples"]["predicted"] == predicted[metrics["samples"]["index"]].tolist()
    # and the saved model is the one whose validation accuracy the job reports
    validation = learnable_split(200, 2)
    accuracy = float((trained.predict(validation.images) == validation.labels).float().mean())
    assert accuracy == pytest.approx(metrics["val_accuracy"], abs=1e-9)


def test_best_config_is_a_trial_configuration_and_the_chosen_one(finished):
    out, metrics = finished
    values = load_config_file(out / "best_config.yaml")  # what `kata train --config` reads
    assert values == yaml.safe_load((out / "best_config.yaml").read_text())
    assert TrialConfig.from_dict(values).hyperparameters == metrics["config"]
    assert values["numberEpochs"] == TINY.final_epochs  # the coarse stage's 1 epoch is no
    # assignment value, so the final training uses the preset's


def test_trials_csv_has_a_row_per_trial_of_every_stage(finished):
    out, _ = finished
    lines = (out / "trials.csv").read_text().splitlines()
    header = lines[0].split(",")
    assert header[:2] == ["stage", "trial"] and "learningRate" in header and "status" in header
    stages = [line.split(",")[0] for line in lines[1:]]
    assert stages.count("coarse") == 4 and stages.count("narrow") == 2


def test_a_second_run_prints_the_stored_result_without_touching_the_test_set(
    finished, splits, monkeypatch
):
    out, metrics = finished
    loads = splits.test_loads

    def no_training(*args, **kwargs):
        raise AssertionError("a finished job trained again")

    monkeypatch.setattr(job_module, "train_trial", no_training)
    monkeypatch.setattr(job_module, "run_staged", no_training)
    assert make_job(out).run(splits) == metrics
    assert splits.test_loads == loads


@pytest.mark.parametrize("name", ["model.pt", "best_config.yaml", "metrics.json"])
def test_a_changed_model_or_configuration_is_refused(finished, splits, tmp_path, name):
    out, _ = finished
    copy = tmp_path / "copy"
    copy.mkdir()
    for path in out.iterdir():
        if path.is_file():
            (copy / path.name).write_bytes(path.read_bytes())
    (copy / name).write_bytes((copy / name).read_bytes() + b"\n")
    loads = splits.test_loads
    with pytest.raises(JobError, match=name) as error:
        make_job(copy).run(splits)
    assert error.value.status == FOLDER_CONFLICT
    assert splits.test_loads == loads


def test_other_settings_in_the_same_folder_are_refused(finished, splits):
    out, _ = finished
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    with pytest.raises(JobError, match="seed 0 -> 1") as error:
        make_job(out, seed=1).run(splits)
    assert error.value.status == FOLDER_CONFLICT
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before


def test_a_folder_of_other_files_or_a_file_is_refused_and_left_alone(tmp_path, splits):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(JobError, match="not a `kata run` job") as error:
        make_job(tmp_path).run(splits)
    assert error.value.status == FOLDER_CONFLICT
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
    with pytest.raises(JobError, match="not a folder"):
        make_job(tmp_path / "notes.txt").run(splits)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_a_budget_too_small_for_one_trial_is_refused(tmp_path, splits):
    with pytest.raises(JobError, match="too small") as error:
        make_job(tmp_path / "run", budget=5).run(splits)
    assert error.value.status == BUDGET_TOO_SMALL
    assert not (tmp_path / "run").exists()


def test_an_interrupted_final_training_resumes_without_rerunning_the_search(tmp_path, monkeypatch):
    splits = CountingSplits()
    out = tmp_path / "run"
    real_train = job_module.train_trial

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(job_module, "train_trial", interrupted)
    with pytest.raises(KeyboardInterrupt):
        make_job(out).run(splits)
    trials = (out / "trials.csv").read_text()
    assert not (out / "model.pt").exists() and splits.test_loads == 0

    def no_search(*args, **kwargs):
        raise AssertionError("the finished search ran again")

    monkeypatch.setattr(job_module, "run_staged", no_search)
    monkeypatch.setattr(job_module, "train_trial", real_train)
    metrics = make_job(out).run(splits)
    assert (out / "trials.csv").read_text() == trials
    assert splits.test_loads == 1 and 0 <= metrics["test_accuracy"] <= 1


def test_an_interrupted_test_phase_does_not_train_again(tmp_path, monkeypatch):
    splits = CountingSplits()
    out = tmp_path / "run"

    def interrupted():
        raise KeyboardInterrupt

    splits.load_test = interrupted
    with pytest.raises(KeyboardInterrupt):
        make_job(out).run(splits)
    model = (out / "model.pt").read_bytes()

    def no_training(*args, **kwargs):
        raise AssertionError("the final training ran again")

    monkeypatch.setattr(job_module, "train_trial", no_training)
    splits.load_test = splits._test
    make_job(out).run(splits)
    assert (out / "model.pt").read_bytes() == model and splits.test_loads == 1


def record(run_id, metric, state="finished", rate=1e4):
    history = [{"epoch": 1, "val_accuracy": metric, "images_per_second": rate}]
    return RunRecord(
        index=0,
        run_id=run_id,
        params=TrialConfig().hyperparameters,
        state=state,
        history=history,
        summary={"val_accuracy": metric},
        metric=metric,
    )


def stage_results(*stages):
    return [
        StageResult(Stage(name, "random", epochs=epochs, count=1), {"metric": {}}, runs)
        for name, epochs, runs in stages
    ]


def chooser(tmp_path, budget=600.0):
    job = make_job(tmp_path / "run", budget=budget)
    job.open()
    return job


def test_the_choice_is_the_best_over_all_stages_not_the_last_stages_best(tmp_path, splits):
    results = stage_results(
        ("coarse", 0.25, [record("c-0", 0.80), record("c-1", 0.70)]),
        ("narrow", 5, [record("n-0", 0.91), record("n-1", 0.95, state="stopped")]),
        ("fine", 10, [record("f-0", 0.90), record("f-1", math.nan)]),
    )
    choice = chooser(tmp_path)._choose(results, splits)
    assert (choice["trial"], choice["stage"], choice["final_epochs"]) == ("n-0", "narrow", 5)
    assert choice["search_val_accuracy"] == 0.91 and choice["note"] is None


def test_a_best_trial_too_slow_for_the_budget_left_gives_way_to_the_best_that_fits(
    tmp_path, splits
):
    slow, fast = record("f-0", 0.95, rate=1.0), record("f-1", 0.90, rate=1e6)
    results = stage_results(("fine", 10, [slow, fast]))
    choice = chooser(tmp_path)._choose(results, splits)
    assert choice["trial"] == "f-1" and "f-0" in choice["note"]


def test_a_best_trial_that_fits_only_at_5_epochs_is_trained_for_5(tmp_path, splits):
    # 400 training images, 600 s left: 10 epochs at 6 images/s need 833 s, 5 need 417 s
    results = stage_results(("fine", 10, [record("f-0", 0.95, rate=6.0)]))
    choice = chooser(tmp_path)._choose(results, splits)
    assert (choice["trial"], choice["final_epochs"]) == ("f-0", 5)
    assert "for 5 epochs" in choice["note"]


def test_when_nothing_fits_the_cheapest_of_the_five_best_is_chosen(tmp_path, splits):
    rates = [0.01, 0.02, 0.05, 0.04, 0.03, 1.0]  # the sixth is fast but not among the best
    runs = [record(f"f-{i}", 0.9 - i / 100, rate=r) for i, r in enumerate(rates)]
    choice = chooser(tmp_path)._choose(stage_results(("fine", 10, runs)), splits)
    assert (choice["trial"], choice["final_epochs"]) == ("f-2", 5)


def test_a_search_without_a_finished_trial_stops_with_a_message(tmp_path, splits):
    results = stage_results(("coarse", 0.25, [record("c-0", 0.5, state="failed")]))
    with pytest.raises(JobError, match="no trial of the search finished") as error:
        chooser(tmp_path)._choose(results, splits)
    assert error.value.status == NOTHING_FINISHED


def test_job_json_records_every_phase(finished):
    out, _ = finished
    state = json.loads((out / "job.json").read_text())
    assert set(state["phases"]) == {"search", "choice", "final", "test", "report"}
    assert set(state["files"]) == {"model.pt", "best_config.yaml", "metrics.json"}


def test_the_saved_model_predicts_like_the_trained_one(tmp_path):
    from kata.trained import save_trained_model

    config = TrialConfig(dataNormalisation=True, hiddenLayerSize=16)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10))
    with pytest.raises(ValueError, match="does not fit"):
        save_trained_model(
            tmp_path / "m.pt", model, config, mean=None, std=None, package="solutions"
        )
        load_trained_model(tmp_path / "m.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a model")
    with pytest.raises(ValueError, match="not a model file"):
        load_trained_model(tmp_path / "junk.pt")


def test_the_report_reads_what_the_job_writes(finished, tmp_path):
    from kata.report import render_html
    from kata.report_files import read_job

    out, metrics = finished
    html, _ = render_html(read_job(out), with_pngs=False)
    assert f"{100 * metrics['test_accuracy']:.1f}%" in html
    assert metrics["chosen_trial"] in html


def test_the_search_alone_and_its_trial_lines_in_a_log(tmp_path, splits, capsys):
    said = []
    job = Job(
        tmp_path / "run",
        JobSettings(preset="quick", seed=0),
        wandb="disabled",
        agents=1,
        progress=True,
        bars=False,
        trial_log=True,
        say=said.append,
    )
    results = job.search(splits)
    out = capsys.readouterr().out
    log = (tmp_path / "run" / "search" / job_module.TRIAL_LOG).read_text().splitlines()
    assert len(log) == sum(len(r.runs) for r in results) and log[0].startswith("[coarse] trial 1")
    assert "] trial " not in out and "== stage 1/2" in out
    assert any("a line per trial" in line for line in said)
    assert not (tmp_path / "run" / "model.pt").exists()  # the search alone: nothing trained
    assert set(job.state["phases"]) == {"search"}  # no choice, final training or test
