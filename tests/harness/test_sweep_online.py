"""The online path (`--wandb online`), against recorded calls: no account, no network.

What W&B's agents do is taken from wandb's own code (wandb/agents/pyagent.py for
`wandb.agent`, wandb/wandb_agent.py for `wandb agent`): the in-process agent stops a run by
raising a bare `Exception` in its thread and counts a run whose function raised as failed;
the command-line agent runs the sweep's `command` with `${args}` expanded by
`create_sweep_command_args` and stops a run with SIGTERM. Not verified here: W&B's server
itself (creating the sweep, proposing runs, early termination decisions, requeueing a
preempted run), and `wandb agent` started by hand on another machine.
"""

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
from kata.sweep import MAX_CONSECUTIVE_ERRORS, agent_command, online, run_online
from kata.wandb_log import offline_runs, read_offline_run
from tests.harness.synthetic import TINY_SWEEP, learnable_split

ROOT = Path(__file__).resolve().parents[2]
REAL_DATA = Path("/usr/share/datasets/fashion-mnist")


class FakeRun:
    def __init__(self, config):
        self.id, self.config = f"run{id(self) % 1000}", config
        self.logged, self.summary, self.exit_code, self.preempting = [], {}, None, False

    def log(self, metrics):
        self.logged.append(metrics)

    def mark_preempting(self):
        self.preempting = True

    def finish(self, exit_code=0):
        if self.exit_code is None:  # wandb: a finished run stays finished
            self.exit_code = exit_code


class FakeWandb:
    """Records wandb.sweep, wandb.init and wandb.agent; the agent treats the run's function
    as pyagent does: an exception out of it is a failed run (finish with exit code 1)."""

    def __init__(self, proposals):
        self.proposals, self.runs, self.calls, self.outcomes = proposals, [], {}, []

    def sweep(self, config, project=None, entity=None):
        self.calls["sweep"] = (config, project, entity)
        return "sw33p"

    def init(self, **kwargs):
        self.runs.append(FakeRun(self.proposals[len(self.runs)]))
        return self.runs[-1]

    def agent(
        self,
        sweep_id,
        function=None,
        count=None,
        project=None,
        entity=None,
        max_consecutive_failed_runs=None,
    ):
        options = {"max_consecutive_failed_runs": max_consecutive_failed_runs}
        self.calls["agent"] = (sweep_id, count, project, entity, options)
        for _ in range(count):
            try:
                function()
                self.outcomes.append("done")
            except Exception as error:  # pyagent: RunStatus.ERRORED, counted as a failure
                self.outcomes.append(f"errored: {error}")
                self.runs[-1].finish(exit_code=1)


@pytest.fixture
def fake_wandb(monkeypatch):
    wandb = pytest.importorskip("wandb")

    def install(proposals):
        fake = FakeWandb(proposals)
        for name in ("sweep", "init", "agent"):
            monkeypatch.setattr(wandb, name, getattr(fake, name))
        return fake

    return install


CONFIG = {
    "method": "random",
    "metric": {"name": "score", "goal": "maximize"},
    "parameters": {"x": {"min": 0.0, "max": 1.0}, "how": {"values": ["ok", "stop", "boom", "bad"]}},
}


def trial(params, report):
    assert report({"epoch": 1, "score": params["x"]}) is False  # stops come from the agent
    if params["how"] == "stop":
        raise Exception()  # what pyagent's _terminate_thread raises in the trial's thread
    if params["how"] == "boom":
        raise RuntimeError("boom")
    if params["how"] == "bad":
        return {"status": "finished", "summary": {"scor": 1}}  # a bug: no metric
    return {"status": "finished", "reason": None, "summary": {"score": params["x"]}}


def test_an_agent_s_stop_is_stopped_and_real_errors_reach_the_agent(fake_wandb):
    fake = fake_wandb([{"x": 0.1, "how": h} for h in ("ok", "stop", "boom", "bad")])
    command = agent_command(["--seed", "0"])
    assert run_online(CONFIG, trial, project="kata", count=4, command=command) == "sw33p"
    sent, project, _ = fake.calls["sweep"]
    assert sent["command"] == [*online.ENTRY_POINT, "--seed", "0", "${args}"]
    assert sent["parameters"] == CONFIG["parameters"] and project == "kata"
    assert fake.calls["agent"][:2] == ("sw33p", 4)
    assert fake.calls["agent"][4] == {"max_consecutive_failed_runs": MAX_CONSECUTIVE_ERRORS}
    ok, stop, boom, bad = fake.runs
    assert fake.outcomes[:2] == ["done", "done"]  # a stop is no failure of the agent
    assert (ok.exit_code, ok.summary["sweep_status"], ok.summary["score"]) == (0, "finished", 0.1)
    assert (stop.exit_code, stop.summary["sweep_status"]) == (0, "stopped")
    assert fake.outcomes[2] == "errored: boom" and boom.exit_code == 1
    assert boom.summary["sweep_reason"] == "RuntimeError: boom"
    assert fake.outcomes[3].startswith("errored: the trial's summary has no 'score'")
    assert bad.exit_code == 1 and bad.summary["sweep_status"] == "failed"


def test_ctrl_c_under_the_agent_is_an_interrupted_run_not_a_stop(fake_wandb):
    fake = fake_wandb([{"x": 0.5, "how": "stop"}])

    def interrupted_trial(params, report):
        online._interrupted.set()  # the main thread got Ctrl-C; pyagent then stops its runs
        raise Exception()

    with pytest.raises(KeyboardInterrupt):
        run_online(CONFIG, interrupted_trial, project="kata", count=1)
    (run,) = fake.runs
    assert run.preempting and run.exit_code == 130 and run.summary["sweep_status"] == "interrupted"


def tiny_config(path: Path) -> Path:
    path.write_text(yaml.safe_dump(TINY_SWEEP))
    return path


def test_kata_sweep_online_creates_or_joins_and_says_how_to_add_agents(
    fake_wandb, tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(
        sweep_cli, "load_data", lambda args: (learnable_split(60, 1), learnable_split(20, 2))
    )
    proposals = [{"hiddenLayerSize": 16, "numberEpochs": 1, "learningRate": 0.005}] * 3
    fake = fake_wandb(proposals)
    argv = ["sweep", "--wandb", "online", "--config", str(tiny_config(tmp_path / "c.yaml"))]
    argv += ["--dir", str(tmp_path / "w"), "--count", "2", "--train-subset", "60"]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    sent = fake.calls["sweep"][0]
    assert sent["command"][:5] == online.ENTRY_POINT and sent["command"][-1] == "${args}"
    options = sent["command"][5:-1]
    assert options[options.index("--train-subset") + 1] == "60" and "--metric" in options
    assert "the number of trials this agent runs" in err  # --count online is per agent
    assert "wandb agent fashion-mnist-kata/sw33p" in out
    assert fake.outcomes == ["done", "done"]  # trained (tiny data: at chance, "failed")
    assert all(r.summary["sweep_status"] in ("finished", "failed") for r in fake.runs)

    fake = fake_wandb(proposals)  # --sweep-id joins: no new sweep
    assert (
        main(
            [
                "sweep",
                "--wandb",
                "online",
                "--sweep-id",
                "abc",
                "--count",
                "1",
                "--dir",
                str(tmp_path / "w"),
            ]
        )
        == 0
    )
    assert "sweep" not in fake.calls and fake.calls["agent"][:2] == ("abc", 1)


def _agent_launch(options: list[str], hyperparameters: dict) -> list[str]:
    """The command line `wandb agent` runs for one trial (wandb_agent.Agent._command_run),
    with this environment's Python for its `python`."""
    from wandb.sdk.launch.sweeps import utils

    expanded = utils.create_sweep_command_args(
        {"args": {k: {"value": v} for k, v in hyperparameters.items()}}
    )
    values = {"env": [], "interpreter": [sys.executable], "args": expanded["args"]}
    launched = []
    for part in utils.create_sweep_command(agent_command(options)):
        launched += values[part[2:-1]] if part.startswith("${") else [part]
    return launched


@pytest.mark.real_data
@pytest.mark.skipif(not REAL_DATA.is_dir(), reason="needs the real Fashion-MNIST files")
def test_the_command_wandb_agent_runs_trains_logs_and_stops_on_sigterm(tmp_path):
    options = ["--seed", "0", "--use", "solutions", "--device", "cpu", "--metric", "val_accuracy"]
    options += ["--train-subset", "300", "--data", str(REAL_DATA)]
    params = {"hiddenLayerSize": 16, "batchSize": 50, "learningRate": 0.01, "rotation": False}
    env = {
        **os.environ,
        "WANDB_MODE": "offline",
        "WANDB_DIR": str(tmp_path),
        "WANDB_SILENT": "true",
    }

    def launch(run_id: str, epochs: int):
        command = _agent_launch(options, {**params, "numberEpochs": epochs})
        return subprocess.Popen(
            command, cwd=ROOT, env={**env, "WANDB_RUN_ID": run_id}, stderr=subprocess.PIPE
        )

    stopping = launch("stopme", 1000)  # stopped by the agent (SIGTERM) long before the end
    finished = launch("finishme", 1)
    _, err = finished.communicate(timeout=120)
    assert finished.returncode == 0, err.decode()
    while "stopme" not in offline_runs(tmp_path):
        assert stopping.poll() is None, stopping.communicate()
        time.sleep(0.1)
    time.sleep(1.0)
    stopping.send_signal(signal.SIGTERM)  # the command-line agent's stop
    _, err = stopping.communicate(timeout=60)
    assert stopping.returncode == 0, err.decode()

    done = read_offline_run(offline_runs(tmp_path)["finishme"])
    assert done.exit_code == 0 and done.summary["sweep_status"] == "finished"
    assert len(done.history) == 1 and 0 < done.history[0]["val_accuracy"] <= 1
    stopped = read_offline_run(offline_runs(tmp_path)["stopme"])
    assert stopped.exit_code == 0 and stopped.summary["sweep_status"] == "stopped"
