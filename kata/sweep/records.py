"""A sweep's runs as stored in its state, and what a trial function may return."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .values import finite, plain

PROPOSED = "proposed"  # waiting to run: an interrupted trial put back for a rerun
RUNNING = "running"
SKIPPED = "skipped"  # proposed under a budget, never run: it would not have fitted
STATUSES = ("finished", "failed", "stopped")  # what a trial function may return
TERMINAL = frozenset(STATUSES)
RUN_STATES = frozenset({PROPOSED, RUNNING, SKIPPED, *STATUSES})


@dataclass(frozen=True)
class RunRecord:
    """One run of the sweep as stored on disk.

    `params` are the hyperparameters it trained (numberEpochs included: what it actually
    trained), `history` one dict per reported epoch (for the kata's training: epoch,
    train_loss, train_accuracy, val_loss, val_accuracy, epoch_seconds, images_per_second),
    `summary` the metrics at its end, `seconds` its wall-clock length. `wandb_run_id` is the
    wandb run of its last attempt (the one that ended, for an ended run).
    """

    index: int
    run_id: str
    params: dict
    state: str  # proposed | running | finished | failed | stopped
    reason: str | None = None
    history: list[dict] = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    metric: float | None = None  # the configured metric from the summary, if finite
    attempts: int = 1
    agent: str | None = None
    started_at: float | None = None
    ended_at: float | None = None
    wandb_run_id: str | None = None
    stage: str | None = None  # the stage of a staged search that ran it

    @property
    def seconds(self) -> float | None:
        if self.started_at is None or self.ended_at is None:
            return None
        return self.ended_at - self.started_at

    @classmethod
    def from_dict(cls, run: dict, metric_name: str | None) -> RunRecord:
        value = run.get("summary", {}).get(metric_name) if metric_name else None
        return cls(
            index=run["index"],
            run_id=run["run_id"],
            params=copy.deepcopy(run["params"]),
            state=run["state"],
            reason=run.get("reason"),
            history=copy.deepcopy(run.get("history", [])),
            summary=copy.deepcopy(run.get("summary", {})),
            metric=float(value) if finite(value) else None,
            attempts=run.get("attempts", 1),
            agent=run.get("agent"),
            started_at=run.get("started_at"),
            ended_at=run.get("ended_at"),
            wandb_run_id=run.get("wandb_run_id"),
            stage=run.get("stage"),
        )


def records(state: dict) -> list[RunRecord]:
    """The runs of a sweep's state (`sweep.json`), without proposals skipped for want of
    time."""
    metric = (state["config"].get("metric") or {}).get("name")
    return [RunRecord.from_dict(run, metric) for run in state["runs"] if run["state"] != SKIPPED]


def check_outcome(outcome: Any, metric_name: str | None) -> tuple[str, str | None, dict]:
    """(status, reason, summary) of what a trial function returned, refusing a finished or
    stopped trial whose summary lacks a finite value of the metric (the engine's trap 2)."""
    if not isinstance(outcome, Mapping):
        return (
            "failed",
            f"the trial function returned {type(outcome).__name__}, not a dict with"
            " status, reason and summary",
            {},
        )
    summary = outcome.get("summary") or {}
    if not isinstance(summary, Mapping):
        return "failed", f"the trial's summary is a {type(summary).__name__}, not a dict", {}
    summary = plain(dict(summary))
    status, reason = outcome.get("status"), outcome.get("reason")
    if status not in STATUSES:
        return (
            "failed",
            f"the trial function returned status {status!r}, not one of {STATUSES}",
            summary,
        )
    if status != "failed" and metric_name:
        if metric_name not in summary:
            return (
                "failed",
                f"the trial's summary has no {metric_name!r}, the sweep's metric (it has"
                f" {sorted(summary)}); a misspelt metric name? The sweeps package would"
                " silently count it as 0.0",
                summary,
            )
        if not finite(summary[metric_name]):
            return (
                "failed",
                f"the sweep's metric {metric_name!r} is {summary[metric_name]!r}, not a finite"
                " number",
                summary,
            )
    return status, None if reason is None else str(reason), summary


def is_malformed(outcome: Any, status: str, reason: str | None) -> bool:
    """A failure that check_outcome made of what the trial function returned (a bug of the
    trial function, like an exception), rather than a failure the trial reported."""
    reported = isinstance(outcome, Mapping) and outcome.get("status") == "failed"
    return status == "failed" and not reported
