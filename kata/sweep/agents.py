"""Agents: the processes that run a sweep's trials, and how they live and die.

- Each agent has an id and records its process (host, pid, start time) in the runs it
  claims. Whether an agent is alive is asked of the process table for agents on this host
  (a process id can be reused: the start time tells), never of files a user may delete; an
  agent on another host (a shared folder) holds a lock file in `agents/` while it runs,
  whose lock dies with it. Stale lock files are removed.
- :func:`run_agents` forks agent processes that share the sweep. Each dies with the command
  that started it (the kernel's parent-death signal), and an interrupt (Ctrl-C, SIGTERM)
  puts a running trial back in the queue; one agent that dies is not a failed command if
  the others completed the sweep.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import signal
import socket
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import StateError, SweepError, TrialsKeepFailing

AGENTS_DIR = "agents"
INTERRUPTED = 130  # an agent's exit status after an interrupt: its trial is back in the queue
FAILING = 3  # an agent's exit status after consecutive errors of its trials
STATE_FAILED = 4  # an agent's exit status after an error of the state store
GRACE_SECONDS = 30  # how long an interrupted command waits for its agents to put trials back

_ACTIVE: set[str] = set()  # the agents running in this process


class Terminated(KeyboardInterrupt):
    """SIGTERM (or the parent's death), handled like Ctrl-C: the trial goes back in the
    queue and the command ends with "interrupted"."""


@dataclass(frozen=True)
class Agent:
    id: str
    host: str
    pid: int
    started: float | None  # the process's start time, in clock ticks since boot (Linux)

    def process(self) -> dict:
        return {"host": self.host, "pid": self.pid, "started": self.started}


def _process_start(pid: int) -> float | None:
    """The process's start time from /proc (None where there is no /proc, or no such
    process); a zombie counts as gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()
    if fields[0] in ("Z", "X"):  # dead, not yet reaped by its parent
        return None
    return float(fields[19])


def _pid_alive(pid: int, started: float | None) -> bool:
    if Path("/proc").is_dir():
        now = _process_start(pid)
        return now is not None and (started is None or now == started)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def agent_in(directory: Path) -> Iterator[Agent]:
    """An agent of the sweep in `directory`, alive for the block: registered in this
    process, with a lock file held for agents on other hosts."""
    folder = directory / AGENTS_DIR
    folder.mkdir(exist_ok=True)
    remove_stale_locks(folder)
    host, pid = socket.gethostname(), os.getpid()
    agent = Agent(f"{host}-{pid}-{uuid.uuid4().hex[:8]}", host, pid, _process_start(pid))
    path = folder / f"{agent.id}.lock"
    handle = open(path, "w")
    fcntl.flock(handle, fcntl.LOCK_EX)
    _ACTIVE.add(agent.id)
    try:
        yield agent
    finally:
        _ACTIVE.discard(agent.id)
        path.unlink(missing_ok=True)
        handle.close()


def is_alive(run: dict, directory: Path) -> bool:
    """Whether the agent that claimed `run` still runs."""
    agent = run.get("agent")
    if not agent:
        return False
    process = run.get("agent_process")
    if isinstance(process, dict) and process.get("host") == socket.gethostname():
        if process.get("pid") == os.getpid():
            return agent in _ACTIVE
        return _pid_alive(int(process["pid"]), process.get("started"))
    return _lock_held(directory / AGENTS_DIR / f"{agent}.lock")


def _lock_held(path: Path) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # also releases the lock if we got it
    return False


def remove_stale_locks(folder: Path) -> None:
    """Remove the lock files of agents of this host that are gone (killed agents leave
    theirs); another host's are left to it."""
    host = socket.gethostname()
    for path in folder.glob("*.lock"):
        owner, _, rest = path.stem.rpartition("-")[0].rpartition("-")
        if owner != host or not rest.isdigit():
            continue
        if not _pid_alive(int(rest), None) and not _lock_held(path):
            path.unlink(missing_ok=True)


# --- signals -----------------------------------------------------------------------------


def raise_terminated(signum, frame) -> None:
    """A signal handler: the signal as `Terminated` (a KeyboardInterrupt), as Ctrl-C is."""
    raise Terminated(signal.Signals(signum).name)


def handle_sigterm():
    """SIGTERM raises `Terminated` in this process from now on; the previous handler."""
    return signal.signal(signal.SIGTERM, raise_terminated)


def _interrupt_once(signum, frame) -> None:
    # An agent interrupted once is putting its trial back: a second signal must not cut that.
    # (A Python no-op, not SIG_IGN: a signal already pending would print a warning.)
    signal.signal(signal.SIGINT, _ignore)
    signal.signal(signal.SIGTERM, _ignore)
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise Terminated(signal.Signals(signum).name)


def _ignore(signum, frame) -> None:
    pass


def _die_with_parent(parent: int) -> None:
    """Ask the kernel for SIGTERM when the parent dies (Linux); if it already has, go."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:
        os._exit(INTERRUPTED)


# --- agent processes ---------------------------------------------------------------------


def run_agents(sweep, trial_fn, *, agents: int = 1, **run_options) -> None:
    """`sweep.run(trial_fn, **run_options)` in `agents` processes sharing the sweep.

    Each agent is a forked process with one torch thread: on a 2-core machine two such
    agents train small networks 1.3 to 1.7 times faster than one agent with two threads
    (figures in the changelog). With one agent, it runs in this process. Raises
    TrialsKeepFailing when an agent stopped after consecutive errors of its trials, and
    SweepError when an agent died and left a trial unfinished (run again to resume).
    """
    if agents <= 1:
        sweep.run(trial_fn, **run_options)
        return
    import multiprocessing

    context = multiprocessing.get_context("fork")
    messages = context.SimpleQueue()
    processes = [
        context.Process(
            target=_agent_main,
            args=(sweep, trial_fn, run_options, os.getpid(), messages),
            daemon=False,
        )
        for _ in range(agents)
    ]
    for process in processes:
        process.start()
    try:
        for process in processes:
            process.join()
    except KeyboardInterrupt:  # each agent puts its trial back; a second signal is ignored
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                if process.is_alive():
                    os.kill(process.pid, signal.SIGTERM)
        for process in processes:
            process.join(GRACE_SECONDS)
        raise
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()
                process.join()
    _check_agents(sweep, [p.exitcode for p in processes], _drain(messages))


def _drain(messages) -> list[tuple[str, str]]:
    found = []
    while not messages.empty():
        found.append(messages.get())
    return found


def _check_agents(sweep, codes: list[int | None], messages: list[tuple[str, str]]) -> None:
    for kind, text in messages:
        if kind == "failing":
            raise TrialsKeepFailing(text)
    for kind, text in messages:
        if kind == "state":
            raise StateError(text)
    abnormal = [code for code in codes if code != 0]
    if not abnormal:
        return
    left = sweep.interrupted_runs()
    if left:
        raise SweepError(
            f"{len(abnormal)} of {len(codes)} agents died (exit codes {abnormal}) and"
            f" {len(left)} trial(s) did not end ({', '.join(left)}): run the same command to"
            " resume"
        )
    print(
        f"note: {len(abnormal)} agent(s) died (exit codes {abnormal}); the others completed"
        " the sweep, their trials included",
        file=sys.stderr,
        flush=True,
    )


def _agent_main(sweep, trial_fn, run_options: dict, parent: int, messages) -> None:
    _die_with_parent(parent)
    signal.signal(signal.SIGINT, _interrupt_once)
    signal.signal(signal.SIGTERM, _interrupt_once)
    try:
        torch = sys.modules.get("torch")  # a trial that trains has imported it: fork kept it
        if torch is not None:
            torch.set_num_threads(1)
        sweep.run(trial_fn, **run_options)
    except KeyboardInterrupt:  # the trial is back in the queue; the parent says so, once
        sys.exit(INTERRUPTED)
    except TrialsKeepFailing as error:
        messages.put(("failing", str(error)))
        sys.exit(FAILING)
    except (SweepError, OSError) as error:
        messages.put(("state", str(error)))
        sys.exit(STATE_FAILED)


def default_agents(device: str = "cpu") -> int:
    """Two single-threaded agents on a CPU with at least two cores, else one."""
    return 2 if device == "cpu" and (os.cpu_count() or 1) >= 2 else 1
