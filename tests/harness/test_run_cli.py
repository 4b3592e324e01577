"""`kata run` refuses what a user can get wrong: one message, a distinct exit status."""

import pytest

import kata.run_cli as run_cli
from kata.cli import main
from kata.data import DataNotFoundError
from kata.job import BAD_INPUT, BUDGET_TOO_SMALL, FOLDER_CONFLICT, NO_DATA


def refused(capsys, *args) -> tuple[int, str]:
    status = main(["run", *args])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return status, captured.err


def test_an_unknown_flag_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as error:
        main(["run", "--budgte", "60"])
    assert error.value.code == 2
    assert "--budgte" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args, words",
    [
        (["--budget", "-5"], "--budget -5"),
        (["--train-subset", "3"], "--train-subset 3"),
        (["--agents", "0"], "--agents 0"),
        (["--device", "tpu"], "--device tpu"),
        (["--device", "cuda:7"], "--device cuda:7"),
    ],
)
def test_bad_flags_are_named(capsys, tmp_path, args, words):
    status, err = refused(capsys, "--out", str(tmp_path / "run"), *args)
    assert status == BAD_INPUT and words in err
    assert not (tmp_path / "run").exists()


def test_a_budget_too_small_for_one_trial(capsys, tmp_path):
    status, err = refused(capsys, "--out", str(tmp_path / "run"), "--budget", "10")
    assert status == BUDGET_TOO_SMALL and "too small" in err
    assert not (tmp_path / "run").exists()


def test_an_out_folder_holding_something_else(capsys, tmp_path):
    (tmp_path / "thesis.tex").write_text("precious")
    status, err = refused(capsys, "--out", str(tmp_path))
    assert status == FOLDER_CONFLICT and "not a `kata run` job" in err
    status, err = refused(capsys, "--out", str(tmp_path / "thesis.tex"))
    assert status == FOLDER_CONFLICT and "not a folder" in err
    assert (tmp_path / "thesis.tex").read_text() == "precious"


def test_missing_data_is_one_message_with_how_to_get_it(capsys, tmp_path, monkeypatch):
    def missing(*path):
        raise DataNotFoundError(
            "Fashion-MNIST not found: ... apt-get install dataset-fashion-mnist"
        )

    monkeypatch.setattr(run_cli.Splits, "load", staticmethod(missing))
    status, err = refused(capsys, "--out", str(tmp_path / "run"))
    assert status == NO_DATA and "apt-get install dataset-fashion-mnist" in err
    assert not (tmp_path / "run").exists()  # nothing written before the data was there
