"""Shared, bounded hypothesis strategies: small sizes so every example runs in milliseconds.

Preconditions are made by transforming what was drawn, not by filtering it.
"""

import numpy as np
import torch
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

seeds = st.integers(min_value=0, max_value=2**31 - 1)
sides = st.integers(min_value=1, max_value=8)

# Dropout probabilities that leave enough survivors and enough zeros to measure.
probabilities = st.floats(min_value=0.05, max_value=0.9)


@st.composite
def uint8_images(draw, min_images: int = 1, max_images: int = 12) -> torch.Tensor:
    """A stack (N, H, W) of uint8 images on the 0-255 scale.

    Sometimes many images (up to 300: a slice of the first few, or float16 sums, shows
    there), and sometimes only the values 0 and 1 (uint8 is on the 0-255 scale whatever
    its values: guessing the scale from the largest value is wrong).
    """
    n = draw(st.one_of(st.integers(min_images, max_images), st.integers(max_images, 300)))
    shape = (n, draw(sides), draw(sides))
    top = 1 if draw(st.integers(0, 9)) == 0 else 255
    if n > max_images:  # many images: random pixels, drawn fast from one seed
        rng = np.random.default_rng(draw(seeds))
        array = rng.integers(0, top + 1, shape, dtype=np.uint8)
    else:
        array = draw(hnp.arrays(np.uint8, shape, elements=st.integers(0, top)))
    return torch.from_numpy(array)


def _random_case(draw, name: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(name), max_size=len(name)))
    return "".join(c.upper() if up else c for c, up in zip(name, flips, strict=True))


@st.composite
def names_in_any_case(draw, names: tuple[str, ...]) -> str:
    """One of `names`, with each letter's case drawn independently ("ReLU", "TANH")."""
    return _random_case(draw, draw(st.sampled_from(names)))


@st.composite
def unknown_names(draw, valid: tuple[str, ...]) -> str:
    """A name that is not in `valid` in any case: a typo, a real but unsupported one, junk."""
    kind = draw(st.sampled_from(["typo", "other", "junk"]))
    if kind == "typo":
        name = draw(st.sampled_from(valid))
        return _random_case(draw, name + draw(st.sampled_from(["s", "x", "_", "1"])))
    if kind == "other":
        return draw(st.sampled_from(["softmax", "leaky", "gelu", "identity", "", "re lu"]))
    junk = draw(st.text(alphabet="abcdefghijklmnopqrstuvwxyz_-0123456789", max_size=10))
    return "zz" + junk  # no valid name starts with "zz"


float_tensors = st.builds(
    lambda seed, shape, scale: (
        torch.randn(shape, generator=torch.Generator().manual_seed(seed)) * scale
    ),
    seeds,
    st.lists(st.integers(1, 6), min_size=1, max_size=3).map(tuple),
    # Large |x| too (up to about 1,500): where exp overflows float32 (|x| > 88), a
    # formula such as (e^x - e^-x) / (e^x + e^-x) gives NaN.
    st.one_of(st.floats(0.1, 20.0), st.floats(20.0, 400.0)),
)


@st.composite
def sweep_runs(draw, config: dict, metric: str, max_runs: int = 12) -> list[dict]:
    """Runs as W&B reports them: status, the sampled config and a summary with the metric.

    Some runs failed or crashed (with any metric, even a perfect one), some finished
    runs lack the metric or have NaN or an infinite one: the narrowing step must ignore
    all of those.
    """
    runs = []
    for _ in range(draw(st.integers(0, max_runs))):
        params = {}
        for name, spec in config["parameters"].items():
            if "values" in spec:
                params[name] = draw(st.sampled_from(spec["values"]))
            elif spec.get("distribution") == "log_uniform_values":
                low, high = np.log10(spec["min"]), np.log10(spec["max"])
                params[name] = float(10 ** draw(st.floats(low, high)))
            else:
                params[name] = draw(st.floats(spec["min"], spec["max"]))
        status = draw(st.sampled_from(["finished"] * 4 + ["failed", "crashed", "running"]))
        value = draw(
            st.one_of(
                st.floats(0.0, 1.0),
                st.sampled_from([0.1, 0.5, 0.9]),  # ties
                st.sampled_from([float("nan"), float("inf"), float("-inf")]),
                st.none(),
            )
        )
        summary = {} if value is None else {metric: value}
        runs.append({"status": status, "config": params, "summary": summary})
    return runs
