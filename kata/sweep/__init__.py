"""A local, W&B-compatible sweep engine: no account, no network.

The same W&B sweep configuration (``method`` grid|random|bayes, ``metric``, ``parameters``,
``early_terminate`` hyperband) runs here as on W&B's servers, with W&B's own open-source
engine, the ``sweeps`` package (``pip install wandb[sweeps]``). One module per job:

- ``checks``: every problem of a configuration at once, W&B's schema and the local engine
  (:func:`validate_config`), then the kata's own rules (:func:`training_problems`);
- ``engine``: the sweeps package, its view of configurations and runs, and the workarounds
  for its traps (its docstring lists them);
- ``records``: a run as stored (:class:`RunRecord`) and what a trial may return
  (:func:`check_outcome`);
- ``store``: the state file, atomic and locked; ``agents``: agent processes, their liveness,
  signals and deaths (:func:`run_agents`);
- ``local``: :class:`LocalSweep`, the run loop over the store and the engine;
- ``trial``: the kata's training as a trial function (:func:`training_trial_fn`);
- ``online``: the path to W&B's servers (:func:`run_online`, and the trial that
  ``wandb agent`` runs); ``sync``: which offline runs are worth uploading.

wandb logging of each trial lives in kata/wandb_log.py.
"""

from ..wandb_log import SweepWarning
from .agents import default_agents, run_agents
from .checks import schema_problems, training_problems, validate_config
from .engine import engine_config as _engine_config
from .errors import StateError, SweepConfigError, SweepError, TrialsKeepFailing
from .local import MAX_CONSECUTIVE_ERRORS, MAX_SKIPS, WANDB_MODES, LocalSweep
from .online import agent_command, online_trial, run_online
from .records import (
    PROPOSED,
    RUNNING,
    SKIPPED,
    STATUSES,
    TERMINAL,
    RunRecord,
    check_outcome,
    records,
)
from .store import STATE_FILE, STATE_VERSION
from .sync import runs_to_upload
from .trial import METRIC, SUMMARY_METRICS, Report, TrialFn, training_trial_fn

__all__ = [
    "MAX_CONSECUTIVE_ERRORS",
    "MAX_SKIPS",
    "METRIC",
    "PROPOSED",
    "RUNNING",
    "SKIPPED",
    "STATE_FILE",
    "STATE_VERSION",
    "STATUSES",
    "SUMMARY_METRICS",
    "TERMINAL",
    "WANDB_MODES",
    "LocalSweep",
    "Report",
    "RunRecord",
    "StateError",
    "SweepConfigError",
    "SweepError",
    "SweepWarning",
    "TrialFn",
    "TrialsKeepFailing",
    "_engine_config",
    "agent_command",
    "check_outcome",
    "default_agents",
    "online_trial",
    "records",
    "run_agents",
    "run_online",
    "runs_to_upload",
    "schema_problems",
    "training_problems",
    "training_trial_fn",
    "validate_config",
]
