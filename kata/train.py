"""The training engine: data resident as tensors, batched augmentation, one trial at a time.

`train_trial(config, train, validation)` builds the pipeline a `TrialConfig` describes (from
the kata's exercise code: normalisation, augmentations, activation, dropout, MLP), trains it
with Adam and reports validation accuracy after every epoch. No DataLoader in the hot loop:
the images live on the device as one float tensor and whole batches are augmented at once.

The optimizer is Adam; its learning rate starts at the configuration's `learningRate` and
decays along half a cosine towards zero over the trial's planned steps (`learning_rate`).
With a constant rate the last epoch's weights are as noisy as any epoch's: the best
configuration found by hand for 10 epochs scored 0.887 test accuracy on average over three
seeds with a constant rate, 0.898 to 0.899 with the cosine decay (docs/search-strategy.md).

A run whose loss turns NaN or infinite, or whose validation accuracy sits at chance, stops at
once and comes back with status "failed" and the reason; it never raises, so a sweep goes on.
"""

import importlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType

import torch
from torch import nn
from tqdm import tqdm  # the terminal bar: the notebooks print lines, not bars

from .augment import BatchAugmenter
from .config import TrialConfig
from .data import Split

CHANCE_THRESHOLD = 0.15  # accuracy at or below this: not learning (ten classes)
DIVERGENCE_CHECK_EVERY = 25  # batches between NaN checks (each check syncs a GPU)
EVAL_BATCH = 2048
AUGMENT_CHUNK = 4096  # images augmented in one call (see _chunk_size)
LR_SCHEDULES = ("cosine", "constant")


@dataclass(frozen=True)
class EpochResult:
    epoch: int
    train_loss: float
    train_accuracy: float
    val_loss: float
    val_accuracy: float
    seconds: float
    images: int
    train_seconds: float = 0.0  # the optimizer steps alone, without the validation

    @property
    def images_per_second(self) -> float:
        return self.images / self.seconds if self.seconds > 0 else math.inf

    @property
    def train_images_per_second(self) -> float:
        """Training speed alone: what a longer run of the same configuration will see."""
        return self.images / self.train_seconds if self.train_seconds > 0 else math.inf


@dataclass
class TrialResult:
    config: TrialConfig
    status: str  # "finished", "failed" (diverged or at chance) or "stopped" (early termination)
    reason: str | None = None
    history: list[EpochResult] = field(default_factory=list)
    model: nn.Module | None = None
    pipeline: "Pipeline | None" = None

    @property
    def val_accuracy(self) -> float | None:
        """The metric: validation accuracy after the last epoch (None if none finished)."""
        return self.history[-1].val_accuracy if self.history else None

    @property
    def seconds(self) -> float:
        return sum(e.seconds for e in self.history)


EpochCallback = Callable[[EpochResult], bool | None]


def exercise_module(package: str, name: str) -> ModuleType:
    """One exercise module from `solutions` (the reference) or `exercises` (the student's)."""
    return importlib.import_module(f"{package}.{name}")


@dataclass
class Pipeline:
    """Everything a trial trains with, built from one configuration."""

    config: TrialConfig
    model: nn.Module
    optimizer: torch.optim.Optimizer
    train_augmenter: BatchAugmenter
    eval_augmenter: BatchAugmenter
    device: torch.device
    lr_schedule: str = "cosine"

    def describe(self) -> dict[str, str]:
        """Each part as text: what a person reads, and what tests compare."""
        return {
            "model": repr(self.model),
            "optimizer": f"Adam(lr={self.config.learningRate:g}, {self.lr_schedule} schedule)",
            "train_transform": "; ".join(self.train_augmenter.describe()),
            "eval_transform": "; ".join(self.eval_augmenter.describe()),
            "batch_size": str(self.config.batchSize),
            "epochs": f"{self.config.numberEpochs:g}",
            "seed": str(self.config.seed),
            "device": str(self.device),
        }


def learning_rate(base: float, step: int, steps: int, schedule: str = "cosine") -> float:
    """The learning rate of optimizer step `step` (from 0) of `steps`.

    "cosine": ``base * (1 + cos(pi * step / steps)) / 2``, `base` at the first step and
    close to zero at the last; "constant": `base` throughout.
    """
    if schedule == "constant":
        return base
    if schedule != "cosine":
        raise ValueError(f"unknown learning-rate schedule {schedule!r}; valid: {LR_SCHEDULES}")
    return base * 0.5 * (1.0 + math.cos(math.pi * min(step, steps) / max(steps, 1)))


def build_model(config: TrialConfig, package: str = "solutions") -> nn.Module:
    """The network `config` describes, its weights drawn from `config.seed`."""
    torch.manual_seed(config.seed)
    return exercise_module(package, "mlp").build_mlp(
        config.numberHiddenLayers,
        config.hiddenLayerSize,
        config.activationFunction,
        config.dropoutProbability,
    )


def build_pipeline(
    config: TrialConfig,
    train_images: torch.Tensor,
    package: str = "solutions",
    lr_schedule: str = "cosine",
):
    """Model, optimizer and transforms for `config`; statistics from `train_images` only."""
    if lr_schedule not in LR_SCHEDULES:
        raise ValueError(f"unknown learning-rate schedule {lr_schedule!r}; valid: {LR_SCHEDULES}")
    normalization = exercise_module(package, "normalization")
    augmentations = exercise_module(package, "augmentations")
    normalize = None
    if config.dataNormalisation:
        mean, std = _pixel_statistics(normalization.pixel_statistics, train_images)
        normalize = normalization.make_normalize(mean.to(config.device), std.to(config.device))
    train_transform = augmentations.build_train_transform(
        horizontal_flip=config.horizontalFlip,
        rotation=config.rotation,
        resized_crop=config.resizedCrop,
        normalize=normalize,
        image_size=train_images.shape[-1],
    )
    eval_transform = augmentations.build_eval_transform(normalize)
    model = build_model(config, package).to(config.device)
    return Pipeline(
        config=config,
        model=model,
        # The fused kernel updates all parameters at once: the default per-tensor loop
        # costs about as much as the forward and backward pass of a small network.
        optimizer=torch.optim.Adam(
            model.parameters(),
            lr=config.learningRate,
            fused=torch.device(config.device).type in ("cpu", "cuda"),
        ),
        train_augmenter=BatchAugmenter.from_transform(train_transform),
        eval_augmenter=BatchAugmenter.from_transform(eval_transform),
        device=torch.device(config.device),
        lr_schedule=lr_schedule,
    )


_REMEMBERED: dict[str, tuple] = {}  # one entry per name: see _remember


def _remember(name: str, images: torch.Tensor, compute: Callable, *key):
    """`compute()`, remembered for the same, unchanged `images` (and the same `key`).

    A search trains hundreds of short trials on one training split in one process: the
    pixel statistics of 55,000 images took 0.7 s a trial on one core, as long as a coarse
    trial's training, and their conversion to float 0.09 s. The entry holds the images
    themselves, so their id cannot be reused by other images while it lives; an in-place
    change bumps the tensor's version and misses.
    """
    full_key = (id(images), images._version, tuple(images.shape), images.dtype, *key)
    entry = _REMEMBERED.get(name)
    if entry is None or entry[0] != full_key:
        entry = (full_key, images, compute())
        _REMEMBERED[name] = entry
    return entry[2]


def _pixel_statistics(compute, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """`compute(images)`, remembered for the same function; copies go out, so a caller
    that changes what it got changes nothing here."""
    mean, std = _remember("statistics", images, lambda: compute(images), compute)
    return mean.clone(), std.clone()


def to_device(images: torch.Tensor, device: torch.device | str) -> torch.Tensor:
    """uint8 (N, 28, 28) images to float (N, 1, 28, 28) on the 0-1 scale, on `device`."""
    return images.to(device).unsqueeze(1).float().div_(255)


@torch.no_grad()
def evaluate(
    model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor
) -> tuple[float, float, torch.Tensor]:
    """Loss, accuracy and predicted classes of `model` on ready (transformed) inputs."""
    model.eval()
    loss, predictions = 0.0, []
    for start in range(0, len(inputs), EVAL_BATCH):
        logits = model(inputs[start : start + EVAL_BATCH])
        target = labels[start : start + EVAL_BATCH]
        loss += float(nn.functional.cross_entropy(logits, target, reduction="sum"))
        predictions.append(logits.argmax(1))
    predicted = torch.cat(predictions)
    return loss / len(inputs), float((predicted == labels).float().mean()), predicted


def train_trial(
    config: TrialConfig,
    train: Split,
    validation: Split,
    *,
    on_epoch: EpochCallback | None = None,
    progress: bool = True,
    package: str = "solutions",
    time_limit: float | None = None,
    lr_schedule: str = "cosine",
) -> TrialResult:
    """Train one configuration; validation accuracy after each epoch is the metric.

    The learning rate follows `lr_schedule` over the planned steps (`learning_rate`): a
    trial stopped early stops wherever its decay has got to.

    `on_epoch` is called after every epoch; returning True stops the trial early (status
    "stopped"), as a sweep's early termination does. A trial still training after
    `time_limit` seconds is validated where it is and stopped (status "stopped"), so one
    slow configuration cannot eat a search's budget. The caller's torch random state is
    left as it was.
    """
    devices = [torch.device(config.device)] if config.device.startswith("cuda") else []
    deadline = None if time_limit is None else time.perf_counter() + time_limit
    with torch.random.fork_rng(devices=devices):
        return _train(config, train, validation, on_epoch, progress, package, deadline, lr_schedule)


def _train(
    config, train, validation, on_epoch, progress, package, deadline, lr_schedule
) -> TrialResult:
    device = torch.device(config.device)
    pipeline = build_pipeline(config, train.images, package, lr_schedule)
    model, optimizer = pipeline.model, pipeline.optimizer
    result = TrialResult(config=config, status="finished", model=model, pipeline=pipeline)

    # Read-only below: batches are gathered from it, never written back.
    inputs = _remember("inputs", train.images, lambda: to_device(train.images, device), device)
    labels = train.labels.to(device)
    val_inputs = pipeline.eval_augmenter(to_device(validation.images, device))
    val_labels = validation.labels.to(device)
    generator = torch.Generator().manual_seed(config.seed)  # shuffling and augmentation draws

    batches_per_epoch = math.ceil(len(inputs) / config.batchSize)
    total_batches = max(1, math.ceil(config.numberEpochs * batches_per_epoch))
    epochs = math.ceil(total_batches / batches_per_epoch)
    chunk = _chunk_size(config.batchSize)
    # Training accuracy is judged over each quarter of an epoch (but the very first, while
    # a slow start is normal), so that a run stuck at chance (a learning rate too high for
    # its batch size) fails within half an epoch, not after a whole one: at batch size 8,
    # an epoch of a large network takes minutes.
    window = max(DIVERGENCE_CHECK_EVERY, batches_per_epoch // 4)
    group, base_lr = optimizer.param_groups[0], config.learningRate
    done = 0
    out_of_time = False
    for epoch in range(1, epochs + 1):
        started = time.perf_counter()
        order = torch.randperm(len(inputs), generator=generator).to(device)
        n_batches = min(batches_per_epoch, total_batches - done)
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.long)
        seen = 0
        window_start, window_correct = 0, 0
        model.train()
        bar = tqdm(
            range(n_batches),
            desc=f"epoch {epoch}/{epochs}",
            unit="batch",
            leave=False,
            disable=not progress,
        )
        for b in bar:
            start = b * config.batchSize
            if start % chunk == 0:  # augment the next chunk of the epoch, a draw per image
                augmented = pipeline.train_augmenter(
                    inputs[order[start : start + chunk]], generator
                )
            batch = augmented[start % chunk : start % chunk + config.batchSize]
            target = labels[order[start : start + config.batchSize]]
            logits = model(batch)
            loss = nn.functional.cross_entropy(logits, target)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            group["lr"] = learning_rate(base_lr, done + b, total_batches, lr_schedule)
            optimizer.step()
            loss_sum += loss.detach() * len(target)
            correct += (logits.detach().argmax(1) == target).sum()
            seen += len(target)
            if (b + 1) % DIVERGENCE_CHECK_EVERY == 0 or b == n_batches - 1:
                mean_loss = float(loss_sum) / seen
                if not math.isfinite(mean_loss):
                    bar.close()
                    return _failed(result, f"loss became {mean_loss} in epoch {epoch}")
                so_far = int(correct)
                if b + 1 - window_start >= window:
                    images = seen - window_start * config.batchSize
                    accuracy = (so_far - window_correct) / images
                    if accuracy <= CHANCE_THRESHOLD and (epoch > 1 or window_start > 0):
                        bar.close()
                        return _failed(
                            result,
                            f"training accuracy {accuracy:.3f} is at chance in epoch {epoch}"
                            f" (batches {window_start + 1} to {b + 1})",
                        )
                    window_start, window_correct = b + 1, so_far
                bar.set_postfix(loss=f"{mean_loss:.3f}", acc=f"{so_far / seen:.3f}")
                if deadline is not None and time.perf_counter() > deadline:
                    out_of_time = b < n_batches - 1 or epoch < epochs
                    break
        bar.close()
        done += n_batches
        train_seconds = time.perf_counter() - started
        val_loss, val_accuracy, _ = evaluate(model, val_inputs, val_labels)
        epoch_result = EpochResult(
            epoch=epoch,
            train_loss=float(loss_sum) / seen,
            train_accuracy=int(correct) / seen,
            val_loss=val_loss,
            val_accuracy=val_accuracy,
            seconds=time.perf_counter() - started,
            images=seen,
            train_seconds=train_seconds,
        )
        result.history.append(epoch_result)
        if not math.isfinite(val_loss):
            return _failed(result, f"validation loss became {val_loss} in epoch {epoch}")
        if val_accuracy <= CHANCE_THRESHOLD:
            return _failed(
                result, f"validation accuracy {val_accuracy:.3f} is at chance after epoch {epoch}"
            )
        if out_of_time:
            result.status = "stopped"
            result.reason = f"time limit reached in epoch {epoch} ({seen} images seen)"
            return result
        if on_epoch is not None and on_epoch(epoch_result):
            result.status, result.reason = "stopped", f"stopped early after epoch {epoch}"
            return result
    return result


def _chunk_size(batch_size: int) -> int:
    """Images augmented at once: whole batches, about AUGMENT_CHUNK of them.

    Every image still gets its own random draw; augmenting thousands at a time spreads the
    fixed cost of each operation (tens of microseconds on a CPU) over many images, which
    matters most for small batches.
    """
    return max(1, AUGMENT_CHUNK // batch_size) * batch_size


def _failed(result: TrialResult, reason: str) -> TrialResult:
    result.status, result.reason = "failed", reason
    return result
