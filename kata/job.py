"""The main job, `kata run`: the whole assignment in one folder.

1. the staged search (coarse random, narrowed bayes, fine) within the budget;
2. the best configuration by validation accuracy over all stages;
3. that configuration trained again from scratch on the 55,000 training images, saved;
4. one evaluation of the saved model on the 10,000 test images;
5. the report.

Every phase is recorded in `OUT/job.json` when it ends, so the same command resumes an
interrupted job: finished trials are not rerun, a finished final training is not repeated,
and the test set is touched once per job. A finished job prints its stored result; a folder
whose settings, model or chosen configuration changed since is refused.
"""

from __future__ import annotations

import datetime
import functools
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch

from . import job_files as files
from .config import TrialConfig
from .data import CLASS_NAMES, Split
from .staged import DEFAULT_STAGES, Stage, StageResult, run_staged, stage_folder
from .sweep import STATE_FILE, RunRecord, default_agents, records, training_trial_fn
from .train import exercise_module, train_trial
from .trained import file_sha256, load_trained_model, save_trained_model

JOB_FORMAT = "fashion-mnist-kata/job/1"
ASSIGNMENT_EPOCHS = (5, 10)  # numberEpochs values the assignment allows
SAMPLES = 10  # random test images shown with their predictions
TRIAL_LOG = "trials.log"  # in search/: the line per trial, when they are not shown
FINAL_SEED_OFFSET = 1000  # the final training's seed differs from every search trial's
TRIAL_SHARE = 0.25  # no search trial may run longer than this part of the search's budget
# A final training's time estimate is the speed of its search trial, whose agent had one
# thread: on two cores the final training (all threads) is 1.5 to 1.8 times faster, which
# is margin enough (quick job on 2 cores: 55 s estimated at 1.25, 33 s taken).
FIT_MARGIN = 1.0
# Below this the search cannot finish a trial and leave time for the final training.
MIN_BUDGET = 60.0
PROTOCOL = (
    "The search chose the configuration by validation accuracy (5,000 images held out of the"
    " 60,000 training images with a fixed seed). The chosen configuration was then trained"
    " again from scratch on the 55,000 training images, with its own seed (Adam, its learning"
    " rate decaying along a cosine over the epochs, as in every trial); that model was"
    " saved, and the saved model was evaluated once on the 10,000 test images, which no"
    " step of the search or the training saw."
)


class JobError(Exception):
    """Something the user can fix: the message says what, `status` is the exit status."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


# exit statuses of `kata run` (2 is argparse's for a bad flag)
BAD_INPUT, NO_DATA, FOLDER_CONFLICT, BUDGET_TOO_SMALL, NOTHING_FINISHED = 2, 3, 4, 5, 6


@dataclass(frozen=True)
class Preset:
    name: str
    budget: float  # seconds of wall-clock for the whole job
    stages: tuple[Stage, ...]
    search_subset: int | None  # training images the search trains on (None: all 55,000)
    final_epochs: int  # when the chosen trial's epochs are not one the assignment allows
    final_share: float  # of the budget kept for the final training and evaluation


QUICK_STAGES = (
    Stage("coarse", "random", epochs=0.25, count=200, budget_share=0.5, batch_exponent=0.25),
    Stage("narrow", "bayes", epochs=2, count=50, keep=5, budget_share=0.5),
)
PRESETS = {
    "default": Preset("default", 1800.0, DEFAULT_STAGES, None, 10, 0.15),
    "quick": Preset("quick", 150.0, QUICK_STAGES, 10_000, 10, 0.4),
}


@dataclass(frozen=True)
class JobSettings:
    """What defines a job's result: a second run in the same folder must use the same."""

    preset: str = "default"
    budget: float | None = None  # None: the preset's
    seed: int = 0
    use: str = "solutions"
    train_subset: int | None = None  # None: the preset's

    @property
    def plan(self) -> Preset:
        preset = PRESETS[self.preset]
        return replace(
            preset,
            budget=self.budget if self.budget is not None else preset.budget,
            search_subset=self.train_subset or preset.search_subset,
        )


@dataclass
class Splits:
    """The data a job uses; the test split is loaded only when the test phase asks for it."""

    train: Split
    validation: Split
    load_test: Callable[[], Split]

    @classmethod
    def load(cls, path: str | None = None) -> Splits:
        """The real data (from `path`, else where `kata.data` finds it): 55,000 training,
        5,000 validation, and the test split when the test phase asks for it."""
        from .data import load_development_splits, load_test_split_for_final_evaluation

        train, validation = load_development_splits(path)
        return cls(train, validation, functools.partial(load_test_split_for_final_evaluation, path))


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


class Job:
    """One job folder. `run()` does whatever is not done yet and returns `metrics.json`."""

    def __init__(
        self,
        out: str | Path,
        settings: JobSettings,
        *,
        device: str = "cpu",
        wandb: str = "offline",
        agents: int | None = None,
        progress: bool = True,
        bars: bool = True,
        trial_log: bool = False,
        say: Callable[[str], None] = print,
    ):
        self.out = Path(out)
        self.settings = settings
        self.plan = settings.plan
        self.device = device
        self.wandb = wandb
        self.agents = agents or default_agents(device)
        self.progress = progress
        self.bars = progress and bars  # tqdm bars of the final training (lines are `progress`)
        self.trial_log = trial_log  # the search's line per trial to search/trials.log
        self.say = say
        self.state_path = self.out / "job.json"
        self.state: dict = {}

    # --- the folder and its state ---------------------------------------------------------

    def check(self) -> None:
        """Refuse a budget or folder this job cannot use, before anything is written."""
        if self.plan.budget < MIN_BUDGET:
            raise JobError(
                f"--budget {self.plan.budget:g} is too small: the search's first trial and the"
                f" final training need at least {MIN_BUDGET:g} seconds",
                BUDGET_TOO_SMALL,
            )
        if self.out.exists() and not self.out.is_dir():
            raise JobError(f"--out {self.out} exists and is not a folder", FOLDER_CONFLICT)
        if self.state_path.exists():
            self.state = self._read_state()
            self._check_same_job()
        elif self.out.exists() and any(self.out.iterdir()):
            raise JobError(
                f"--out {self.out} already holds files that are not a `kata run` job (no"
                " job.json); choose an empty or new folder",
                FOLDER_CONFLICT,
            )

    def open(self) -> None:
        """Create the folder, or check that it holds this same job; refuse anything else."""
        self.check()
        if self.state:
            return
        self.out.mkdir(parents=True, exist_ok=True)
        self.state = {
            "format": JOB_FORMAT,
            "id": f"job-{uuid.uuid4().hex[:8]}",
            "created": _now(),
            "settings": asdict(self.settings),
            "phases": {},
        }
        self._save_state()

    def _read_state(self) -> dict:
        try:
            state = files.read_json(self.state_path)
        except ValueError as error:
            raise JobError(f"{self.state_path} is damaged: {error}", FOLDER_CONFLICT) from error
        if not isinstance(state, dict) or state.get("format") != JOB_FORMAT:
            raise JobError(f"{self.state_path} is not a `kata run` job file", FOLDER_CONFLICT)
        return state

    def _check_same_job(self) -> None:
        stored = self.state["settings"]
        mine = asdict(self.settings)
        changed = [
            f"{k} {stored.get(k)!r} -> {mine[k]!r}" for k in mine if stored.get(k) != mine[k]
        ]
        if changed:
            flags = ", ".join(changed)
            raise JobError(
                f"{self.out} holds a job run with other settings ({flags}); run it with the"
                " same settings to resume or show it, or choose another --out",
                FOLDER_CONFLICT,
            )
        for name, digest in self.state.get("files", {}).items():
            path = self.out / name
            if not path.exists() or file_sha256(path) != digest:
                raise JobError(
                    f"{path} was changed or removed after the job wrote it; the test set is"
                    " used once per job, so a changed model or configuration is not evaluated"
                    " again: start a new job with another --out",
                    FOLDER_CONFLICT,
                )

    def _save_state(self) -> None:
        files.write_json(self.state_path, self.state)

    def _done(self, phase: str) -> dict | None:
        return self.state["phases"].get(phase)

    def _finish(self, phase: str, record: dict) -> None:
        self.state["phases"][phase] = record
        self._save_state()

    def _protect(self, name: str) -> None:
        """Record a written file's hash: a later run refuses the folder if it changes."""
        self.state.setdefault("files", {})[name] = file_sha256(self.out / name)
        self._save_state()

    # --- the phases -----------------------------------------------------------------------

    def run(self, splits: Splits) -> dict:
        """Every phase not done yet; the job's `metrics.json`."""
        self.open()
        if self._done("test"):
            self.say(
                f"{self.out} holds a finished job: its stored result follows (the test set is"
                " used once per job)"
            )
        else:
            results = self._search(splits)
            choice = self._choose(results, splits)
            self._final_training(choice, splits)
            self._test(splits)
        if not self._done("report") or not (self.out / "report.html").exists():
            begun = time.monotonic()
            self._report()
            self._finish("report", {"seconds": time.monotonic() - begun})
        return files.read_json(self.out / "metrics.json")

    def search(self, splits: Splits) -> list[StageResult]:
        """The search phase alone (run or resumed; read back once done), for a caller that
        shows the search before the final training, as the sweep notebook does. `run()`
        goes on from there."""
        self.open()
        return self._search(splits)

    def _search_dir(self) -> Path:
        return self.out / "search"

    def _search(self, splits: Splits) -> list[StageResult]:
        done = self._done("search")
        if done:
            return _load_stage_results(self._search_dir(), self.plan.stages)
        spent = self.state.get("search_seconds", 0.0)
        budget = self.plan.budget * (1 - self.plan.final_share) - spent
        train = splits.train
        if self.plan.search_subset:
            train = Split(
                train.images[: self.plan.search_subset], train.labels[: self.plan.search_subset]
            )
        trial = training_trial_fn(
            train,
            splits.validation,
            seed=self.settings.seed,
            device=self.device,
            package=self.settings.use,
            time_limit=max(budget, 1.0) * TRIAL_SHARE,
        )
        self.say(
            f"search: {len(self.plan.stages)} stages within {max(budget, 0):.0f} s on"
            f" {len(train):,} training images ({self.agents} agent(s), {self.settings.use}/)"
        )
        trial_lines = None
        if self.trial_log and self.progress:
            log = self._search_dir() / TRIAL_LOG
            log.parent.mkdir(parents=True, exist_ok=True)
            self.say(f"a line per trial: {log}")

            def trial_lines(line: str, log: Path = log) -> None:
                with log.open("a") as f:  # agents append whole lines; one write each
                    f.write(line + "\n")

        begun = time.monotonic()
        try:
            results = run_staged(
                self._search_dir(),
                trial,
                stages=self.plan.stages,
                budget_seconds=max(budget, 1.0),
                seed=self.settings.seed,
                package=self.settings.use,
                wandb_mode=self.wandb,
                progress=self.progress,
                agents=self.agents,
                group=self.state["id"],
                trial_lines=trial_lines,
                wandb_config={
                    "train_subset": self.plan.search_subset,
                    "device": self.device,
                    "job": self.state["id"],
                },
            )
        finally:
            self.state["search_seconds"] = spent + time.monotonic() - begun
            self._save_state()
        rows = files.trial_rows((r.stage.name, r.runs) for r in results)
        files.write_trials_csv(self.out / "trials.csv", rows)
        self._finish("search", {"seconds": self.state["search_seconds"], "trials": len(rows)})
        return results

    def _choose(self, results: list[StageResult], splits: Splits) -> dict:
        """The best finished trial over all stages whose final training fits the budget."""
        chosen = self._done("choice")
        if chosen:
            return chosen
        ranked = sorted(
            ((r.stage, run) for r in results for run in r.runs if _measured(run)),
            key=lambda pair: -pair[1].metric,
        )
        if not ranked:
            raise JobError(
                "no trial of the search finished (all failed or none started): see"
                f" {self.out / 'trials.csv'} for the reasons",
                NOTHING_FINISHED,
            )
        left = self.plan.budget - self.state.get("search_seconds", 0.0)
        stage, run, epochs, note = _fitting_choice(
            ranked, self._final_epochs, len(splits.train), left
        )
        if note:
            self.say(note)
        record = {
            "trial": run.run_id,
            "stage": stage.name,
            "params": run.params,
            "search_val_accuracy": run.metric,
            "final_epochs": epochs,
            "note": note,
        }
        self._finish("choice", record)
        return record

    def _final_epochs(self, stage: Stage) -> int:
        epochs = stage.epochs
        return int(epochs) if epochs in ASSIGNMENT_EPOCHS else self.plan.final_epochs

    def _final_training(self, choice: dict, splits: Splits) -> None:
        if self._done("final"):
            return
        values = {**choice["params"], "numberEpochs": choice["final_epochs"]}
        seed = self.settings.seed + FINAL_SEED_OFFSET
        config = TrialConfig.from_dict(values, seed=seed, device=self.device)
        self.say(
            f"final training: trial {choice['trial']} ({choice['stage']} stage, validation"
            f" accuracy {choice['search_val_accuracy']:.4f}) from scratch on"
            f" {len(splits.train):,} images for {choice['final_epochs']} epochs"
        )
        begun = time.monotonic()
        result = train_trial(
            config,
            splits.train,
            splits.validation,
            progress=self.bars,
            package=self.settings.use,
        )
        seconds = time.monotonic() - begun
        if result.status != "finished":
            raise JobError(
                f"the final training of {choice['trial']} failed: {result.reason}; run again"
                " with another --seed and --out",
                NOTHING_FINISHED,
            )
        mean = std = None
        if config.dataNormalisation:
            normalization = exercise_module(self.settings.use, "normalization")
            mean, std = normalization.pixel_statistics(splits.train.images)
        save_trained_model(
            self.out / "model.pt",
            result.model,
            config,
            mean=mean,
            std=std,
            package=self.settings.use,
            extra={"val_accuracy": result.val_accuracy},
        )
        files.write_best_config(self.out / "best_config.yaml", config.hyperparameters)
        self._protect("model.pt")
        self._protect("best_config.yaml")
        for e in result.history:
            self.say(
                f"  epoch {e.epoch:>2}  val accuracy {e.val_accuracy:.4f}  ({e.seconds:.1f} s)"
            )
        self._finish(
            "final",
            {
                "seconds": seconds,
                "seed": seed,
                "config": config.hyperparameters,
                "val_accuracy": result.val_accuracy,
                "history": [asdict(e) for e in result.history],
            },
        )

    def _test(self, splits: Splits) -> None:
        """The one evaluation on the test set, of the model as saved in `model.pt`."""
        begun = time.monotonic()
        trained = load_trained_model(self.out / "model.pt", device=self.device)
        test = splits.load_test()
        predicted = trained.predict(test.images)
        truth = test.labels.cpu()
        accuracy = float((predicted == truth).float().mean())
        confusion = torch.bincount(truth * 10 + predicted, minlength=100).reshape(10, 10)
        sample_seed = self.settings.seed + 2 * FINAL_SEED_OFFSET
        index = torch.randperm(len(test), generator=torch.Generator().manual_seed(sample_seed))
        index = index[:SAMPLES]
        files.write_test_samples(self.out / "test_samples.npz", test.images[index].numpy())
        seconds = time.monotonic() - begun
        self._finish("test", {"seconds": seconds, "test_accuracy": accuracy})
        self._write_metrics(
            accuracy=accuracy,
            confusion=confusion.tolist(),
            samples={
                "index": index.tolist(),
                "true": truth[index].tolist(),
                "predicted": predicted[index].tolist(),
            },
            sample_seed=sample_seed,
        )
        self._protect("metrics.json")

    def _write_metrics(self, *, accuracy, confusion, samples, sample_seed) -> None:
        phases = self.state["phases"]
        choice, final = phases["choice"], phases["final"]
        curves = _curves(self._search_dir(), self.plan.stages)
        curves["final"] = {
            "stage": "final",
            "label": f"final training of {choice['trial']}",
            "history": files.curve(final["history"]),
        }
        files.write_json(self.out / "curves.json", curves)
        metrics = {
            "test_accuracy": accuracy,
            "val_accuracy": final["val_accuracy"],
            "search_val_accuracy": choice["search_val_accuracy"],
            "config": final["config"],
            "chosen_trial": choice["trial"],
            "chosen_stage": choice["stage"],
            "choice_note": choice["note"],
            "protocol": PROTOCOL,
            "seeds": {
                "search": self.settings.seed,
                "final_training": final["seed"],
                "test_samples": sample_seed,
                "split": 0,
            },
            "phases": {
                "search": phases["search"]["seconds"],
                "final_training": final["seconds"],
                "test": phases["test"]["seconds"],
            },
            "class_names": list(CLASS_NAMES),
            "confusion_matrix": confusion,
            "samples": samples,
            "device": self.device,
            "implementation": self.settings.use,
            "preset": self.settings.preset,
            "budget_seconds": self.plan.budget,
            "job_id": self.state["id"],
            "created": _now(),
        }
        files.write_json(self.out / "metrics.json", metrics)

    def _report(self) -> None:
        from .report import write_report

        write_report(self.out)


def _measured(run: RunRecord) -> bool:
    return run.state == "finished" and run.metric is not None and math.isfinite(run.metric)


def _estimated_seconds(run: RunRecord, epochs: int, n_train: int) -> float | None:
    """Seconds to train `run`'s configuration for `epochs` on `n_train` images, from the
    training speed its search trial showed (single-threaded agents: an overestimate on two
    cores)."""
    key = "train_images_per_second"
    rates = [h.get(key) or h.get("images_per_second") for h in run.history]
    rates = [r for r in rates if r and math.isfinite(r)]
    if not rates:
        return None
    return FIT_MARGIN * epochs * n_train / float(np.median(rates))


def _fitting_choice(ranked, final_epochs, n_train: int, left: float):
    """(stage, run, epochs, note): the best trial whose final training fits in `left`
    seconds, at its epochs or else the assignment's fewest; if none fits, the cheapest of
    the five best, at the fewest epochs."""
    fewest = min(ASSIGNMENT_EPOCHS)
    for stage, run in ranked:
        for epochs in dict.fromkeys((final_epochs(stage), fewest)):
            estimate = _estimated_seconds(run, epochs, n_train)
            if estimate is None or estimate <= left:
                break
        else:
            continue
        break
    else:
        stage, run = min(ranked[:5], key=lambda p: _estimated_seconds(p[1], fewest, n_train))
        epochs = fewest
    best_stage, best = ranked[0]
    if run is best and epochs == final_epochs(best_stage):
        return stage, run, epochs, None
    wanted = _estimated_seconds(best, final_epochs(best_stage), n_train)
    note = (
        f"the best trial, {best.run_id}, would need about {wanted:.0f} s to train"
        f" {final_epochs(best_stage)} epochs on all {n_train:,} images, more than the"
        f" {left:.0f} s left of the budget; chose {run.run_id} for {epochs} epochs"
        + (
            ""
            if run is best
            else f" (validation accuracy {run.metric:.4f} against {best.metric:.4f})"
        )
    )
    return stage, run, epochs, note


def _load_stage_results(directory: Path, stages: tuple[Stage, ...]) -> list[StageResult]:
    """The finished search, read back from its stage folders (nothing is run)."""
    results = []
    for number, stage in enumerate(stages, start=1):
        path = stage_folder(directory, number, stage) / STATE_FILE
        if not path.exists():
            break
        state = files.read_json(path)
        results.append(StageResult(stage, state["config"], records(state)))
    return results


def _curves(directory: Path, stages: tuple[Stage, ...]) -> dict:
    """The learning curves of each stage's best finished trial."""
    curves = {}
    for result in _load_stage_results(directory, stages):
        best = result.best()
        if best is not None and best.history:
            curves[best.run_id] = {
                "stage": result.stage.name,
                "label": f"best of the {result.stage.name} stage",
                "history": files.curve(best.history),
            }
    return curves
