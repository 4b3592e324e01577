"""Exercise 3: an activation function chosen by name."""

import pytest
import torch
from hypothesis import given
from torch import nn

from tests.checks import call, check_close, check_tensor, describe, fail
from tests.strategies import float_tensors, names_in_any_case, unknown_names

pytestmark = pytest.mark.exercise("activations")

NAMES = ("relu", "tanh", "sigmoid")
CLOSED_FORMS = {
    "relu": lambda x: torch.where(x > 0, x, torch.zeros_like(x)),
    "tanh": lambda x: 1 - 2 / (torch.exp(2 * x) + 1),
    "sigmoid": lambda x: 1 / (1 + torch.exp(-x)),
}


@pytest.fixture(scope="module")
def activations(impl):
    return impl.module("activations")


def activation(activations, name: str) -> nn.Module:
    module = activations.get_activation(name)
    if not isinstance(module, nn.Module):
        fail(
            call("get_activation", name),
            describe(module),
            "an nn.Module instance, such as nn.ReLU() (with the parentheses)",
        )
    return module


@given(names_in_any_case(NAMES), float_tensors)
def test_each_name_gives_its_own_function(activations, name, x):
    module = activation(activations, name)
    called = f"{call('get_activation', name)}({call('', x).strip('()')})"
    out = check_tensor(module(x.clone()), called=called, shape=tuple(x.shape), dtype=x.dtype)
    expected = CLOSED_FORMS[name.lower()](x.double())
    check_close(out, expected, called=called, what=f"{name.lower()}(x)", atol=1e-6, rtol=1e-5)


@given(names_in_any_case(NAMES))
def test_every_call_returns_a_fresh_module(activations, name):
    first, second = activation(activations, name), activation(activations, name)
    if first is second:
        fail(
            f"{call('get_activation', name)} twice",
            "the same module object both times",
            "a new module on each call (layers must not share one object)",
        )


def test_all_names_give_different_functions(activations):
    x = torch.linspace(-3, 3, 13)
    outputs = {name: activation(activations, name)(x) for name in NAMES}
    for a in NAMES:
        for b in NAMES:
            if a < b and torch.allclose(outputs[a], outputs[b]):
                fail(
                    f"get_activation({a!r}) and get_activation({b!r})",
                    "the same function for both",
                    "each name its own function",
                )


@given(unknown_names(NAMES))
def test_an_unknown_name_raises_a_value_error_that_lists_the_valid_names(activations, name):
    called = call("get_activation", name)
    try:
        module = activations.get_activation(name)
    except ValueError as error:
        message = str(error).lower()
        missing = [valid for valid in NAMES if valid not in message]
        if missing:
            fail(called, f"ValueError({str(error)!r})", f"a message that lists {list(NAMES)}")
    else:
        fail(
            called,
            describe(module),
            "ValueError: an unknown name must not silently become some default activation",
        )
