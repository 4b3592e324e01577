"""Which offline wandb runs are worth uploading: one per ended trial, as its state says.

A sweep's state names each attempt's wandb run: the run of an ended trial (finished,
stopped or failed) is complete, since it is ended before the state says the trial ended;
the runs of interrupted attempts are listed as such. `kata sync` uploads exactly the first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..wandb_log import offline_runs
from .records import TERMINAL
from .store import STATE_FILE, read_state


@dataclass
class Upload:
    """The offline runs under a folder, sorted: what to upload and what is left out."""

    runs: list[Path] = field(default_factory=list)  # one per ended trial
    interrupted: list[Path] = field(default_factory=list)  # attempts that did not end
    unknown: list[Path] = field(default_factory=list)  # in no sweep state (older kata?)
    missing: list[str] = field(default_factory=list)  # ended trials whose run is not on disk
    sweeps: int = 0


def sweep_folders(folder: Path) -> list[Path]:
    """The sweeps in `folder`: itself, its stages (a search), or its search's (a job)."""
    candidates = [folder, *sorted(folder.glob("*")), *sorted(folder.glob("search/*"))]
    return [path for path in candidates if (path / STATE_FILE).is_file()]


def runs_to_upload(folder: str | Path) -> Upload:
    """Sort the offline runs of every sweep in `folder` (SweepError for a damaged state)."""
    upload = Upload()
    for sweep in sweep_folders(Path(folder)):
        upload.sweeps += 1
        state = read_state(sweep / STATE_FILE)
        on_disk = offline_runs(sweep)
        accounted = set()
        for run in state["runs"]:
            for wandb_id in run.get("wandb_interrupted", []):
                accounted.add(wandb_id)
                if wandb_id in on_disk:
                    upload.interrupted.append(on_disk[wandb_id])
            wandb_id = run.get("wandb_run_id")
            if not wandb_id:
                continue
            accounted.add(wandb_id)
            if run["state"] in TERMINAL:
                if wandb_id in on_disk:
                    upload.runs.append(on_disk[wandb_id])
                else:
                    upload.missing.append(f"{run['run_id']} ({wandb_id})")
            elif wandb_id in on_disk:  # running, or its agent is gone: not ended
                upload.interrupted.append(on_disk[wandb_id])
        upload.unknown += [path for wid, path in on_disk.items() if wid not in accounted]
    return upload
