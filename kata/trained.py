"""A trained model on disk: `model.pt` holds the weights, the configuration and the
normalisation statistics, so the model predicts exactly as it did when it was evaluated.

    from kata.trained import load_trained_model
    trained = load_trained_model("runs/run/model.pt")
    labels = trained.predict(images)          # uint8 (N, 28, 28) -> int64 (N,)

The network is rebuilt with the code that trained it (`solutions` or `exercises`, stored in
the file); a file that does not match that code is refused with a message, not a traceback.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from .augment import BatchAugmenter
from .config import ConfigError, TrialConfig
from .job_files import atomic_file
from .train import EVAL_BATCH, build_model, exercise_module, to_device

FORMAT = "fashion-mnist-kata/model/1"


class ModelFileError(ValueError):
    """`model.pt` is missing, damaged or does not fit the code that should rebuild it."""


@dataclass
class TrainedModel:
    model: nn.Module  # in eval mode
    config: TrialConfig
    mean: torch.Tensor | None  # per-pixel statistics of the training images, or None
    std: torch.Tensor | None
    package: str
    eval_augmenter: BatchAugmenter

    def inputs(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 (N, 28, 28) images as the network sees them (scaled, normalised)."""
        return self.eval_augmenter(to_device(images, self.config.device))

    @torch.no_grad()
    def predict(self, images: torch.Tensor) -> torch.Tensor:
        """Predicted class of each uint8 (N, 28, 28) image, on the CPU."""
        self.model.eval()
        inputs = self.inputs(images)
        out = [
            self.model(inputs[i : i + EVAL_BATCH]).argmax(1).cpu()
            for i in range(0, len(inputs), EVAL_BATCH)
        ]
        return torch.cat(out) if out else torch.empty(0, dtype=torch.long)


def save_trained_model(
    path: str | Path,
    model: nn.Module,
    config: TrialConfig,
    *,
    mean: torch.Tensor | None,
    std: torch.Tensor | None,
    package: str,
    extra: dict | None = None,
) -> str:
    """Write `model.pt` atomically (a temporary file, then a rename); return its SHA-256."""
    path = Path(path)
    payload = {
        "format": FORMAT,
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "config": config.to_dict(),
        "mean": None if mean is None else mean.detach().cpu(),
        "std": None if std is None else std.detach().cpu(),
        "package": package,
        "architecture": repr(model),
        **(extra or {}),
    }
    with atomic_file(path, "wb") as f:
        torch.save(payload, f)
    return file_sha256(path)


def file_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def load_trained_model(path: str | Path, *, device: str | None = None) -> TrainedModel:
    """Rebuild the network saved in `path` (on `device`, default the one it trained on)."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: no such model file")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # a truncated or foreign file
        raise ModelFileError(f"{path} is not a model file of this kata: {error}") from error
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ModelFileError(f"{path} is not a model file of this kata (format {FORMAT})")
    values = dict(payload["config"])
    if device is not None:
        values["device"] = device
    try:
        config = TrialConfig.from_dict(values)
    except ConfigError as error:
        raise ModelFileError(f"{path} holds an invalid configuration: {error}") from error
    package = payload["package"]
    augmentations = exercise_module(package, "augmentations")
    normalization = exercise_module(package, "normalization")
    model = build_model(config, package)
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as error:
        raise ModelFileError(
            f"{path} does not fit the network that {package}/mlp.py builds for its"
            f" configuration (was mlp.py changed since?): {str(error).splitlines()[0]}"
        ) from error
    model.to(config.device).eval()
    mean, std = payload["mean"], payload["std"]
    normalize = None
    if mean is not None:
        normalize = normalization.make_normalize(mean.to(config.device), std.to(config.device))
    eval_augmenter = BatchAugmenter.from_transform(augmentations.build_eval_transform(normalize))
    return TrainedModel(model, config, mean, std, package, eval_augmenter)
