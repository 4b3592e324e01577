"""One trial's configuration: the assignment's 11 hyperparameters, a seed and a device.

Built from a plain dict, such as a sweep proposes (`TrialConfig.from_dict`), with a clear
error for an unknown key or a value of the wrong type or out of range.
"""

import math
import numbers
from dataclasses import asdict, dataclass, fields
from typing import Any

ACTIVATIONS = ("sigmoid", "tanh", "ReLU")


class ConfigError(ValueError):
    """A trial configuration with unknown keys or bad values; lists every problem."""


@dataclass(frozen=True)
class TrialConfig:
    """The assignment's hyperparameters, with its names; defaults are the baseline network."""

    dataNormalisation: bool = False
    horizontalFlip: bool = False
    resizedCrop: bool = False
    rotation: bool = False
    numberHiddenLayers: int = 1
    hiddenLayerSize: int = 128
    activationFunction: str = "ReLU"
    dropoutProbability: float = 0.0
    numberEpochs: float = 10  # a fraction trains part of an epoch (the coarse stage)
    learningRate: float = 1e-3
    batchSize: int = 64
    seed: int = 0
    device: str = "cpu"

    def __post_init__(self) -> None:
        problems = [p for f in fields(self) if (p := _check(f.name, getattr(self, f.name)))]
        if problems:
            raise ConfigError("invalid trial configuration:\n  " + "\n  ".join(problems))

    @classmethod
    def from_dict(cls, values: dict[str, Any], **overrides: Any) -> "TrialConfig":
        """Build from a dict (numpy scalars welcome); unknown keys are an error."""
        merged = {**values, **overrides}
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(merged) - known)
        if unknown:
            raise ConfigError(
                f"unknown key(s) {unknown} in trial configuration; valid keys: {sorted(known)}"
            )
        return cls(**{k: _plain(v) for k, v in merged.items()})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def hyperparameters(self) -> dict[str, Any]:
        """The 11 hyperparameters, without seed and device."""
        return {k: v for k, v in asdict(self).items() if k not in ("seed", "device")}


def _plain(value: Any) -> Any:
    """numpy scalars (what the sweep engine proposes) to plain Python values."""
    if isinstance(value, str):
        return str(value)  # numpy.str_ too
    return value.item() if hasattr(value, "item") else value


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check(name: str, value: Any) -> str | None:
    """A message for a bad value, None for a good one."""
    if name in ("dataNormalisation", "horizontalFlip", "resizedCrop", "rotation"):
        ok, want = isinstance(value, bool), "True or False"
    elif name in ("numberHiddenLayers", "hiddenLayerSize", "batchSize"):
        ok, want = _is_int(value) and value >= 1, "an integer >= 1"
    elif name == "activationFunction":
        ok = isinstance(value, str) and value.lower() in {a.lower() for a in ACTIVATIONS}
        want = f"one of {ACTIVATIONS}"
    elif name == "dropoutProbability":
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and 0 <= value < 1
        want = "a number with 0 <= p < 1"
    elif name == "numberEpochs":
        ok, want = _positive_finite(value) and value <= 1000, "a number of epochs in (0, 1000]"
    elif name == "learningRate":
        ok, want = _positive_finite(value) and value <= 10, "a learning rate in (0, 10]"
    elif name == "seed":
        ok, want = _is_int(value) and value >= 0, "an integer >= 0"
    elif name == "device":
        ok, want = (
            isinstance(value, str) and value.split(":")[0] in ("cpu", "cuda", "mps"),
            ("'cpu', 'cuda', 'cuda:N' or 'mps'"),
        )
    else:  # pragma: no cover - every field is listed above
        ok, want = True, ""
    return None if ok else f"{name}={value!r}: expected {want}"


def _positive_finite(value: Any) -> bool:
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )
