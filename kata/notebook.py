"""What the notebooks under `notebooks/` share: one switch, one budget, friendly errors.

Every notebook starts with::

    from kata.notebook import setup
    nb = setup()

which reads two environment variables (a notebook's first cell may set them too):

- `KATA_USE`: whose code builds the pieces, `exercises` (the student's, the default) or
  `solutions` (the reference);
- `KATA_NOTEBOOK_BUDGET`: `assignment` (the default: the whole data set, 10 epochs, the
  main job's 30-minute search) or `ci` (a few thousand images, two epochs, an 80-second
  job: what `tox -e notebooks` runs to check the notebooks in under four minutes).

The notebooks' trainings print lines, not progress bars (a bar's carriage returns make a
saved notebook unreadable). `setup` also makes an error a student can fix (an exercise not
written yet, missing data, a job folder in the way) print one line that names the cell and
the reason instead of a traceback; any other error gets the same line above its traceback.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from .exercises import ROOT

USE_VARIABLE = "KATA_USE"
BUDGET_VARIABLE = "KATA_NOTEBOOK_BUDGET"
IMPLEMENTATIONS = ("exercises", "solutions")


class NotebookError(Exception):
    """A setting a notebook cannot use: the message says which and what to do."""


@dataclass(frozen=True)
class Budget:
    """How much a notebook trains: the assignment's own amount, or CI's check of it."""

    name: str
    train_images: int | None  # images a notebook's own trainings use (None: all 55,000)
    epochs: int  # epochs of a notebook's own trainings
    job_preset: str  # the main job's preset (kata.job.PRESETS)
    job_budget: float | None  # its wall-clock budget (None: the preset's)


BUDGETS = {
    "assignment": Budget("assignment", None, 10, "default", None),
    "ci": Budget("ci", 5_000, 2, "quick", 80.0),
}


@dataclass(frozen=True)
class Notebook:
    """The settings every cell of a notebook reads."""

    use: str
    budget: Budget

    def module(self, name: str) -> ModuleType:
        """One exercise module, the student's or the reference, as `use` says."""
        from .train import exercise_module

        return exercise_module(self.use, name)

    @property
    def job_dir(self) -> Path:
        """The main job the sweep and final-evaluation notebooks share, one per budget and
        implementation: a job's settings are fixed once it starts."""
        folder = ROOT / "runs" / f"notebooks-{self.budget.name}-{self.use}"
        return Path(os.path.relpath(folder))  # relative: the notebook's outputs show it

    def job(self):
        """The main job (`kata run`) of these settings: a line per stage here, a line per
        trial in its search/trials.log, no progress bars."""
        from .job import Job, JobSettings

        settings = JobSettings(
            preset=self.budget.job_preset, budget=self.budget.job_budget, use=self.use
        )
        return Job(
            self.job_dir, settings, progress=True, bars=False, trial_log=True, wandb="offline"
        )

    def splits(self):
        """The job's data: training and validation splits, the test split only on demand."""
        from .job import Splits

        return Splits.load()

    def train(self, splits, **hyperparameters):
        """Train one configuration as the budget says (its images and epochs: the
        assignment's 55,000 and 10, or CI's few); returns `kata.train.TrialResult`."""
        from .config import TrialConfig
        from .data import Split
        from .train import train_trial

        config = TrialConfig.from_dict({**hyperparameters, "numberEpochs": self.budget.epochs})
        train = splits.train
        if self.budget.train_images:
            n = self.budget.train_images
            train = Split(train.images[:n], train.labels[:n])
        return train_trial(config, train, splits.validation, progress=False, package=self.use)


def curve(label: str, result):
    """A training's learning curve in the form the report's figures take."""
    from dataclasses import asdict

    from .job_files import curve as history
    from .report_files import Curve

    return Curve(label, "notebook", label, history(asdict(e) for e in result.history))


def _choice(variable: str, default: str, valid: tuple[str, ...]) -> str:
    value = os.environ.get(variable, default).strip().lower()
    if value not in valid:
        raise NotebookError(
            f"{variable}={os.environ[variable]!r} is not one of {', '.join(valid)}; set it to"
            f" one of those (or unset it for {default!r}) and run the notebook again"
        )
    return value


def setup(use: str | None = None, budget: str | None = None) -> Notebook:
    """The notebook's settings (arguments win over the environment), friendly errors on."""
    if use is not None:
        os.environ[USE_VARIABLE] = use
    if budget is not None:
        os.environ[BUDGET_VARIABLE] = budget
    os.environ.setdefault("WANDB_MODE", "offline")
    os.environ.setdefault("WANDB_SILENT", "true")
    _install_error_handler()
    return Notebook(
        use=_choice(USE_VARIABLE, "exercises", IMPLEMENTATIONS),
        budget=BUDGETS[_choice(BUDGET_VARIABLE, "assignment", tuple(BUDGETS))],
    )


# --- errors a student can fix ------------------------------------------------------------


def _user_errors() -> tuple[type[BaseException], ...]:
    from .config import ConfigError
    from .data import DataCorruptError, DataNotFoundError
    from .job import JobError
    from .report_files import ReportError

    return (
        KeyboardInterrupt,
        NotImplementedError,
        NotebookError,
        ConfigError,
        DataNotFoundError,
        DataCorruptError,
        JobError,
        ReportError,
    )


def cell_title(source: str) -> str:
    """A cell's title: its first comment line, else its first line."""
    lines = [line.strip() for line in source.splitlines() if line.strip()]
    for line in lines:
        if line.startswith("#") and not line.startswith("# NBVAL"):
            return line.lstrip("# ").strip()
    return lines[0] if lines else "(empty cell)"


def failure_line(source: str, error: BaseException) -> str:
    """One line for a failed cell: which cell, and why, in the error's own words."""
    if isinstance(error, KeyboardInterrupt):
        return (
            f"This cell ({cell_title(source)!r}) was interrupted; run it again to go on (the"
            " main job resumes where it stopped, keeping every finished trial)"
        )
    reason = str(error) or type(error).__name__
    if isinstance(error, NotImplementedError):
        reason = f"not written yet: {reason}"
    return f"This cell ({cell_title(source)!r}) stopped: {reason}"


_current_cell = {"source": ""}  # the running cell's text, kept by a pre_run_cell hook


def _remember_cell(info) -> None:
    _current_cell["source"] = info.raw_cell or ""


def _install_error_handler() -> None:
    try:
        from IPython import get_ipython
    except ImportError:  # a plain Python session: normal tracebacks
        return
    shell = get_ipython()
    if shell is None:
        return
    user_errors = _user_errors()

    def handler(shell, kind, error, traceback, tb_offset=None):
        line = failure_line(_current_cell["source"], error)
        if isinstance(error, user_errors):
            shell._showtraceback(kind, error, [line])  # the error, shown as one line
        else:
            print(line)
            shell.showtraceback((kind, error, traceback), tb_offset=tb_offset)

    if _remember_cell not in shell.events.callbacks["pre_run_cell"]:
        shell.events.register("pre_run_cell", _remember_cell)
    shell.set_custom_exc((Exception, KeyboardInterrupt), handler)


# --- figures ------------------------------------------------------------------------------


def png(figure, dpi: int = 100) -> bytes:
    """A matplotlib figure as PNG bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()


def show(figure) -> None:
    """Show a matplotlib figure as a PNG in the notebook: it stays in the saved notebook and
    renders wherever the notebook is opened, with or without a running kernel."""
    from IPython.display import Image, display

    display(Image(png(figure)))


def show_file(path: str | Path) -> None:
    """Show a PNG file the job wrote (its report's figures)."""
    from IPython.display import Image, display

    display(Image(filename=str(path)))


def show_markdown(text: str) -> None:
    from IPython.display import Markdown, display

    display(Markdown(text))
