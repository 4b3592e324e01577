"""Fault injection: a small sweep with two forked agents and offline wandb logging, killed at
random points (the command, one agent, the other, Ctrl-C to the process group, SIGTERM),
resumed each time. Held to: 0 trials lost, 0 repeated, one complete wandb run per finished
trial (and every other run an accounted-for interrupted attempt), no orphan process.

The points are drawn from KATA_FAULT_SEED (default 0; the failure message names it).
"""

import os
import random
import signal
import subprocess
import time
from pathlib import Path

from kata.sweep import runs_to_upload
from kata.sweep.store import read_state
from kata.wandb_log import offline_runs, read_offline_run
from tests.harness.test_sweep import wait_for, worker, worker_env

GRID, EPOCHS, SLEEP = 12, 3, 0.12
# (whom, signal): the command, one of its agents (then, a moment later, Ctrl-C to the
# command, so that the round ends), or its whole process group (a terminal's Ctrl-C); each
# at a random moment of its run. A last round kills one agent and lets the other complete.
FAULTS = [
    ("command", signal.SIGKILL),
    ("agent 0", signal.SIGKILL),
    ("group", signal.SIGINT),
    ("agent 1", signal.SIGKILL),
    ("command", signal.SIGTERM),
]


def _stat(pid: int) -> tuple[int, str, str] | None:
    """(parent, state, start time) of a process, None if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), fields[0], fields[19]


def descendants(root: int) -> dict[int, str]:
    """Every process below `root`, with its start time (so a reused pid is not mistaken)."""
    table = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))):
            table[int(entry.name)] = stat
    found, frontier = {}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, _, start) in table.items():
            if ppid == parent and pid not in found:
                found[pid] = start
                frontier.append(pid)
    return found


def running(pid: int, start: str) -> bool:
    stat = _stat(pid)
    return stat is not None and stat[1] not in ("Z", "X") and stat[2] == start


def agents_of(command: int) -> list[int]:
    """The forked agent processes (children of the command that are not wandb's service)."""
    children = [
        pid
        for pid in descendants(command)
        if _stat(pid) and _stat(pid)[0] == command and b"wandb-core" not in _cmdline(pid)
    ]
    return sorted(children)


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _claimed_by(folder: Path, command: int) -> bool:
    """Whether an agent of `command` runs a trial (or the sweep has nothing left)."""
    state = read_state(folder / "sweep.json") if (folder / "sweep.json").exists() else None
    for run in (state or {"runs": []})["runs"]:
        pid = (run.get("agent_process") or {}).get("pid")
        if run["state"] == "running" and pid and (_stat(pid) or (0,))[0] == command:
            return True
    return False


def _wait(predicate, process, timeout=60.0) -> None:
    deadline = time.monotonic() + timeout
    while process.poll() is None and not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def finished_runs(folder: Path) -> dict[int, dict]:
    state = read_state(folder / "sweep.json") if (folder / "sweep.json").exists() else None
    return {r["index"]: r for r in (state or {"runs": []})["runs"] if r["state"] == "finished"}


def test_a_sweep_killed_at_random_points_loses_nothing_and_its_wandb_runs_match(
    tmp_path, monkeypatch
):
    seed = int(os.environ.get("KATA_FAULT_SEED", "0"))
    rng = random.Random(seed)
    folder = tmp_path / "sweep"
    command = worker(folder, "--grid", GRID, "--epochs", EPOCHS, "--sleep", SLEEP)
    command += ["--fork", 2, "--wandb", "offline"]
    command = [str(part) for part in command]
    env = worker_env()
    env.update(WANDB_MODE="offline", WANDB_SILENT="true", WANDB_DIR=str(tmp_path))
    for name in ("WANDB_CONFIG_DIR", "WANDB_CACHE_DIR", "WANDB_DATA_DIR"):
        env[name] = str(tmp_path / name.lower())
    kept: dict[int, dict] = {}  # every trial finished so far, as the state had it
    injected = survived = 0
    for whom, sig in FAULTS:
        context = f"KATA_FAULT_SEED={seed}, fault {injected + 1}: {whom} {sig.name}"
        process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, start_new_session=True)
        if injected:  # a random moment once this round's agents run trials
            _wait(lambda p=process: _claimed_by(folder, p.pid), process)
            moment = time.monotonic() + rng.uniform(0.0, 1.5)
        else:  # the first fault: a random moment of the command's start
            moment = time.monotonic() + rng.uniform(0.3, 2.0)
        while time.monotonic() < moment and process.poll() is None:
            time.sleep(0.01)
        if process.poll() is not None:  # the sweep completed before this fault
            assert process.returncode == 0, (context, process.stderr.read().decode())
            break
        tree = descendants(process.pid)
        agents = agents_of(process.pid)
        if whom == "group":
            os.killpg(process.pid, sig)
        elif whom.startswith("agent") and len(agents) == 2:
            os.kill(agents[int(whom.split()[1])], sig)
            time.sleep(rng.uniform(0.3, 1.5))  # the other agent goes on, reruns its trial
            if process.poll() is None:
                os.kill(process.pid, signal.SIGINT)
        else:  # the agents are not forked yet: the command takes the fault
            os.kill(process.pid, sig)
        injected += 1
        _, err = process.communicate(timeout=120)
        assert "Traceback" not in err.decode(), (context, err.decode())
        deadline = time.monotonic() + 20  # wandb's service notices its parent's death
        while any(running(p, s) for p, s in tree.items()) and time.monotonic() < deadline:
            time.sleep(0.1)
        orphans = [p for p, s in tree.items() if running(p, s)]
        assert orphans == [], (context, "orphans", [_cmdline(p) for p in orphans])
        now = finished_runs(folder)
        for index, run in kept.items():
            assert now.get(index) == run, (context, "a finished trial changed", index)
        kept = now
        survived += 1

    # The last round: one agent dies mid-trial while trials are left; the other reruns its
    # trial and completes the sweep, and the command succeeds.
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, start_new_session=True)

    def both_busy() -> bool:
        state = read_state(folder / "sweep.json") or {"runs": []}
        busy = [r for r in state["runs"] if r["state"] == "running" and r["history"]]
        return len(busy) == 2 and len(state["runs"]) <= GRID - 2

    wait_for(both_busy, process)
    os.kill(agents_of(process.pid)[0], signal.SIGKILL)
    injected += 1
    _, err = process.communicate(timeout=120)
    assert process.returncode == 0, (seed, err.decode())
    assert "1 agent(s) died" in err.decode() and "Traceback" not in err.decode()
    survived += 1
    assert injected >= 5 and survived == injected, (seed, injected, survived)
    state = read_state(folder / "sweep.json")
    runs = state["runs"]
    assert sorted(r["params"]["x"] for r in runs) == list(range(GRID)), seed  # 0 lost, 0 twice
    assert all(r["state"] == "finished" and len(r["history"]) == EPOCHS for r in runs), seed
    for index, run in kept.items():
        assert runs[index] == run, (seed, "a finished trial changed after the last fault")

    upload = runs_to_upload(folder)
    assert upload.unknown == [] and upload.missing == [], seed
    assert {p.name.rsplit("-", 1)[1] for p in upload.runs} == {r["wandb_run_id"] for r in runs}
    for path in upload.runs:  # one complete run per finished trial
        logged = read_offline_run(path)
        trial = next(r for r in runs if r["wandb_run_id"] == logged.run_id)
        assert logged.complete and logged.exit_code == 0, (seed, path)
        assert logged.name == trial["run_id"] and logged.summary["sweep_status"] == "finished"
        assert [step["epoch"] for step in logged.history] == list(range(1, EPOCHS + 1)), seed
    on_disk = set(offline_runs(folder).values())
    assert on_disk == set(upload.runs) | set(upload.interrupted), seed
    for path in upload.interrupted:  # an attempt Ctrl-C or SIGTERM ended says so
        logged = read_offline_run(path)
        if logged.preempting:
            assert logged.summary["sweep_status"] == "interrupted"
            assert logged.exit_code in (130, 143)
    print(
        f"faults injected {injected}, survived {survived}; {len(upload.runs)} runs to upload,"
        f" {len(upload.interrupted)} interrupted attempts (seed {seed})"
    )
