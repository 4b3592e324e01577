"""The kata's training as a trial function of a sweep.

A trial function is ``trial_fn(params, report) -> {"status", "reason", "summary"}``; it calls
``report(metrics)`` after every epoch and stops when that returns True ("stopped"). A trial
that has trained all its epochs is "finished", even if its last report was told to stop.
"""

from __future__ import annotations

import math
from collections.abc import Callable

METRIC = "val_accuracy"
# What a trial's summary holds, each with the goal that makes sense for it: a sweep's metric
# must be one of them (the sweeps package would count a missing one as 0.0).
SUMMARY_METRICS = {
    "val_accuracy": "maximize",
    "val_loss": "minimize",
    "train_accuracy": "maximize",
    "train_loss": "minimize",
}

Report = Callable[[dict], bool]
TrialFn = Callable[[dict, Report], dict]


def training_trial_fn(
    train,
    validation,
    *,
    seed: int = 0,
    device: str = "cpu",
    progress: bool = False,
    package: str = "solutions",
    time_limit: float | None = None,
) -> TrialFn:
    """A trial function that trains `TrialConfig.from_dict(params)` with `train_trial`.

    Every epoch is reported (metric "val_accuracy"); a True from `report` stops the trial. A
    configuration that `TrialConfig` refuses raises its ConfigError: an error of the sweep's
    configuration, not a result of training, so it counts towards the agent's stop after
    consecutive errors. `package` is whose code builds the pipeline: "solutions" (the
    reference) or "exercises". A trial still training after `time_limit` seconds is stopped
    (a safety net under a budget, where an estimate can be wrong).
    """
    from ..config import TrialConfig
    from ..train import train_trial

    def trial(params: dict, report: Report) -> dict:
        config = TrialConfig.from_dict(params, seed=seed, device=device)
        planned = math.ceil(config.numberEpochs)  # the epochs train_trial runs, the last partial

        def on_epoch(epoch) -> bool:
            stop = bool(
                report(
                    {
                        "epoch": epoch.epoch,
                        "train_loss": epoch.train_loss,
                        "train_accuracy": epoch.train_accuracy,
                        "val_loss": epoch.val_loss,
                        METRIC: epoch.val_accuracy,
                        "epoch_seconds": epoch.seconds,
                        "images_per_second": epoch.images_per_second,
                        "train_images_per_second": epoch.train_images_per_second,
                    }
                )
            )
            # A stop asked after the last epoch stops nothing: the trial has finished.
            return stop and epoch.epoch < planned

        result = train_trial(
            config,
            train,
            validation,
            on_epoch=on_epoch,
            progress=progress,
            package=package,
            time_limit=time_limit,
        )
        summary: dict = {"epochs": len(result.history), "seconds": result.seconds}
        if result.history:
            last = result.history[-1]
            summary.update(
                {
                    METRIC: last.val_accuracy,
                    "val_loss": last.val_loss,
                    "train_loss": last.train_loss,
                    "train_accuracy": last.train_accuracy,
                }
            )
        return {"status": result.status, "reason": result.reason, "summary": summary}

    return trial
