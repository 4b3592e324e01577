"""What every command of the CLI shares: exit statuses, the errors a user can cause (one
message each, never a traceback unless `--debug`), data and folder options."""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from .options import option_problems

# exit statuses, the same for every command (`kata run` documents them in its --help)
NO_RESULT = 1  # no trial finished, the training failed, or the trials kept failing
BAD_INPUT = 2  # a meaningless option, a bad configuration (argparse's status too)
NO_DATA = 3  # Fashion-MNIST missing or damaged
FOLDER_CONFLICT = 4  # the folder holds something else, was changed, or cannot be written
INTERRUPTED = 130  # Ctrl-C or SIGTERM, as the shell reports it
STATUS_HELP = (
    "exit status: 0 done, 1 no trial finished (or the trials kept failing), 2 a meaningless"
    " option or a bad configuration, 3 the data missing or damaged, 4 the folder holds"
    " something else, is damaged or cannot be written, 130 interrupted"
)


class CommandError(Exception):
    """Something the user can fix: `lines` say what, `status` is the exit status."""

    def __init__(self, lines: list[str] | str, status: int):
        self.lines = [lines] if isinstance(lines, str) else list(lines)
        self.status = status
        super().__init__("\n".join(self.lines))


def refuse_meaningless(args: argparse.Namespace, extra: list[str] | None = None) -> None:
    """CommandError (status 2) listing every meaningless option of `args`."""
    problems = option_problems(args) + (extra or [])
    if problems:
        raise CommandError(problems, BAD_INPUT)


def status_of(error: BaseException) -> int | None:
    """The exit status of an error a user can cause; None for a bug (its traceback shows)."""
    from .config import ConfigError
    from .data import DataCorruptError, DataNotFoundError
    from .sweep import SweepConfigError, SweepError, TrialsKeepFailing

    if isinstance(error, CommandError):
        return error.status
    if isinstance(error, ConfigError | SweepConfigError):
        return BAD_INPUT
    if isinstance(error, DataNotFoundError | DataCorruptError):
        return NO_DATA
    if isinstance(error, TrialsKeepFailing):
        return NO_RESULT
    if isinstance(error, SweepError):
        return FOLDER_CONFLICT
    if isinstance(error, NotImplementedError) and "python -m kata hint" in str(error):
        return BAD_INPUT  # an exercise not written yet, with its hint
    return None


def message_of(error: BaseException) -> str:
    if isinstance(error, NotImplementedError):
        return f"an exercise is not written yet: {error}"
    return str(error)


def guarded(run: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """`run(args)`, with every error a user can cause as `kata: message` lines on stderr and
    its exit status; Ctrl-C as one line. `args.debug` lets the traceback through."""
    debug = getattr(args, "debug", False)
    try:
        return run(args)
    except KeyboardInterrupt:
        if debug:
            raise
        resume = "; run the same command to resume" if getattr(args, "resumable", False) else ""
        print(f"\ninterrupted{resume}", file=sys.stderr, flush=True)
        return INTERRUPTED
    except Exception as error:
        status = status_of(error)
        if status is None or debug:
            raise
        if isinstance(error, CommandError):  # separate problems, one line each
            lines = [f"kata: {line}" for line in error.lines]
        else:
            lines = [f"kata: {message_of(error) or type(error).__name__}"]
        print("\n".join(lines), file=sys.stderr)
        return status


# --- options every training command takes -----------------------------------------------------


def add_data_options(parser: argparse.ArgumentParser, subset_help: str) -> None:
    parser.add_argument(
        "--data",
        metavar="DIR",
        help="the folder with the Fashion-MNIST files (default: $FASHION_MNIST_DIR, then "
        "data/fashion-mnist, then /usr/share/datasets/fashion-mnist)",
    )
    parser.add_argument("--train-subset", type=int, metavar="N", help=subset_help)


def add_debug_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--debug", action="store_true", help="a traceback for every error, not one line"
    )


def load_data(args: argparse.Namespace):
    """(train, validation) from `--data` (or the usual places), the first `--train-subset`
    training images if given."""
    from .data import load_development_splits

    train, validation = load_development_splits(getattr(args, "data", None))
    subset = getattr(args, "train_subset", None)
    if subset:
        train = type(train)(train.images[:subset], train.labels[:subset])
    return train, validation


# --- folders ---------------------------------------------------------------------------------


def existing_folder(path: str, flag: str, *, belongs: Callable[[Path], bool]) -> Path:
    """`path` as a folder a command may use: new, empty, or one that `belongs` to it;
    CommandError (status 4) for a file, or a folder that holds something else."""
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise CommandError(f"{flag} {path}: exists and is not a folder", FOLDER_CONFLICT)
    above = next((p for p in folder.absolute().parents if p.exists()), None)
    if not folder.exists() and above is not None and not above.is_dir():
        raise CommandError(f"{flag} {path}: cannot be written ({above} is a file)", FOLDER_CONFLICT)
    if folder.is_dir() and any(folder.iterdir()) and not belongs(folder):
        raise CommandError(
            f"{flag} {path}: already holds files that are not this command's; choose an"
            " empty or new folder",
            FOLDER_CONFLICT,
        )
    return folder


def writable_folder(folder: Path, flag: str) -> Path:
    """Create `folder` and prove it writable (root ignores permission bits: try a file)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise CommandError(
            f"{flag} {folder}: cannot be written ({error.strerror or error})", FOLDER_CONFLICT
        ) from None
    return folder
