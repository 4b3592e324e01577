"""The committed notebooks are a submission: executed top to bottom, outputs kept, no error.

nbval (`tox -e notebooks`) re-runs them and compares the outputs that must not change;
this checks what nbval cannot: that the notebooks are committed executed at all.
"""

import json
from pathlib import Path

import pytest

from kata.notebook import NotebookError, cell_title, failure_line, setup

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))
IGNORE = "# NBVAL_IGNORE_OUTPUT"


def code_cells(path: Path) -> list[dict]:
    cells = json.loads(path.read_text())["cells"]
    return [c for c in cells if c["cell_type"] == "code" and "".join(c["source"]).strip()]


@pytest.fixture(autouse=True)
def _environment(monkeypatch):
    """`setup` sets wandb's variables for the notebook's process: keep them out of ours."""
    for name in ("KATA_USE", "KATA_NOTEBOOK_BUDGET", "WANDB_MODE", "WANDB_SILENT"):
        monkeypatch.delenv(name, raising=False)


def test_the_five_notebooks_are_there():
    assert [p.name.split("-")[0] for p in NOTEBOOKS] == ["1", "2", "3", "4", "5"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_a_notebook_is_committed_executed_in_order_without_errors(path):
    cells = code_cells(path)
    counts = [c["execution_count"] for c in cells]
    assert None not in counts, f"{path.name}: cells never run (execution_count null): {counts}"
    assert counts == list(range(1, len(cells) + 1)), f"{path.name}: not run top to bottom: {counts}"
    for cell in cells:
        title = cell_title("".join(cell["source"]))
        assert cell["outputs"], f"{path.name}, cell {title!r}: committed without outputs"
        errors = [o for o in cell["outputs"] if o["output_type"] == "error"]
        assert not errors, f"{path.name}, cell {title!r}: committed with an error: {errors[0]}"
        text = json.dumps(cell["outputs"])
        assert "This cell (" not in text, f"{path.name}, cell {title!r}: a stopped cell"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_figure_cell_holds_its_picture(path):
    for cell in code_cells(path):
        source = "".join(cell["source"])
        if "show(" in source or "show_file(" in source:
            pictures = [o for o in cell["outputs"] if "image/png" in o.get("data", {})]
            assert pictures, f"{path.name}, cell {cell_title(source)!r}: no image in its outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_some_outputs_are_checked_strictly(path):
    strict = [c for c in code_cells(path) if not "".join(c["source"]).startswith(IGNORE)]
    assert strict, f"{path.name}: every output ignored, nbval would check nothing"


def test_a_failed_cell_is_named_with_its_reason():
    source = "# NBVAL_IGNORE_OUTPUT\n# Train both\nresults = nb.train(splits)"
    error = NotImplementedError("exercise 4 (dropout): Dropout.forward ... yours to write")
    line = failure_line(source, error)
    assert line == (
        "This cell ('Train both') stopped: not written yet: exercise 4 (dropout):"
        " Dropout.forward ... yours to write"
    )
    assert cell_title("x = 1\n") == "x = 1"


@pytest.mark.parametrize("variable", ["KATA_USE", "KATA_NOTEBOOK_BUDGET"])
def test_a_bad_setting_is_named(monkeypatch, variable):
    monkeypatch.setenv(variable, "everything")
    with pytest.raises(NotebookError, match=f"{variable}='everything' is not one of"):
        setup()


def test_the_settings_choose_the_code_and_the_budget(monkeypatch):
    default = setup()
    assert (default.use, default.budget.name, default.budget.epochs) == (
        "exercises",
        "assignment",
        10,
    )
    monkeypatch.setenv("KATA_USE", "Solutions")
    monkeypatch.setenv("KATA_NOTEBOOK_BUDGET", "ci")
    ci = setup()
    assert (ci.use, ci.budget.name) == ("solutions", "ci")
    assert ci.module("mlp").__name__ == "solutions.mlp"
    assert ci.job_dir != default.job_dir


def test_an_interrupted_cell_says_how_to_go_on():
    line = failure_line("# The search\nresults = job.search(splits)", KeyboardInterrupt())
    assert line.startswith("This cell ('The search') was interrupted; run it again")
