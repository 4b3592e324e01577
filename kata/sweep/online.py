"""The same sweep on W&B's servers: `wandb.sweep`, then `wandb.agent` or `wandb agent`.

Needs an account and network; the W&B server runs sweeps 0.3.0 itself, traps included.
The sweep's configuration carries a `command`, so that `wandb agent ENTITY/PROJECT/SWEEP_ID`
on any machine with this repository runs `python -m kata agent-trial ... ${args}`: one trial,
its hyperparameters from the `--KEY=VALUE` arguments the agent appends, logged to the run
the agent made. How a trial ends, as W&B's agents read it:

- finished, or failed as a result (diverged): the run ends with its status, exit code 0
  (1 for failed, in the run's record) and the agent goes on;
- stopped by the sweep's early termination: the in-process agent (`wandb.agent`) raises a
  bare `Exception` in the trial's thread, `wandb agent` sends SIGTERM: either way the run is
  "stopped" with exit code 0, never a failure;
- an error (an exception, a malformed result): it reaches the agent (exit status 1 for
  `wandb agent`), whose guard stops after MAX_CONSECUTIVE_ERRORS failed runs in a row, as
  the local agents do;
- interrupted (Ctrl-C): the run is marked preempting, exit code 130, and W&B requeues it.

`count` is W&B's: the trials *this agent* runs (locally it is the sweep's total).
"""

from __future__ import annotations

import inspect
import signal
import sys
import threading
from collections.abc import Callable

from .. import wandb_log
from .agents import Terminated
from .checks import schema_problems
from .errors import SweepConfigError, SweepError
from .local import MAX_CONSECUTIVE_ERRORS
from .records import check_outcome, is_malformed
from .trial import METRIC, TrialFn
from .values import json_normalize, plain

ENTRY_POINT = ["${env}", "${interpreter}", "-m", "kata", "agent-trial"]


def agent_command(options: list[str]) -> list[str]:
    """The `command` of a sweep configuration that `wandb agent` runs for each trial."""
    return [*ENTRY_POINT, *options, "${args}"]


class TrialError(SweepError):
    """A trial function that returned something that is not a result (a bug, like an
    exception): raised so that W&B's agent counts it as a failed run."""


_interrupted = threading.Event()  # Ctrl-C reached this process (the agent then stops runs)


def run_online(
    config: dict | None,
    trial_fn: TrialFn,
    *,
    project: str,
    count: int | None,
    entity: str | None = None,
    sweep_id: str | None = None,
    command: list[str] | None = None,
) -> str:
    """Create the sweep (or join `sweep_id`) and run `count` of its trials in this process.

    `config` is checked against W&B's schema first; `command` (see `agent_command`) is
    added to it so that `wandb agent` can run more trials elsewhere. Returns the sweep id;
    KeyboardInterrupt after Ctrl-C (W&B's agent itself only logs it).
    """
    import wandb

    metric_name = METRIC
    if sweep_id is None:
        payload = json_normalize(config or {})
        problems = schema_problems(payload)
        if problems:
            raise SweepConfigError(problems)
        if command is not None:
            payload["command"] = command
        metric_name = (payload.get("metric") or {}).get("name")
        sweep_id = wandb.sweep(payload, project=project, entity=entity)

    def agent_function() -> None:
        wandb_run = wandb.init(settings=wandb_log.settings())
        online_trial(trial_fn, metric_name, wandb_run, plain(dict(wandb_run.config)))

    options = {"count": count, "project": project, "entity": entity}
    if "max_consecutive_failed_runs" in inspect.signature(wandb.agent).parameters:
        options["max_consecutive_failed_runs"] = MAX_CONSECUTIVE_ERRORS  # wandb >= 0.19
    _interrupted.clear()
    previous = signal.signal(signal.SIGINT, _note_interrupt)
    try:
        wandb.agent(sweep_id, function=agent_function, **options)
    finally:
        signal.signal(signal.SIGINT, previous)
    if _interrupted.is_set():
        raise KeyboardInterrupt
    return sweep_id


def _note_interrupt(signum, frame) -> None:
    _interrupted.set()
    raise KeyboardInterrupt


def _is_agent_stop(error: BaseException) -> bool:
    """W&B's in-process agent stops a trial by raising a bare `Exception()` in its thread."""
    return type(error) is Exception and not error.args


def online_trial(
    trial_fn: TrialFn,
    metric_name: str | None,
    wandb_run,
    params: dict,
    say: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True),
) -> None:
    """Run one trial of a W&B sweep into `wandb_run` and end the run as the agents expect
    (see the module's docstring). Errors are raised, after the run's summary says why."""

    def report(metrics: dict) -> bool:
        wandb_run.log(plain(dict(metrics)))
        return False  # on W&B, the agent stops a trial (below), not the report

    def stopped() -> None:
        why = "stopped by the sweep's early termination"
        wandb_run.summary.update({"sweep_status": "stopped", "sweep_reason": why})
        wandb_run.finish(exit_code=0)
        say(f"[{wandb_run.id}] stopped: {why}")

    try:
        outcome = trial_fn(params, report)
    except Terminated:  # `wandb agent` stops a trial with SIGTERM
        return stopped()
    except KeyboardInterrupt:
        wandb_log.finish_interrupted(wandb_run, "SIGINT")
        raise
    except Exception as error:
        if _is_agent_stop(error):
            if _interrupted.is_set():  # the agent stops its runs after a Ctrl-C too
                return wandb_log.finish_interrupted(wandb_run, "SIGINT")
            return stopped()
        reason = f"{type(error).__name__}: {error}"
        wandb_run.summary.update({"sweep_status": "failed", "sweep_reason": reason})
        raise  # the agent counts it and ends the run with exit code 1
    status, reason, summary = check_outcome(outcome, metric_name)
    if is_malformed(outcome, status, reason):
        wandb_run.summary.update({"sweep_status": "failed", "sweep_reason": reason})
        raise TrialError(reason)
    if reason:
        say(f"[{wandb_run.id}] {status}: {reason}")
    wandb_log.finish_run(wandb_run, status, summary, reason)
