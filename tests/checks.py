"""Failure messages for learners: what was called, what came back, what was expected.

Type and shape are checked before numbers, so a wrong shape is reported as a wrong
shape and not as a confusing numeric mismatch.
"""

from typing import Any

import pytest
import torch

# Unit roundoff of float32: one rounding changes a value by at most this fraction of it.
FLOAT32_ROUNDOFF = 2.0**-24


def float32_mean_error(n: int, magnitude: float = 1.0) -> float:
    """A bound on the error of a mean of n float32 values of size <= magnitude.

    Rounding each input (e.g. k / 255), n - 1 additions in whatever order (worst case:
    one after another, each adding at most the roundoff of the running sum) and the final
    division each cost at most FLOAT32_ROUNDOFF x magnitude: (n + 1) roundings. Pairwise,
    Welford's and numpy's summations stay within this; a factor 2 covers the variance
    and the square root of a standard deviation computed the same way.
    """
    return 2 * (n + 1) * FLOAT32_ROUNDOFF * magnitude


def _tensor(value: torch.Tensor) -> str:
    """dtype, shape and range of a tensor: never its numbers one by one."""
    text = f"{str(value.dtype).removeprefix('torch.')} {tuple(value.shape)}"
    if value.numel() and (value.is_floating_point() or not value.is_complex()):
        data = value.detach().double()
        finite = data[torch.isfinite(data)]
        if finite.numel():
            text += f" from {finite.min().item():.4g} to {finite.max().item():.4g}"
        if finite.numel() < data.numel():
            text += f", {data.numel() - finite.numel()} not finite"
    return text


def _object(value: Any) -> str | None:
    """Transforms and modules that hold tensors, summarised; None for anything else."""
    from torchvision import transforms
    from torchvision.transforms import v2

    if isinstance(value, (transforms.Normalize, v2.Normalize)):
        mean, std = (torch.as_tensor(v) for v in (value.mean, value.std))
        return f"Normalize(mean=<{_tensor(mean)}>, std=<{_tensor(std)}>)"
    if isinstance(value, (transforms.Compose, v2.Compose)):
        return f"Compose([{', '.join(_object(t) or type(t).__name__ for t in value.transforms)}])"
    return None


def describe(value: Any) -> str:
    """A short description of a value: type, dtype, shape and range rather than numbers."""
    if isinstance(value, torch.Tensor):
        return f"a {_tensor(value)} tensor"
    if isinstance(value, type):
        module = "nn." if value.__module__.startswith("torch.nn") else f"{value.__module__}."
        return f"the class {module}{value.__name__} (not an instance of it)"
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, (tuple, list)):
        inner = ", ".join(describe(v) for v in value[:4])
        more = ", ..." if len(value) > 4 else ""
        return f"a {type(value).__name__} of {len(value)} ({inner}{more})"
    summary = _object(value)
    if summary is not None:
        return summary
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 60 else text[:57] + '...'}"


def show(value: Any) -> str:
    """A value as an argument in a message: short, tensors by dtype, shape and range."""
    if isinstance(value, torch.Tensor):
        return f"<{_tensor(value)}>"
    summary = _object(value)
    if summary is not None:
        return summary
    text = repr(value)
    return text if len(text) <= 80 else f"<{type(value).__name__}>"


def call(name: str, *args: Any, **kwargs: Any) -> str:
    """How a call looks in a message: tensors by dtype and shape, other values by repr."""
    parts = [show(a) for a in args] + [f"{k}={show(v)}" for k, v in kwargs.items()]
    return f"{name}({', '.join(parts)})"


def run(function, *args: Any, called: str, expected: str, **kwargs: Any) -> Any:
    """Call code under test; an exception (also one raised deep inside torch or torchvision
    by what the student built) becomes a called / got / expected message, not a traceback.
    NotImplementedError passes through: an untouched stub has its own short message."""
    try:
        return function(*args, **kwargs)
    except NotImplementedError:
        raise
    except Exception as error:  # noqa: BLE001 - any error is the student's to see
        problem = f"{type(error).__name__}: {error}"
    fail(called, problem, expected)  # outside the except: no "During handling of..." chain


def fail(called: str, got: str, expected: str) -> None:
    pytest.fail(f"called {called}\n  got:      {got}\n  expected: {expected}", pytrace=False)


def check_tensor(
    value: Any,
    *,
    called: str,
    what: str = "the result",
    shape: tuple[int, ...] | None = None,
    dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """Fail unless `value` is a tensor of the given shape and dtype; returns it."""
    if not isinstance(value, torch.Tensor):
        fail(called, f"{what} was {describe(value)}", "a torch.Tensor")
    if shape is not None and tuple(value.shape) != tuple(shape):
        fail(called, f"{what} was {describe(value)}", f"shape {tuple(shape)}")
    if dtype is not None and value.dtype != dtype:
        fail(called, f"{what} was {describe(value)}", f"dtype {dtype}")
    return value


def check_close(
    actual: torch.Tensor,
    expected: torch.Tensor,
    *,
    called: str,
    what: str = "the result",
    atol: float | torch.Tensor = 1e-6,
    rtol: float = 0.0,
) -> None:
    """Fail with the worst element when two tensors of the same shape are not close.

    `atol` may be a tensor (one tolerance per element, broadcast against `expected`).
    Equal infinities are close; a NaN on either side never is, and is named as such.
    """
    check_tensor(actual, called=called, what=what, shape=tuple(expected.shape))
    a, e = actual.detach().double().cpu(), expected.detach().double().cpu()
    tol = torch.as_tensor(atol, dtype=torch.float64).expand(e.shape)
    bad = ~(((a - e).abs() <= tol + rtol * e.abs()) | (a == e))
    if not bad.any():
        return
    diff = torch.where(bad, (a - e).abs().nan_to_num(float("inf")), torch.zeros_like(a))
    index = tuple(int(i) for i in torch.unravel_index(diff.argmax(), a.shape))
    where = f"{what}[{', '.join(map(str, index))}]" if a.dim() else what
    count = f"({int(bad.sum())} of {a.numel()} elements off)"
    if torch.isnan(e[index]):
        fail(called, f"{where} = {a[index].item():.7g}, compared with a NaN", "finite values")
    got = "NaN" if torch.isnan(a[index]) else f"{a[index].item():.7g}"
    tolerance = f"{tol[index].item():.3g}" + (f" + {rtol:g} x |expected|" if rtol else "")
    fail(called, f"{where} = {got} {count}", f"{e[index].item():.7g} (within {tolerance})")
