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
    want = value_problem(name, value)
    return None if want is None else f"{name}={value!r}: {want}"


def value_problem(name: str, value: Any) -> str | None:
    """What a field of a trial configuration expects ("expected ..."), if `value` is not
    it; None for a good value. The one place that says what a trial accepts."""
    if name in ("dataNormalisation", "horizontalFlip", "resizedCrop", "rotation"):
        ok, want = isinstance(value, bool), "True or False"
    elif name in ("numberHiddenLayers", "hiddenLayerSize", "batchSize"):
        ok, want = _is_int(value) and value >= 1, "an integer >= 1"
    elif name == "activationFunction":
        ok = isinstance(value, str) and value.lower() in {a.lower() for a in ACTIVATIONS}
        want = f"one of {ACTIVATIONS}"
    elif name == "dropoutProbability":
        ok = _real(value) and 0 <= value < 1
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
    return None if ok else f"expected {want}"


def _real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and value == value


def _positive_finite(value: Any) -> bool:
    return _real(value) and math.isfinite(value) and value > 0


def load_config_file(path: str | Path) -> dict:
    """The mapping in a YAML or JSON file (JSON is read as YAML too); ConfigError with the
    file's name for a missing, unreadable or empty file, YAML or JSON that does not parse
    (with its line and column), a key given twice, or anything but a mapping.
    """
    import yaml

    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, not a configuration file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot be read ({error})") from None
    kind = "JSON" if path.suffix.lower() == ".json" else "YAML"
    try:
        if kind == "JSON":
            values = json.loads(text, object_pairs_hook=_unique_keys)
        else:
            values = yaml.load(text, Loader=_yaml_loader())
    except json.JSONDecodeError as error:
        where = f"line {error.lineno}, column {error.colno}"
        raise ConfigError(f"{path}: not valid JSON at {where}: {error.msg}") from None
    except _DuplicateKey as error:
        raise ConfigError(f"{path}: {error}") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML{_yaml_where(error)}") from None
    if values is None:
        raise ConfigError(f"{path}: expected a mapping of keys to values, found an empty file")
    if not isinstance(values, dict):
        raise ConfigError(
            f"{path}: expected a mapping of keys to values, found {type(values).__name__}"
        )
    return values


class _DuplicateKey(ValueError):
    """A key given twice in one mapping: YAML and JSON readers keep the last silently."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict:
    values: dict = {}
    for key, value in pairs:
        if key in values:
            raise _DuplicateKey(f"the key {key!r} is given twice")
        values[key] = value
    return values


def _yaml_where(error: Exception) -> str:
    """ " at line L, column C: what is wrong", from PyYAML's marks (1-based, as editors count)."""
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    problem = getattr(error, "problem", None) or str(error)
    context = getattr(error, "context", None)
    text = f"{problem} ({context})" if context else problem
    return f"{where}: {' '.join(text.split())}"


def _yaml_loader():
    """PyYAML's safe loader that refuses a key given twice and reads 1e-4 as a float as YAML
    1.2 and JSON do (PyYAML follows YAML 1.1, where a float needs a dot: "1e-4" would be the
    string '1e-4')."""
    import re

    import yaml

    class Loader(yaml.SafeLoader):
        def construct_mapping(self, node, deep=False):
            seen: dict = {}
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=deep)
                if key in seen:
                    mark = key_node.start_mark
                    raise _DuplicateKey(
                        f"the key {key!r} is given twice (line {seen[key]} and line"
                        f" {mark.line + 1})"
                    )
                seen[key] = key_node.start_mark.line + 1
            return super().construct_mapping(node, deep=deep)

    Loader.add_implicit_resolver(
        "tag:yaml.org,2002:float",
        re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
        list("-+0123456789"),
    )
    return Loader


def device_problem(device: str) -> str | None:
    """Why `device` cannot train here ("--device ...: ..."), None if it can: asked before
    the first trial, so that a missing GPU is one message, not a sweep of failed trials."""
    kind = device.split(":")[0]
    if kind not in ("cpu", "cuda", "mps") or device.count(":") > 1:
        return f"--device {device}: expected cpu, cuda, cuda:N or mps"
    if kind == "cpu":
        return None
    import torch

    if kind == "cuda" and not torch.cuda.is_available():
        return f"--device {device}: this machine has no CUDA GPU that torch can use"
    if kind == "cuda" and ":" in device:
        index = device.split(":", 1)[1]
        if not index.isdigit() or int(index) >= torch.cuda.device_count():
            return f"--device {device}: no such GPU ({torch.cuda.device_count()} found)"
    if kind == "mps" and not torch.backends.mps.is_available():
        return f"--device {device}: this machine has no MPS device"
    return None
