"""Exercise 4: inverted dropout written by hand."""

import math

import pytest
import torch
from hypothesis import example, given
from hypothesis import strategies as st
from torch import nn

from tests.checks import call, check_close, check_tensor, describe, fail
from tests.strategies import float_tensors, probabilities, seeds

pytestmark = pytest.mark.exercise("dropout")

N = 20_000  # elements per draw: enough to measure a rate to within about 0.015


@pytest.fixture(scope="module")
def dropout(impl):
    return impl.module("dropout")


def make(dropout, p: float, training: bool = True) -> nn.Module:
    module = dropout.Dropout(p)
    if not isinstance(module, nn.Module):
        fail(call("Dropout", p), describe(module), "an nn.Module")
    return module.train(training)


def forward(module, x: torch.Tensor, called: str) -> torch.Tensor:
    out = module(x)
    return check_tensor(out, called=called, shape=tuple(x.shape), dtype=x.dtype)


def binomial_bound(p: float, n: int) -> float:
    return 5 * math.sqrt(p * (1 - p) / n) + 1 / n


@given(st.floats(0.0, 0.99), float_tensors)
def test_eval_mode_is_the_identity(dropout, p, x):
    called = f"Dropout({p}).eval()({call('', x).strip('()')})"
    check_close(
        forward(make(dropout, p, training=False), x.clone(), called), x, called=called, atol=0
    )


@given(float_tensors)
def test_p_zero_is_the_identity_in_training_mode(dropout, x):
    called = f"Dropout(0.0).train()({call('', x).strip('()')})"
    check_close(forward(make(dropout, 0.0), x.clone(), called), x, called=called, atol=0)


@given(probabilities, seeds)
@example(p=0.2, seed=0)
def test_the_zeroed_fraction_is_p(dropout, p, seed):
    torch.manual_seed(seed)
    called = f"Dropout({p:.3f}).train()(ones of shape ({N},))"
    out = forward(make(dropout, p), torch.ones(N), called)
    zeroed = float((out == 0).float().mean())
    if abs(zeroed - p) > binomial_bound(p, N):
        hint = (
            " (elements are dropped with probability p, kept with 1 - p)"
            if abs(zeroed - (1 - p)) < binomial_bound(p, N)
            else ""
        )
        fail(
            called,
            f"{zeroed:.4f} of the elements zeroed{hint}",
            f"a fraction of {p:.4f} ± {binomial_bound(p, N):.4f}",
        )


@given(probabilities, float_tensors, seeds)
def test_survivors_are_scaled_by_one_over_one_minus_p(dropout, p, x, seed):
    torch.manual_seed(seed)
    x = x + torch.sign(x) * 0.5 + (x == 0) * 1.0  # no zeros in the input: a zero means dropped
    called = f"Dropout({p:.3f}).train()({call('', x).strip('()')})"
    out = forward(make(dropout, p), x.clone(), called)
    kept = out != 0
    check_close(
        out[kept], x[kept] / (1 - p), called=called, what="surviving elements", atol=0, rtol=1e-5
    )


@given(probabilities, seeds)
@example(p=0.5, seed=1)
def test_the_mean_is_preserved(dropout, p, seed):
    generator = torch.Generator().manual_seed(seed)
    x = torch.rand(N, generator=generator) * 4 + 1
    torch.manual_seed(seed + 1)  # a mask independent of x
    called = f"Dropout({p:.3f}).train()(x in [1, 5] of shape ({N},))"
    out = forward(make(dropout, p), x.clone(), called)
    # Standard error of the mean of x * mask / (1 - p).
    sem = float(x.pow(2).mean().sqrt()) * math.sqrt(p / (1 - p) / N)
    # Means taken in float64 here, so the only slack needed is the sampling noise.
    got, expected = float(out.double().mean()), float(x.double().mean())
    if abs(got - expected) > 5 * sem + 1e-4:
        fail(
            called,
            f"mean {got:.4f}",
            f"the input's mean {expected:.4f} ± {5 * sem:.4f} (inverted dropout)",
        )


@given(probabilities, float_tensors)
def test_the_input_is_not_changed(dropout, p, x):
    before = x.clone()
    called = f"Dropout({p:.3f}).train()({call('', x).strip('()')})"
    forward(make(dropout, p), x, called)
    if not torch.equal(x, before):
        fail(called, "the input tensor was changed in place", "the input left as it was")


def test_each_call_draws_a_new_mask(dropout):
    module = make(dropout, 0.5)
    x = torch.ones(1000)
    first, second = module(x), module(x)
    if torch.equal(first, second):
        fail(
            "Dropout(0.5).train() called twice on the same input",
            "the same mask both times",
            "a fresh random mask on every call",
        )


@given(probabilities, seeds)
def test_the_gradient_flows_through_the_survivors(dropout, p, seed):
    torch.manual_seed(seed)
    x = torch.rand(500) + 0.5
    x.requires_grad_(True)
    called = f"Dropout({p:.3f}).train()(x).sum().backward()"
    out = forward(make(dropout, p), x, called)
    out.sum().backward()
    if x.grad is None:
        fail(called, "no gradient for x", "a gradient of 1 / (1 - p) for every survivor")
    expected = (out.detach() != 0).double() / (1 - p)
    check_close(x.grad, expected, called=called, what="x.grad", atol=1e-6, rtol=1e-6)


@given(
    st.one_of(
        st.floats(max_value=-1e-9),
        st.floats(min_value=1.0),
        st.just(float("nan")),
        st.sampled_from(["0.5", None, True, 1, -1, float("inf")]),
    )
)
def test_a_bad_probability_is_rejected(dropout, p):
    try:
        module = dropout.Dropout(p)
    except (ValueError, TypeError):
        return
    fail(call("Dropout", p), describe(module), "ValueError: p must be a number with 0 <= p < 1")


@pytest.mark.parametrize("shape", [(400, 60), (60, 400), (30, 20, 40)])
def test_each_element_is_dropped_independently(dropout, shape):
    # One draw per element: a mask drawn once per row, per column or per batch element
    # and broadcast makes whole lines all-zero or all-kept, which independent draws at
    # p = 0.5 almost never do (a line of 20 or more elements: probability below 2e-6).
    torch.manual_seed(0)
    called = f"Dropout(0.5).train()(ones of shape {shape})"
    out = forward(make(dropout, 0.5), torch.ones(shape), called)
    zero = out == 0
    for dim in range(len(shape)):
        uniform = (zero.all(dim) | (~zero).all(dim)).float().mean().item()
        if uniform > 0.05:
            fail(
                called,
                f"{uniform:.0%} of the lines along dimension {dim} all dropped or all kept",
                "each element dropped independently (one random draw per element)",
            )


@pytest.mark.parametrize("p", [0, 0.0])
def test_an_integer_or_float_zero_is_a_valid_probability(dropout, p):
    module = make(dropout, p)
    x = torch.randn(50)
    called = f"Dropout({p!r}).train()(x)"
    check_close(forward(module, x.clone(), called), x, called=called, atol=0)
    if getattr(module, "p", None) != 0 or isinstance(module.p, bool):
        fail(call("Dropout", p), f"p = {getattr(module, 'p', None)!r}", "p kept as 0.0")
