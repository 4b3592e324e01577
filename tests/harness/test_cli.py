"""The command line: bad input is refused before anything runs."""

import json

import pytest
import yaml

from kata import cli, sweep_cli
from kata.cli import build_parser, main
from kata.config import TrialConfig
from kata.staged import best_finished
from kata.sweep import LocalSweep, RunRecord


def test_an_invalid_sweep_configuration_lists_every_problem_and_exits_2(tmp_path, capsys):
    bad = {
        "method": "random",
        "metric": {"name": "val_accuracy", "goal": "maximise"},
        "parameters": {
            "learningRate": {"distribution": "log_uniform", "min": 1e-4, "max": 0.1},
            "batchSize": {"values": []},
        },
    }
    path = tmp_path / "sweep.json"
    path.write_text(json.dumps(bad))
    state = tmp_path / "state"
    assert main(["sweep", "--config", str(path), "--dir", str(state), "--wandb", "disabled"]) == 2
    err = capsys.readouterr().err
    assert "goal" in err and "log_uniform" in err and "batchSize" in err
    assert not state.exists()  # nothing ran


def test_a_yaml_sweep_configuration_is_read_too(tmp_path, capsys):
    path = tmp_path / "sweep.yaml"
    path.write_text("method: grid\nparameters:\n  batchSize:\n    distribution: uniform\n")
    assert main(["sweep", "--config", str(path), "--dir", str(tmp_path / "s")]) == 2
    assert "batchSize" in capsys.readouterr().err


def test_an_unknown_hyperparameter_is_refused_with_status_2(capsys):
    assert main(["train", "--set", "batchsize=8"]) == 2
    assert "'batchsize'" in capsys.readouterr().err


def test_hint_and_list(capsys):
    assert main(["hint", "dropout"]) == 0
    assert "Exercise 4: dropout" in capsys.readouterr().out
    assert main(["list"]) == 0
    assert "6. sweep_config" in capsys.readouterr().out


def test_the_committed_stubs_pass_the_check(capsys):
    assert main(["stubs", "--check"]) == 0


# --- the same options everywhere; bad input is one message and status 2 -----------------------

ELEVEN = {
    "dataNormalisation": "True, False",
    "horizontalFlip": "True, False",
    "resizedCrop": "True, False",
    "rotation": "True, False",
    "numberHiddenLayers": "1, 2, 4",
    "hiddenLayerSize": "64, 256, 1024",
    "activationFunction": "sigmoid, tanh, ReLU",
    "dropoutProbability": "0 to 0.8",
    "numberEpochs": "5, 10",
    "learningRate": "1e-4 to 1e-1",
    "batchSize": "8, 64, 128",
}


def test_train_help_lists_the_eleven_hyperparameters_with_their_values(capsys):
    with pytest.raises(SystemExit) as exit:
        main(["train", "--help"])
    assert exit.value.code == 0
    out = capsys.readouterr().out
    for key, values in ELEVEN.items():
        line = next(line for line in out.splitlines() if line.split()[:1] == [key])
        assert values in line, line
    assert "--train-subset N" in out and "--config FILE" in out


@pytest.mark.parametrize("command", ["train", "sweep", "search"])
def test_every_command_takes_a_config_file_and_a_train_subset(command):
    args = build_parser().parse_args([command, "--config", "c.yaml", "--train-subset", "100"])
    assert (args.config, args.train_subset) == ("c.yaml", 100)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--config", "{missing}"], "missing.yaml: no such file"),
        (["sweep", "--config", "{missing}"], "missing.yaml: no such file"),
        (["search", "--config", "{missing}"], "missing.yaml: no such file"),
        (["train", "--config", "{list}"], "list.yaml: expected a mapping"),
        (["train", "--config", "{bad}"], "bad.yaml: not valid YAML"),
        (["train", "--config", "{unknown}"], "unknown key(s) ['batchsize']"),
        (["train", "--config", "{value}"], "activationFunction='softmax'"),
        (["train", "--set", "dropoutProbability=1.5"], "dropoutProbability=1.5"),
        (["train", "--set", "rotation"], "--set expects KEY=VALUE"),
        (["search", "--config", "{list}"], "list.yaml: expected a mapping"),
    ],
)
def test_bad_input_is_one_message_and_status_2(tmp_path, capsys, argv, message):
    files = {
        "list": "- 1\n",
        "bad": "a: [1\n",
        "unknown": "batchsize: 8\n",
        "value": "activationFunction: softmax\n",
    }
    for name, text in files.items():
        (tmp_path / f"{name}.yaml").write_text(text)
    argv = [a.format(**{n: tmp_path / f"{n}.yaml" for n in [*files, "missing"]}) for a in argv]
    assert main([*argv, "--dir", str(tmp_path / "d")] if argv[0] != "train" else argv) == 2
    out, err = capsys.readouterr()
    assert message in err and err.startswith("kata: ") and "Traceback" not in err
    assert out == "" and not (tmp_path / "d").exists()


def test_a_sweep_folder_with_another_configuration_is_refused_with_status_4(
    tmp_path, capsys, monkeypatch
):
    """As `kata run` refuses an --out folder of another job (status 4)."""
    monkeypatch.setattr(sweep_cli, "load_data", lambda args: tiny_splits())
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(tiny_sweep_config()))
    LocalSweep(tmp_path / "s", {**tiny_sweep_config(), "method": "random"})
    assert main(["sweep", "--config", str(path), "--dir", str(tmp_path / "s")]) == 4
    assert "different configuration" in capsys.readouterr().err


# --- the best configuration, printed and written, is what `train --config` reads ----------------


def tiny_splits():
    from tests.harness.synthetic import learnable_split

    return learnable_split(200, seed=1), learnable_split(50, seed=2)


def tiny_sweep_config():
    return {
        "method": "grid",
        "metric": {"name": "val_accuracy", "goal": "maximize"},
        "parameters": {
            "hiddenLayerSize": {"value": 16},
            "numberEpochs": {"value": 1},
            "batchSize": {"value": 50},
            "rotation": {"values": [False, True]},
            "learningRate": {"values": [3.2e-05, 3e-3]},
            "activationFunction": {"value": "tanh"},
            "dropoutProbability": {"value": 0.1},
        },
    }


def train_config(path):
    return cli._trial_config(build_parser().parse_args(["train", "--config", str(path)]))


def test_the_best_configuration_of_a_sweep_trains_with_train_config(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sweep_cli, "load_data", lambda args: tiny_splits())
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(tiny_sweep_config()))
    folder = tmp_path / "s"
    argv = ["sweep", "--config", str(path), "--dir", str(folder), "--wandb", "disabled"]
    assert main([*argv, "--quiet", "--agents", "1"]) == 0
    best = best_finished(LocalSweep(folder, tiny_sweep_config()).runs(), tiny_sweep_config())
    expected = TrialConfig.from_dict(best.params)
    assert train_config(folder / "best_config.yaml") == expected
    printed = capsys.readouterr().out.split("written to", 1)[1].split("\n", 1)[1]
    (tmp_path / "printed.yaml").write_text(printed)
    assert train_config(tmp_path / "printed.yaml") == expected


@pytest.mark.parametrize(
    "params",
    [
        {"learningRate": 3.2e-05, "numberEpochs": 0.0625, "batchSize": 8, "rotation": False},
        {"learningRate": 1e-4, "dropoutProbability": 0.0, "activationFunction": "ReLU"},
        {"learningRate": 0.1, "numberEpochs": 10, "hiddenLayerSize": 1024, "resizedCrop": True},
    ],
)
def test_a_written_best_configuration_round_trips(tmp_path, params):
    record = RunRecord(index=0, run_id="stage-1-coarse-0000", params=params, state="finished")
    path = cli.write_best_config(tmp_path, record, "a note")
    assert path.name == "best_config.yaml"
    assert train_config(path) == TrialConfig.from_dict(params)
