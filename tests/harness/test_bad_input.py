"""Every bad input a user can give, through the real command line (`kata.cli.main`, the
function `python -m kata` runs): one clear message, its exit status, no traceback, and
nothing written. A case that raises out of `main` would be a traceback; one that returns 0
would be a bad input accepted.

Exit statuses: 2 a meaningless option or configuration, 3 the data missing or damaged,
4 a folder that holds something else or cannot be written.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from kata import sweep_cli
from kata.cli import main
from kata.job import Job, JobSettings
from kata.sweep import LocalSweep
from tests.harness.synthetic import TINY_SWEEP, learnable_split

ROOT = Path(__file__).resolve().parents[2]
REAL_DATA = Path("/usr/share/datasets/fashion-mnist")

GOOD = TINY_SWEEP


def with_parameter(name, spec, **top):
    return {**GOOD, **top, "parameters": {**GOOD["parameters"], name: spec}}


def yaml_text(config) -> str:
    return yaml.safe_dump(config, sort_keys=False)


# (id, command line, files to write first, exit status, words the message must hold)
# {tmp} is the test's folder; files are written under it; {dir} is a fresh folder.
CONFIGURATIONS = [
    (
        "misspelt name",
        with_parameter("hiddenLayersize", {"value": 64}),
        "did you mean 'hiddenLayerSize'",
    ),
    (
        "unknown name",
        with_parameter("momentum", {"value": 0.9}),
        "parameters.momentum: not one of the 11",
    ),
    ("seed as a parameter", with_parameter("seed", {"values": [1, 2]}), "parameters.seed"),
    (
        "no layers",
        with_parameter("numberHiddenLayers", {"values": [0, 1]}),
        "value 0: expected an integer >= 1",
    ),
    (
        "float layers",
        with_parameter("numberHiddenLayers", {"distribution": "uniform", "min": 1, "max": 4}),
        "numberHiddenLayers",
    ),
    ("dropout 1", with_parameter("dropoutProbability", {"min": 0.0, "max": 1.0}), "0 <= p < 1"),
    ("negative dropout", with_parameter("dropoutProbability", {"values": [-0.1, 0.2]}), "-0.1"),
    (
        "learning rate 0",
        with_parameter("learningRate", {"distribution": "uniform", "min": 0.0, "max": 0.1}),
        "learning rate in (0, 10]",
    ),
    ("negative learning rate", with_parameter("learningRate", {"values": [-0.01]}), "-0.01"),
    (
        "unbounded learning rate",
        with_parameter("learningRate", {"distribution": "normal", "mu": 0.01, "sigma": 0.01}),
        "no bounds",
    ),
    ("batch 0", with_parameter("batchSize", {"values": [0, 8]}), "batchSize: value 0"),
    (
        "batch rounds to 0",
        with_parameter("batchSize", {"distribution": "q_uniform", "min": 1, "max": 64, "q": 8}),
        "its lowest value 0",
    ),
    (
        "unknown activation",
        with_parameter("activationFunction", {"values": ["relu", "softmax"]}),
        "'softmax'",
    ),
    (
        "string bool",
        with_parameter("rotation", {"values": ["true", "false"]}),
        "expected True or False",
    ),
    ("int bool", with_parameter("horizontalFlip", {"values": [0, 1]}), "expected True or False"),
    ("no epochs", with_parameter("numberEpochs", {"value": 0}), "numberEpochs"),
    (
        "nested",
        with_parameter("learningRate", {"parameters": {"a": {"value": 1}}}),
        "not nested parameters",
    ),
    (
        "metric not logged",
        {**GOOD, "metric": {"name": "accuracy", "goal": "maximize"}},
        "'accuracy' is not a metric the trials report",
    ),
    (
        "no metric",
        {k: v for k, v in GOOD.items() if k != "metric"},
        "pick the best trial by a metric",
    ),
    ("no goal", {**GOOD, "metric": {"name": "val_accuracy"}}, "needs goal 'maximize'"),
    (
        "wrong goal",
        {**GOOD, "metric": {"name": "val_loss", "goal": "maximize"}},
        "needs goal 'minimize'",
    ),
    ("schema", {**GOOD, "method": "grod"}, "method"),
    ("grid of a range", {**GOOD, "method": "grid"}, "grid search takes only"),
    ("parameters not a dict", {**GOOD, "parameters": 3}, "parameters"),
]

FILES = {
    "duplicate.yaml": "method: random\nmethod: grid\n",
    "broken.yaml": "method: random\nparameters: {learningRate: {value: 0.1}\n",
    "broken.json": '{"method": "random",,}',
    "list.yaml": "- method\n",
    "empty.yaml": "",
    "bad-train.yaml": "learningRate: 0\nbatchsize: 8\n",
    "seeded-train.yaml": "learningRate: 0.01\nseed: 3\n",
    "good.yaml": yaml_text(GOOD),
    "weighted.yaml": yaml_text(
        with_parameter("batchSize", {"values": [8, 64], "probabilities": [0.5, 0.5]})
    ),
    "grid.yaml": yaml_text(
        {**GOOD, "method": "grid", "parameters": {"hiddenLayerSize": {"values": [16]}}}
    ),
    "a-file": "not a folder",
    "no-data/.keep": "",
    "damaged-data/train-images-idx3-ubyte": "xx",
    "damaged-data/train-labels-idx1-ubyte": "xx",
    "damaged-data/t10k-images-idx3-ubyte": "xx",
    "damaged-data/t10k-labels-idx1-ubyte": "xx",
    "not-json/sweep.json": "{not json",
    "a-list/sweep.json": "[]",
    "no-runs/sweep.json": json.dumps({"version": 1, "id": "x", "seed": 0, "config": GOOD}),
    "bad-run/sweep.json": json.dumps(
        {"version": 1, "id": "x", "seed": 0, "config": GOOD, "runs": [{"index": 3}]}
    ),
    "thesis/chapter1.tex": "precious",
    "bad-search/search.json": "{}",
    "bad-stage/stage-1-coarse/sweep.json": "{",
    "empty-folder/.keep": "",
}

S = ["sweep", "--wandb", "disabled", "--dir", "{dir}"]
CASES = [
    *[
        (f"config: {name}", [*S, "--config", f"{{tmp}}/c{i}.yaml"], 2, words)
        for i, (name, _, words) in enumerate(CONFIGURATIONS)
    ],
    (
        "config: duplicate key",
        [*S, "--config", "{tmp}/duplicate.yaml"],
        2,
        "'method' is given twice (line 1 and line 2)",
    ),
    (
        "config: YAML",
        [*S, "--config", "{tmp}/broken.yaml"],
        2,
        "not valid YAML at line 3, column 1",
    ),
    (
        "config: JSON",
        [*S, "--config", "{tmp}/broken.json"],
        2,
        "not valid JSON at line 1, column 21",
    ),
    ("config: not a mapping", [*S, "--config", "{tmp}/list.yaml"], 2, "expected a mapping"),
    ("config: empty", [*S, "--config", "{tmp}/empty.yaml"], 2, "found an empty file"),
    ("config: missing", [*S, "--config", "{tmp}/nowhere.yaml"], 2, "nowhere.yaml: no such file"),
    ("config: a folder", [*S, "--config", "{tmp}"], 2, "is a folder, not a configuration file"),
    (
        "config: search",
        ["search", "--dir", "{dir}", "--config", "{tmp}/c0.yaml"],
        2,
        "did you mean",
    ),
    (
        "config: search's bayes stages",
        ["search", "--dir", "{dir}", "--config", "{tmp}/weighted.yaml"],
        2,
        "bayes in sweeps 0.3.0 fails on `probabilities`",
    ),
    (
        "config: --method disagrees",
        [*S, "--config", "{tmp}/good.yaml", "--method", "grid"],
        2,
        "disagree",
    ),
    ("train: bad file", ["train", "--config", "{tmp}/bad-train.yaml"], 2, "batchsize"),
    ("train: seed in file", ["train", "--config", "{tmp}/seeded-train.yaml"], 2, "seed in"),
    ("train: --set seed", ["train", "--set", "seed=3"], 2, "use --seed 3"),
    ("train: --set device", ["train", "--set", "device=cuda"], 2, "use --device cuda"),
    ("train: --set without =", ["train", "--set", "rotation"], 2, "--set expects KEY=VALUE"),
    (
        "train: unwritten exercise",
        ["train", "--use", "exercises", "--data", str(REAL_DATA), "--train-subset", "10"],
        2,
        "an exercise is not written yet",
    ),
    ("sweep: unwritten exercise", [*S, "--use", "exercises"], 2, "an exercise is not written yet"),
    ("--train-subset 0", [*S, "--train-subset", "0"], 2, "--train-subset 0: expected 1 to 55000"),
    ("--train-subset -5", ["train", "--train-subset", "-5"], 2, "--train-subset -5"),
    (
        "--train-subset too many",
        ["search", "--dir", "{dir}", "--train-subset", "60000"],
        2,
        "--train-subset 60000",
    ),
    ("--agents 0", [*S, "--agents", "0"], 2, "--agents 0: expected at least 1"),
    ("--agents -1", ["search", "--dir", "{dir}", "--agents", "-1"], 2, "--agents -1"),
    (
        "--scale 0",
        ["search", "--dir", "{dir}", "--scale", "0"],
        2,
        "--scale 0: expected a positive",
    ),
    ("--scale -2", ["search", "--dir", "{dir}", "--scale", "-2"], 2, "--scale -2"),
    ("--scale nan", ["search", "--dir", "{dir}", "--scale", "nan"], 2, "--scale nan"),
    ("--count 0", [*S, "--count", "0"], 2, "--count 0: expected at least 1"),
    ("--budget -5", [*S, "--budget", "-5"], 2, "--budget -5"),
    ("--budget inf", ["search", "--dir", "{dir}", "--budget", "inf"], 2, "--budget inf"),
    ("--seed -1", [*S, "--seed", "-1"], 2, "--seed -1"),
    ("--device tpu", [*S, "--device", "tpu"], 2, "--device tpu"),
    ("--device missing GPU", [*S, "--device", "cuda:99"], 2, "--device cuda:99"),
    ("--device of train", ["train", "--device", "cuda:99"], 2, "--device cuda:99"),
    ("--budget online", [*S[:2], "online", *S[3:], "--budget", "60"], 2, "no time budget online"),
    ("--agents online", [*S[:2], "online", *S[3:], "--agents", "2"], 2, "runs one agent"),
    ("--sweep-id offline", [*S, "--sweep-id", "abc"], 2, "needs --wandb online"),
    (
        "--sweep-id with --config",
        ["sweep", "--wandb", "online", "--sweep-id", "abc", "--config", "{tmp}/good.yaml"],
        2,
        "drop --config",
    ),
    (
        "data: missing",
        [*S, "--config", "{tmp}/good.yaml", "--data", "{tmp}/no-data"],
        3,
        "lacks train-images-idx3-ubyte",
    ),
    (
        "data: damaged",
        [*S, "--config", "{tmp}/good.yaml", "--data", "{tmp}/damaged-data"],
        3,
        "is truncated",
    ),
    ("data: of train", ["train", "--data", "{tmp}/no-data"], 3, "lacks"),
    ("data: of run", ["run", "--out", "{dir}", "--data", "{tmp}/no-data"], 3, "lacks"),
    (
        "--dir a file",
        [*S[:4], "{tmp}/a-file", "--config", "{tmp}/good.yaml"],
        4,
        "exists and is not a folder",
    ),
    (
        "--dir below a file",
        [*S[:4], "{tmp}/a-file/sub", "--config", "{tmp}/good.yaml"],
        4,
        "cannot be written",
    ),
    (
        "--dir not writable",
        [*S[:4], "/proc/kata-sweep", "--config", "{tmp}/good.yaml", "--data", str(REAL_DATA)],
        4,
        "cannot be written",
    ),
    (
        "--dir of something else",
        [*S[:4], "{tmp}/thesis", "--config", "{tmp}/good.yaml"],
        4,
        "not this command's",
    ),
    (
        "search --dir of something else",
        ["search", "--dir", "{tmp}/thesis"],
        4,
        "not this command's",
    ),
    (
        "damaged sweep.json",
        [*S[:4], "{tmp}/not-json", "--config", "{tmp}/good.yaml"],
        4,
        "sweep.json is damaged: not valid JSON",
    ),
    (
        "sweep.json a list",
        [*S[:4], "{tmp}/a-list", "--config", "{tmp}/good.yaml"],
        4,
        "holds a list",
    ),
    (
        "sweep.json without runs",
        [*S[:4], "{tmp}/no-runs", "--config", "{tmp}/good.yaml"],
        4,
        "'runs' is missing",
    ),
    (
        "sweep.json with a bad run",
        [*S[:4], "{tmp}/bad-run", "--config", "{tmp}/good.yaml"],
        4,
        "run 0 is not a run",
    ),
    ("damaged search.json", ["search", "--dir", "{tmp}/bad-search"], 4, "search.json is damaged"),
    ("damaged stage state", ["search", "--dir", "{tmp}/bad-stage"], 4, "sweep.json is damaged"),
    ("sync: no sweep", ["sync", "{tmp}/empty-folder"], 2, "holds no sweep"),
    ("sync: no folder", ["sync", "{tmp}/nowhere"], 2, "no such folder"),
    (
        "run: --out not writable",
        ["run", "--out", "/proc/kata-run", "--data", str(REAL_DATA)],
        4,
        "--out /proc/kata-run: cannot be written",
    ),
    ("config: one problem", [*S, "--config", "{tmp}/c0.yaml"], 2, "(1 problem):"),
    ("sync: damaged state", ["sync", "{tmp}/a-list"], 4, "holds a list"),
    ("run: --seed -1", ["run", "--out", "{dir}", "--seed", "-1"], 2, "--seed -1"),
    ("run: damaged stage state", ["run", "--out", "{tmp}/bad-job"], 4, "sweep.json is damaged"),
    (
        "agent-trial: not --KEY=VALUE",
        ["agent-trial", "learningRate", "--data", "{tmp}/no-data"],
        2,
        "--KEY=VALUE",
    ),
]
NEEDS_REAL_DATA = {c[0] for c in CASES if str(REAL_DATA) in c[1]}


@pytest.fixture
def files(tmp_path):
    for i, (_, config, _) in enumerate(CONFIGURATIONS):
        (tmp_path / f"c{i}.yaml").write_text(yaml_text(config))
    for name, text in FILES.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    job = tmp_path / "bad-job"  # a `kata run` job (default settings) whose search is damaged
    Job(job, JobSettings(preset="default", budget=None, seed=0, use="solutions")).open()
    (job / "search" / "stage-1-coarse").mkdir(parents=True)
    (job / "search" / "stage-1-coarse" / "sweep.json").write_text("[1")
    return tmp_path


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of `kata ARGV`; an exception escaping is a traceback."""
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(argv)
        except SystemExit as exit:  # argparse's own refusals
            status = exit.code
    return status, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("name, argv, status, words", CASES, ids=[c[0] for c in CASES])
def test_a_bad_input_is_one_clear_message_and_its_exit_status(
    files, monkeypatch, name, argv, status, words
):
    if name in NEEDS_REAL_DATA and not REAL_DATA.is_dir():
        pytest.skip(f"needs the real Fashion-MNIST files in {REAL_DATA}")
    monkeypatch.setenv("WANDB_MODE", "disabled")
    fresh = files / "fresh"
    before = sorted(p for p in files.rglob("*"))
    argv = [a.format(tmp=files, dir=fresh) for a in argv]
    got, out, err = run_cli(argv)
    assert (got, words in err) == (status, True), (argv, out, err)
    assert "Traceback" not in err and err.startswith("kata"), err
    assert not fresh.exists(), "a refused command wrote its folder"
    assert sorted(p for p in files.rglob("*")) == before, "a refused command wrote files"


# --- resuming with other settings ---------------------------------------------------------------


@pytest.mark.parametrize(
    "flags, words",
    [
        (["--train-subset", "50"], "train_subset 1000, not 50"),
        (
            ["--train-subset", "1000", "--use", "exercises"],
            "implementation 'solutions', not 'exercises'",
        ),
    ],
)
def test_a_sweep_resumed_with_other_settings_is_refused(tmp_path, monkeypatch, flags, words):
    monkeypatch.setattr(
        sweep_cli, "load_data", lambda args: (learnable_split(50, 1), learnable_split(20, 2))
    )
    monkeypatch.setattr(sweep_cli, "_configuration", lambda args, method: (GOOD, "test"))
    constants = {"seed": 0, "train_subset": 1000, "implementation": "solutions", "device": "cpu"}
    LocalSweep(tmp_path / "s", GOOD, wandb_mode="disabled", wandb_config=constants)
    status, _, err = run_cli(["sweep", "--dir", str(tmp_path / "s"), "--wandb", "disabled", *flags])
    assert status == 4 and words in err and "Traceback" not in err, err


def test_the_device_kind_is_the_identity_not_the_gpu_number(tmp_path):
    constants = {"train_subset": None, "implementation": "solutions", "device": "cuda:0"}
    LocalSweep(tmp_path, GOOD, wandb_mode="disabled", wandb_config=constants)
    LocalSweep(
        tmp_path, GOOD, wandb_mode="disabled", wandb_config={**constants, "device": "cuda:1"}
    )
    with pytest.raises(Exception, match="device 'cuda', not 'cpu'"):
        LocalSweep(
            tmp_path, GOOD, wandb_mode="disabled", wandb_config={**constants, "device": "cpu"}
        )


# --- Ctrl-C, as a user presses it -----------------------------------------------------------------


@pytest.mark.skipif(not REAL_DATA.is_dir(), reason="needs the real Fashion-MNIST files")
def test_ctrl_c_of_a_sweep_with_two_agents_is_one_line_and_status_130(tmp_path):
    (tmp_path / "c.yaml").write_text(
        yaml_text({**GOOD, "parameters": {**GOOD["parameters"], "numberEpochs": {"value": 30}}})
    )
    command = [sys.executable, "-m", "kata", "sweep", "--config", str(tmp_path / "c.yaml")]
    command += ["--dir", str(tmp_path / "s"), "--wandb", "disabled", "--agents", "2"]
    command += ["--data", str(REAL_DATA), "--train-subset", "2000", "--count", "4"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    state = tmp_path / "s" / "sweep.json"

    def training() -> bool:
        return state.exists() and any(r["history"] for r in json.loads(state.read_text())["runs"])

    deadline = time.monotonic() + 90
    while not training():
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert err.decode().strip() == "interrupted; run the same command to resume"
    runs = json.loads(state.read_text())["runs"]
    assert {r["state"] for r in runs} <= {"proposed", "finished"}  # put back, not failed
