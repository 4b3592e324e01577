"""Plain values: what the sweeps package hands out (numpy scalars) made JSON-safe."""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np


def plain(value: Any) -> Any:
    """numpy (and 0-d torch) scalars, arrays and tuples to plain Python values, recursively."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if getattr(value, "ndim", None) == 0 and callable(getattr(value, "item", None)):
        return value.item()
    return value


def jsonable(value: Any) -> Any:
    """`plain`, with non-finite floats as the strings "NaN", "Infinity", "-Infinity" (valid
    JSON keeps them readable) and anything else JSON cannot hold as its repr."""
    value = plain(value)
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, str | bool | int | float):
        return value
    return repr(value)


def json_normalize(config: Mapping) -> dict:
    """The configuration as JSON would give it back (tuples become lists, numpy plain)."""
    return json.loads(json.dumps(plain(config), allow_nan=False))


def finite(value: Any) -> bool:
    """A real number (not a bool) that is finite."""
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )
