"""The command line: bad input is refused before anything runs."""

import json

from kata.cli import main


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
