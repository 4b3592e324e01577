"""One trial's configuration: the assignment's 11 hyperparameters, a seed and a device.

Built from a plain dict, such as a sweep proposes (`TrialConfig.from_dict`), with a clear
error for an unknown key or a value of the wrong type or out of range. `load_config_file`
reads such a dict (or a sweep configuration) from a YAML or JSON file.
"""

import json
import math
import numbers
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

ACTIVATIONS = ("sigmoid", "tanh", "ReLU")

# The assignment's values for each hyperparameter (what `kata train --help` lists). A trial
# configuration accepts more (the baseline network's 128 units, fractions of an epoch).
ASSIGNMENT_VALUES = {
    "dataNormalisation": "True, False",
    "horizontalFlip": "True, False",
    "resizedCrop": "True, False",
    "rotation": "True, False",
    "numberHiddenLayers": "1, 2, 4",
    "hiddenLayerSize": "64, 256, 1024",
    "activationFunction": "sigmoid, tanh, ReLU",
    "dropoutProbability": "0 to 0.8",
    "numberEpochs": "5, 10",
    "learningRate": "1e-4 to 1e-1 (log scale)",
    "batchSize": "8, 64, 128",
}


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


def load_config_file(path: str | Path) -> dict:
    """The mapping in a YAML or JSON file (JSON is read as YAML too); ConfigError with the
    file's name for a missing or unreadable file, bad YAML/JSON, or anything but a mapping.
    """
    import yaml

    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot be read ({error})") from None
    try:
        if path.suffix.lower() == ".json":
            values = json.loads(text)
        else:
            values = yaml.load(text, Loader=_yaml_loader())
    except (json.JSONDecodeError, yaml.YAMLError) as error:
        kind = "JSON" if path.suffix.lower() == ".json" else "YAML"
        message = " ".join(str(error).split())
        raise ConfigError(f"{path}: not valid {kind}: {message}") from None
    if not isinstance(values, dict):
        raise ConfigError(
            f"{path}: expected a mapping of keys to values, found {type(values).__name__}"
        )
    return values


def _yaml_loader():
    """PyYAML's safe loader, reading 1e-4 as a float as YAML 1.2 and JSON do (PyYAML follows
    YAML 1.1, where a float needs a dot: "1e-4" would be the string '1e-4')."""
    import re

    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_implicit_resolver(
        "tag:yaml.org,2002:float",
        re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
        list("-+0123456789"),
    )
    return Loader
