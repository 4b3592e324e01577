"""The report: its files, its figures' data, importance, the written summary, bad input."""

import csv
import io
import json
import math
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from kata import figures
from kata.importance import MIN_TRIALS, stage_importance
from kata.report import ReportError, main, render_html, write_report
from kata.report_files import read_job, read_trials
from kata.summary import compare, summarise
from tests.harness.report_fixture import synthetic_trials, trial_row, write_job, write_trials

EXPECTED_PNGS = {
    "best_per_stage.png",
    "parallel_coordinates.png",
    "importance_coarse.png",
    "importance_narrow.png",
    "importance_fine.png",
    "learning_curves.png",
    "confusion_matrix.png",
    "test_samples.png",
}


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    folder = write_job(tmp_path_factory.mktemp("report") / "job")
    write_report(folder)
    return folder


def table_rows(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_writes_the_page_and_every_figure_as_a_valid_png(job):
    assert (job / "report.html").stat().st_size > 1_000_000  # plotly's JavaScript inside
    assert {p.name for p in (job / "figures").glob("*.png")} == EXPECTED_PNGS
    for path in (job / "figures").glob("*.png"):
        image = Image.open(path)
        image.verify()  # a complete, uncorrupted PNG
        pixels = np.asarray(Image.open(path).convert("L"), dtype=float)
        assert image.format == "PNG" and min(pixels.shape) >= 100, path.name
        assert pixels.std() > 5, f"{path.name} is (nearly) blank"
        assert len(np.unique(pixels)) > 20, f"{path.name} has almost no content"
    assert not list(job.rglob("*.tmp")), "a temporary file was left behind"


def test_the_page_is_self_contained_and_embeds_plotly_once(job):
    page = (job / "report.html").read_text(encoding="utf-8")
    tags = re.findall(r"<(?:script|link|img|iframe)\b[^>]*>", page, flags=re.I)
    for tag in tags:
        source = re.search(r"\b(?:src|href)\s*=\s*[\"']?([^\"' >]+)", tag, flags=re.I)
        if source:
            assert not re.match(r"(https?:)?//", source.group(1)), f"external source: {tag}"
    assert page.count("* plotly.js v") == 1, "plotly.js must be embedded exactly once"
    assert page.count("Plotly.newPlot(") == 7  # best, parcoords, 3 importance, curves, confusion
    assert page.count('<img src="data:image/png;base64,') == 10


def test_the_report_is_a_pure_function_of_the_files(job):
    html, pngs = render_html(read_job(job), with_pngs=False)
    assert html == (job / "report.html").read_text(encoding="utf-8")
    assert pngs == {}


def test_parallel_coordinates_hold_exactly_the_measured_trials(job):
    rows = [r for r in table_rows(job / "trials.csv") if r["status"] in ("finished", "stopped")]
    rows = [r for r in rows if r["val_accuracy"]]
    fig = figures.parcoords_figure(read_trials(job / "trials.csv"))
    dims = {d.label: d for d in fig.data[0].dimensions}
    assert list(dims["val accuracy"].values) == [float(r["val_accuracy"]) for r in rows]
    assert list(fig.data[0].line.color) == [float(r["val_accuracy"]) for r in rows]
    lr = dims["learningRate (log10)"]
    assert np.allclose(lr.values, [math.log10(float(r["learningRate"])) for r in rows])
    for name in ("activationFunction", "rotation", "hiddenLayerSize", "numberEpochs"):
        dim = dims[name]
        decoded = [dim.ticktext[dim.tickvals.index(v)] for v in dim.values]
        expected = [r[name] for r in rows]
        if name == "numberEpochs":
            expected = [f"{float(v):g}" for v in expected]
        assert decoded == expected, name
    assert list(dims["dropoutProbability"].values) == [float(r["dropoutProbability"]) for r in rows]
    assert 'id="fig-parcoords"' in (job / "report.html").read_text(encoding="utf-8")


def crafted(stage="s", n=24, seed=0, epochs=5.0, metric=None, **fixed):
    """n finished trials, every hyperparameter random; val accuracy = metric(params)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        params = {
            "dataNormalisation": bool(rng.integers(2)),
            "horizontalFlip": bool(rng.integers(2)),
            "resizedCrop": bool(rng.integers(2)),
            "rotation": bool(rng.integers(2)),
            "numberHiddenLayers": int(rng.choice([1, 2, 4])),
            "hiddenLayerSize": int(rng.choice([64, 256, 1024])),
            "activationFunction": str(rng.choice(["sigmoid", "tanh", "ReLU"])),
            "dropoutProbability": float(rng.uniform(0, 0.8)),
            "numberEpochs": epochs,
            "learningRate": float(10 ** rng.uniform(-4, -1)),
            "batchSize": int(rng.choice([8, 64, 128])),
            **fixed,
        }
        accuracy = metric(params) if metric else 0.8
        rows.append(trial_row(stage, f"{stage}-{i}", val_accuracy=accuracy, **params))
    return rows


def as_trials(rows, tmp_path):
    return read_trials(write_trials(tmp_path / "trials.csv", rows))


def test_importance_finds_the_only_hyperparameter_that_matters_within_each_stage(tmp_path):
    def by_rate(p):  # higher learning rate, better; the stage's epochs add a constant
        return 0.5 + 0.1 * (math.log10(p["learningRate"]) + 4) + 0.01 * p["numberEpochs"]

    rows = crafted("short", epochs=0.25, metric=by_rate) + crafted("long", 30, 1, 10.0, by_rate)
    trials = as_trials(rows, tmp_path)
    for stage in ("short", "long"):
        result = stage_importance(stage, trials)
        assert result.note is None
        assert "numberEpochs" not in result.features and "numberEpochs" in result.dropped
        name, importance, correlation = result.ranked()[0]
        assert name == "log10(learningRate)", result.ranked()[:3]
        assert importance > 0.5 and correlation > 0.9
        assert math.isclose(sum(result.importance), 1.0)


def test_epochs_that_follow_the_batch_size_are_left_to_the_batch_size(tmp_path):
    # the coarse stage: each batch size trains its own fraction of an epoch
    epochs = {8: 0.125, 64: 0.210224, 128: 0.25}
    rows = crafted("coarse", 40, metric=lambda p: 0.9 - 0.001 * p["batchSize"])
    for row in rows:
        row["numberEpochs"] = epochs[int(row["batchSize"])]
    trials = as_trials(rows, tmp_path)
    result = stage_importance("coarse", trials)
    assert "numberEpochs" in result.dropped and "numberEpochs" not in result.features
    assert result.ranked()[0][0] == "batchSize"
    text = " ".join(sentences(summarise(trials, ["coarse"])))
    assert "batchSize=8 helped most" in text and "numberEpochs=" not in text
    # the stage's training per trial as a range, as the summary and the figures label it
    assert "Stage coarse (0.12–0.25 epochs per trial):" in text


def test_importance_correlation_has_the_right_sign(tmp_path):
    rows = crafted(metric=lambda p: 0.9 - 0.2 * p["dropoutProbability"])
    result = stage_importance("s", as_trials(rows, tmp_path))
    correlation = dict(zip(result.features, result.correlation, strict=True))
    assert result.ranked()[0][0] == "dropoutProbability"
    assert correlation["dropoutProbability"] < -0.9
    assert {"activationFunction=ReLU", "activationFunction=tanh"} <= set(result.features)


def test_a_stage_with_too_few_measured_trials_gets_a_note_not_numbers(tmp_path):
    def metric(p):
        return 0.9 - 0.1 * p["dropoutProbability"]

    rows = crafted("big", 12, metric=metric) + crafted("small", MIN_TRIALS - 1, 3, metric=metric)
    rows.append(trial_row("small", "small-failed", status="failed", val_accuracy=None))
    trials = as_trials(rows, tmp_path)
    small = stage_importance("small", trials)
    assert small.features == [] and "too few" in small.note and small.n_trials == MIN_TRIALS - 1
    folder = write_job(tmp_path / "job", rows=rows)
    write_report(folder)
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert "measured trial(s) in stage &#x27;small&#x27;: too few" in page
    assert not (folder / "figures" / "importance_small.png").exists()
    assert (folder / "figures" / "importance_big.png").exists()


def sentences(paragraphs):
    return [s for paragraph in paragraphs for s in paragraph]


def test_summary_says_relu_helped_and_by_how_much(tmp_path):
    accuracy = {"ReLU": 0.90, "tanh": 0.85, "sigmoid": 0.60}
    rows = []
    for i, activation in enumerate(["ReLU", "tanh", "sigmoid"] * 4):
        noise = 0.002 if (i // 3) % 2 else -0.002  # two of each sign per activation
        rows.append(
            trial_row(
                "fine",
                f"t{i}",
                activationFunction=activation,
                val_accuracy=accuracy[activation] + noise,
                learningRate=1e-3 * (1 + i),
            )
        )
    text = sentences(summarise(as_trials(rows, tmp_path)))
    claim = next(s for s in text if s.startswith("activationFunction="))
    assert claim.startswith("activationFunction=ReLU helped most: mean 90.0% (n=4)")
    assert "85.0% for tanh (n=4)" in claim and "60.0% for sigmoid (n=4)" in claim
    assert "activationFunction=sigmoid hurt most, 30.0 points below" in claim


def test_summary_boolean_effects_and_no_claim_without_evidence(tmp_path):
    rows = []
    for i in range(12):
        rotation, flip = i % 2 == 0, i % 3 == 0
        noise = [0.004, -0.004, 0.0][i % 3]
        value = 0.80 - 0.03 * rotation + noise  # rotation hurts by 3 points; flip is noise
        rows.append(
            trial_row("s", f"t{i}", rotation=rotation, horizontalFlip=flip, val_accuracy=value)
        )
    text = sentences(summarise(as_trials(rows, tmp_path)))
    hurt = next(s for s in text if s.startswith("rotation="))
    assert hurt.startswith("rotation=True hurt: mean validation accuracy 80.0% (n=6)")
    assert "with rotation=False against 77.0% (n=6) with rotation=True, a gap of 3.0 points" in hurt
    assert not any(s.startswith("horizontalFlip") for s in text)
    unclear = next(s for s in text if s.startswith("No clear difference"))
    assert "horizontalFlip" in unclear and "rotation" not in unclear


def test_summary_counts_failures_and_their_most_common_reason(tmp_path):
    rows = crafted(n=6)
    rows += [
        trial_row(
            "s", "f1", status="failed", val_accuracy=None, reason="loss is NaN", learningRate=0.09
        ),
        trial_row(
            "s", "f2", status="failed", val_accuracy=None, reason="loss is NaN", learningRate=0.05
        ),
        trial_row(
            "s", "f3", status="failed", val_accuracy=None, reason="at chance", learningRate=0.07
        ),
    ]
    text = " ".join(sentences(summarise(as_trials(rows, tmp_path))))
    assert "3 of 9 trials failed; most often: “loss is NaN” (2 of 3)" in text
    assert "The failed trials' learning rates: 0.05 to 0.09" in text


def test_summary_learning_rates_of_the_best_trials_and_the_final_model(tmp_path):
    rates = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 5e-2, 8e-2]
    scores = [0.70, 0.80, 0.90, 0.88, 0.75, 0.60, 0.55, 0.50]
    rows = [
        trial_row("s", f"t{i}", learningRate=r, val_accuracy=v)
        for i, (r, v) in enumerate(zip(rates, scores, strict=True))
    ]
    folder = write_job(tmp_path / "job", rows=rows)
    job = read_job(folder)
    text = sentences(summarise(job.trials, job.stages, job.metrics))
    assert "The best 2 of 8 measured trials used learning rates 0.001 to 0.003" in " ".join(text)
    final = text[-1]
    m = job.metrics
    assert f"trial {m['chosen_trial']}, stage s, 90.0% validation accuracy in the search" in final
    assert f"validation accuracy {100 * m['val_accuracy']:.1f}%" in final
    gap = abs(m["test_accuracy"] - m["val_accuracy"]) * 100
    assert f"test accuracy {100 * m['test_accuracy']:.1f}% ({gap:.1f} points below" in final


def test_compare_splits_continuous_settings_at_the_median(tmp_path):
    rows = crafted(n=12, metric=lambda p: 0.9 - 0.1 * p["dropoutProbability"])
    result = compare(as_trials(rows, tmp_path), "s", "dropoutProbability")
    assert result.groups[0].label.startswith("≤") and result.clear
    assert sum(g.n for g in result.groups) == 12


@pytest.mark.parametrize("name", ["trials.csv", "curves.json", "metrics.json", "test_samples.npz"])
def test_a_missing_file_is_named(tmp_path, name):
    folder = write_job(tmp_path / "job")
    (folder / name).unlink()
    with pytest.raises(ReportError, match=re.escape(name) + ": missing"):
        write_report(folder)
    assert not (folder / "report.html").exists()


def _edit_csv(folder, line, column, value):
    rows = table_rows(folder / "trials.csv")
    rows[line - 2][column] = value
    with open(folder / "trials.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _edit_json(folder, name, change):
    data = json.loads((folder / name).read_text())
    change(data)
    (folder / name).write_text(json.dumps(data))


MALFORMED = [
    (
        lambda f: _edit_csv(f, 3, "learningRate", "fast"),
        r"trials.csv: line 3, column 'learningRate'",
    ),
    (lambda f: _edit_csv(f, 4, "rotation", "maybe"), r"trials.csv: line 4, column 'rotation'"),
    (lambda f: _edit_csv(f, 5, "status", "done"), r"trials.csv: line 5, column 'status'"),
    (lambda f: _edit_csv(f, 6, "val_accuracy", "87"), r"trials.csv: line 6, column 'val_accuracy'"),
    (lambda f: _edit_csv(f, 7, "trial", "coarse-00"), r"trials.csv: line 7: trial id 'coarse-00'"),
    (lambda f: (f / "trials.csv").write_text("stage,trial\nx,y\n"), r"trials.csv: header: missing"),
    (lambda f: (f / "metrics.json").write_text("{oops"), r"metrics.json: not valid JSON"),
    (
        lambda f: _edit_json(f, "metrics.json", lambda d: d.pop("protocol")),
        r"metrics.json: .*protocol",
    ),
    (
        lambda f: _edit_json(f, "metrics.json", lambda d: d.update(test_accuracy=0.5)),
        r"metrics.json: 'confusion_matrix': its accuracy",
    ),
    (
        lambda f: _edit_json(f, "metrics.json", lambda d: d["confusion_matrix"].pop()),
        r"metrics.json: 'confusion_matrix'",
    ),
    (
        lambda f: _edit_json(
            f, "curves.json", lambda d: d["final"]["history"][0].pop("val_accuracy")
        ),
        r"curves.json: \['final'\]\['history'\]\[0\]: 'val_accuracy'",
    ),
    (
        lambda f: np.savez(f / "test_samples.npz", images=np.zeros((10, 28, 28), np.float32)),
        r"test_samples.npz: 'images': expected uint8",
    ),
    (lambda f: (f / "test_samples.npz").write_bytes(b"junk"), r"test_samples.npz: not a readable"),
]


@pytest.mark.parametrize("damage, message", MALFORMED)
def test_a_malformed_file_is_named_with_its_problem(tmp_path, damage, message):
    folder = write_job(tmp_path / "job")
    damage(folder)
    with pytest.raises(ReportError, match=message):
        read_job(folder)


def test_a_failed_rebuild_leaves_the_previous_report_intact(tmp_path, capsys):
    folder = write_job(tmp_path / "job", rows=crafted(n=6))
    write_report(folder)
    before = (folder / "report.html").read_bytes()
    (folder / "curves.json").write_text("[]")
    assert main([str(folder)]) == 2
    assert "curves.json: expected an object" in capsys.readouterr().err
    assert (folder / "report.html").read_bytes() == before


def test_python_m_kata_report_exits_2_with_a_clear_message(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "kata.report", str(tmp_path / "nowhere")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "report: error:" in done.stderr and "not a folder" in done.stderr
    assert "Traceback" not in done.stderr


def test_an_all_failed_search_still_renders_with_a_clear_note(tmp_path):
    rows = synthetic_trials()
    for row in rows:
        row.update(status="failed", val_accuracy=None, reason="loss is NaN")
    folder = write_job(tmp_path / "job", rows=rows)
    page = write_report(folder).read_text(encoding="utf-8")
    assert "None of the 30 trials finished with a validation accuracy" in page
    assert 'id="fig-parcoords"' not in page
    assert "30 of 30 trials failed; most often: “loss is NaN” (30 of 30)" in page
    assert page.count("* plotly.js v") == 1
    names = {p.name for p in (folder / "figures").glob("*.png")}
    assert names == {"learning_curves.png", "confusion_matrix.png", "test_samples.png"}


def test_an_empty_search_renders_too(tmp_path):
    folder = write_job(tmp_path / "job", rows=[])
    page = write_report(folder).read_text(encoding="utf-8")
    assert "trials.csv has no trials" in page and "The search has no trials." in page


def test_text_from_the_files_is_escaped(tmp_path):
    evil = "<script>alert('x')</script>"
    rows = crafted(n=6)
    rows[0]["trial"] = evil
    rows[1].update(status="failed", val_accuracy=None, reason=evil + " & more")
    folder = write_job(tmp_path / "job", rows=rows)
    _edit_json(folder, "curves.json", lambda d: d["final"].update(label=evil))
    _edit_json(folder, "metrics.json", lambda d: d.update(protocol=evil, chosen_trial=evil))
    page = write_report(folder).read_text(encoding="utf-8")
    assert evil not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; more" in page
    assert page.count("&lt;script&gt;alert(") >= 4  # table, summary, protocol, chosen trial
    # in plotly's figures too (plotly decodes entities and shows the text as written)
    assert '"name":"&lt;script&gt;alert(&#x27;x&#x27;)&lt;\\u002fscript&gt; (val)"' in page


def test_figures_png_are_valid_images_when_rebuilt_with_fewer_stages(job, tmp_path):
    """A rebuild does not keep PNGs of stages that no longer exist."""
    folder = write_job(
        tmp_path / "job", rows=crafted("only", 8, metric=lambda p: p["learningRate"])
    )
    (folder / "figures").mkdir()
    (folder / "figures" / "importance_gone.png").write_bytes(b"old")
    write_report(folder)
    names = {p.name for p in (folder / "figures").glob("*.png")}
    assert "importance_gone.png" not in names and "importance_only.png" in names
    for name in names:
        Image.open(io.BytesIO((folder / "figures" / name).read_bytes())).verify()
