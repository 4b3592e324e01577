"""A sweep's state on disk: one JSON file (`sweep.json`), rewritten atomically, under a lock.

Every change is a read-modify-write under an exclusive `fcntl.flock` of `sweep.lock`, so
several agent processes can share a sweep. A write goes to a temporary file in the same
folder, is fsynced, renamed over the state file, and the folder is fsynced after the rename
(so a power cut keeps either the old or the new state, never none). A temporary file left by
a killed writer is removed at the next open. A state file that does not hold a sweep's
state is refused with a message naming it, never read half-way.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path

from .errors import SweepError
from .records import RUN_STATES

STATE_FILE = "sweep.json"
LOCK_FILE = "sweep.lock"
STATE_VERSION = 1


class StateStore:
    """The state file of the sweep in `directory`."""

    def __init__(self, directory: str | os.PathLike):
        self.directory = Path(directory)
        self.path = self.directory / STATE_FILE

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        with open(self.directory / LOCK_FILE, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def read(self) -> dict | None:
        """The state, None if there is none yet; SweepError if the file is damaged."""
        return read_state(self.path)

    def write(self, state: dict) -> None:
        """Atomically: a temporary file in the same folder, fsync, rename, fsync the folder."""
        fd, tmp = tempfile.mkstemp(prefix=f".{STATE_FILE}.", suffix=".tmp", dir=self.directory)
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(state, f, indent=1, allow_nan=False)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        _fsync_folder(self.directory)

    def remove_stale_temporary_files(self) -> None:
        """Under the lock no write is half-way: any temporary state file is a killed one's."""
        for stale in self.directory.glob(f".{STATE_FILE}.*.tmp"):
            stale.unlink(missing_ok=True)

    def open(self, config: dict, seed: int, name: str, identity: Mapping) -> dict:
        """The state of the sweep in the folder, created if there is none; SweepError if it
        holds another sweep (another configuration, seed or identity)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with self.locked():
            self.remove_stale_temporary_files()
            state = self.read()
            if state is None:
                state = {
                    "version": STATE_VERSION,
                    "id": uuid.uuid4().hex,
                    "name": name,
                    "seed": seed,
                    "config": config,
                    "identity": dict(identity),
                    "created_at": time.time(),
                    "runs": [],
                }
                self.write(state)
                return state
            self._check_same(state, config, seed, identity)
            if "id" not in state or "identity" not in state:  # a sweep from before either
                state.setdefault("id", uuid.uuid4().hex)
                state.setdefault("identity", dict(identity))
                self.write(state)
            return state

    def _check_same(self, state: dict, config: dict, seed: int, identity: Mapping) -> None:
        if state["config"] != config:
            keys = sorted(
                k
                for k in set(state["config"]) | set(config)
                if state["config"].get(k) != config.get(k)
            )
            raise SweepError(
                f"{self.directory} holds a sweep with a different configuration (differs in:"
                f" {', '.join(keys)}); resume it with the configuration in {self.path},"
                " or start the new configuration in another directory"
            )
        if state["seed"] != seed:
            raise SweepError(
                f"{self.directory} holds a sweep with seed {state['seed']}, not {seed};"
                " resume it with the same seed, or use another directory"
            )
        # Only what the caller names is compared: a reader that names nothing conflicts
        # with nothing.
        stored = state.get("identity") or {}
        changed = [
            f"{key} {stored[key]!r}, not {identity[key]!r}"
            for key in sorted(identity)
            if key in stored and stored[key] != identity[key]
        ]
        if changed:
            raise SweepError(
                f"{self.directory} holds a sweep run with {'; '.join(changed)}: its trials"
                " would mix with trials of other settings. Resume it with the same settings,"
                " or use another directory"
            )


def read_state(path: Path) -> dict | None:
    """The sweep state in `path` (None if there is no file), checked to be one."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise SweepError(f"{path} cannot be read: {error}") from None
    try:
        state = json.loads(text)
    except json.JSONDecodeError as error:
        raise _damaged(path, f"not valid JSON ({error})") from None
    problem = _state_problem(state)
    if problem:
        raise _damaged(path, problem)
    return state


def _damaged(path: Path, problem: str) -> SweepError:
    return SweepError(
        f"{path} is damaged: {problem}. Restore it from a backup, or start the sweep in"
        " another directory"
    )


def _state_problem(state) -> str | None:
    """What makes `state` not a sweep's state, None if it is one."""
    if not isinstance(state, dict):
        return f"it holds a {type(state).__name__}, not a sweep's state"
    if state.get("version") != STATE_VERSION:
        return f"state version {state.get('version')!r}, expected {STATE_VERSION}"
    fields = {"seed": int, "config": dict, "runs": list}
    for key, kind in fields.items():
        if not isinstance(state.get(key), kind):
            return f"{key!r} is missing or not a {kind.__name__}"
    if not isinstance(state.get("id", ""), str):
        return "'id' is not a str"
    run_fields = {
        "run_id": str,
        "params": dict,
        "engine_params": dict,
        "history": list,
        "summary": dict,
    }
    for position, run in enumerate(state["runs"]):
        if not isinstance(run, dict) or run.get("index") != position:
            return f"run {position} is not a run with index {position}"
        for key, kind in run_fields.items():
            if not isinstance(run.get(key), kind):
                return f"run {position}: {key!r} is missing or not a {kind.__name__}"
        if run.get("state") not in RUN_STATES:
            return f"run {position}: state {run.get('state')!r} is not one of {sorted(RUN_STATES)}"
    return None


def _fsync_folder(directory: Path) -> None:
    """Make a rename in `directory` durable (POSIX: the folder's entry is data too)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot fsync a folder; the rename itself is atomic
    finally:
        os.close(fd)
