"""Exercise 5: a fully connected network from the assignment's hyperparameters.

The network uses an activation and dropout; this test gives it the reference ones, so a
mistake in those exercises does not show up here.
"""

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from tests.checks import call, check_close, check_tensor, describe, fail
from tests.strategies import names_in_any_case, seeds

pytestmark = pytest.mark.exercise("mlp")

NAMES = ("relu", "tanh", "sigmoid")
PIXELS, CLASSES = 28 * 28, 10
layer_counts = st.integers(1, 4)
layer_sizes = st.integers(1, 48)
batch_sizes = st.integers(1, 8)


@pytest.fixture
def mlp(impl, reference, monkeypatch):
    module = impl.module("mlp")
    monkeypatch.setattr(
        module, "get_activation", reference.module("activations").get_activation, raising=False
    )
    monkeypatch.setattr(module, "Dropout", reference.module("dropout").Dropout, raising=False)
    return module


def build(mlp, layers, size, activation="relu", p=0.0) -> tuple[nn.Module, str]:
    called = call("build_mlp", layers, size, activation, p)
    model = mlp.build_mlp(layers, size, activation, p)
    if not isinstance(model, nn.Module):
        fail(called, describe(model), "an nn.Module")
    return model, called


def linears(model: nn.Module) -> list[nn.Linear]:
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


@given(layer_counts, layer_sizes, batch_sizes, seeds)
def test_logits_of_shape_batch_by_10_for_images_and_flat_vectors(mlp, layers, size, batch, seed):
    model, called = build(mlp, layers, size)
    images = torch.rand(batch, 1, 28, 28, generator=torch.Generator().manual_seed(seed))
    model.eval()
    from_images = check_tensor(
        model(images),
        called=f"{called}({call('', images)[1:-1]})",
        shape=(batch, CLASSES),
        dtype=torch.float32,
    )
    flat = images.reshape(batch, PIXELS)
    from_flat = check_tensor(
        model(flat),
        called=f"{called}({call('', flat)[1:-1]})",
        shape=(batch, CLASSES),
        dtype=torch.float32,
    )
    # The same numbers either way; a flattened view and a contiguous tensor may still take
    # different float32 matmul kernels (another blocking of the 784-long dot products):
    # a few roundings of |logit| <= ~10, well inside 1e-5 absolute + 1e-5 relative.
    check_close(
        from_flat,
        from_images,
        called=f"{called} on flat vs image input",
        atol=1e-5,
        rtol=1e-5,
    )


@given(layer_counts, layer_sizes)
def test_linear_layers_and_parameter_count_follow_the_formula(mlp, layers, size):
    model, called = build(mlp, layers, size)
    found = linears(model)
    if len(found) != layers + 1:
        fail(
            called,
            f"{len(found)} nn.Linear layers",
            f"{layers + 1}: {layers} hidden and one output layer",
        )
    shapes = [(m.in_features, m.out_features) for m in found]
    expected_shapes = [(PIXELS, size)] + [(size, size)] * (layers - 1) + [(size, CLASSES)]
    if shapes != expected_shapes:
        fail(called, f"Linear (in, out) sizes {shapes}", f"{expected_shapes}")
    count = sum(p.numel() for p in model.parameters())
    expected = (PIXELS + 1) * size + (layers - 1) * (size + 1) * size + (size + 1) * CLASSES
    if count != expected:
        fail(called, f"{count} parameters", f"{expected} (weights and biases of the Linears)")


@given(layer_counts, layer_sizes, st.sampled_from([0.0, 0.5]), st.booleans(), seeds)
def test_nothing_comes_after_the_last_linear(mlp, layers, size, p, training, seed):
    model, called = build(mlp, layers, size, "relu", p)
    model.train(training)
    captured = {}
    linears(model)[-1].register_forward_hook(lambda m, i, out: captured.update(out=out))
    torch.manual_seed(seed)
    out = model(torch.rand(4, 1, 28, 28))
    mode = "train" if training else "eval"
    check_close(
        out,
        captured["out"],
        atol=0,
        called=f"{called}.{mode}()(images)",
        what="the output (should be the last Linear's raw logits: no softmax, no dropout after it)",
    )


@given(names_in_any_case(NAMES), layer_counts)
def test_the_named_activation_follows_every_hidden_layer(mlp, reference, name, layers):
    model, called = build(mlp, layers, 8, name)
    expected_type = type(reference.module("activations").get_activation(name))
    others = {type(reference.module("activations").get_activation(n)) for n in NAMES}
    found = [type(m).__name__ for m in model.modules() if type(m) in others]
    if found != [expected_type.__name__] * layers:
        fail(called, f"activations {found}", f"{[expected_type.__name__] * layers}")


@given(layer_counts, st.floats(0.2, 0.8))
def test_dropout_is_active_in_training_and_off_in_eval(mlp, layers, p):
    model, called = build(mlp, layers, 32, "tanh", p)
    x = torch.rand(8, 1, 28, 28)
    model.eval()
    if not torch.equal(model(x), model(x)):
        fail(
            f"{called}.eval() twice on the same input",
            "different outputs",
            "the same output: no dropout in eval mode",
        )
    model.train()
    if torch.equal(model(x), model(x)):
        fail(
            f"{called}.train() twice on the same input",
            "the same output",
            f"different outputs: dropout with p={p:.2f} is active in training",
        )


@given(layer_counts, layer_sizes, seeds)
def test_the_same_seed_gives_the_same_weights(mlp, layers, size, seed):
    torch.manual_seed(seed)
    first, called = build(mlp, layers, size)
    torch.manual_seed(seed)
    second, _ = build(mlp, layers, size)
    for (name, a), (_, b) in zip(
        first.state_dict().items(), second.state_dict().items(), strict=True
    ):
        check_close(a, b, called=f"torch.manual_seed({seed}); {called}, twice", what=name, atol=0)


@given(layer_counts, st.integers(4, 32), st.sampled_from(["tanh", "sigmoid"]), seeds)
def test_the_gradient_reaches_every_parameter(mlp, layers, size, name, seed):
    torch.manual_seed(seed)
    model, called = build(mlp, layers, size, name)
    images, labels = torch.rand(16, 1, 28, 28), torch.randint(0, CLASSES, (16,))
    nn.functional.cross_entropy(model(images), labels).backward()
    for param_name, param in model.named_parameters():
        if param.grad is None or not param.grad.abs().sum() > 0:
            fail(
                f"{called}; cross_entropy(model(images), labels).backward()",
                f"no gradient for {param_name}",
                "a non-zero gradient for every parameter",
            )


@pytest.mark.parametrize("layers, size", [(0, 8), (2, 0), (-1, 8)])
def test_sizes_below_one_are_rejected(mlp, layers, size):
    try:
        model = mlp.build_mlp(layers, size, "relu", 0.0)
    except ValueError:
        return
    fail(
        call("build_mlp", layers, size, "relu", 0.0),
        describe(model),
        "ValueError: at least one hidden layer of at least one unit",
    )


@given(st.integers(1, 40), st.integers(2, 12), layer_counts, st.integers(1, 16), batch_sizes)
def test_other_input_and_class_counts(mlp, features, classes, layers, size, batch):
    called = call("build_mlp", layers, size, "relu", 0.0, input_size=features, num_classes=classes)
    model = mlp.build_mlp(layers, size, "relu", 0.0, input_size=features, num_classes=classes)
    if not isinstance(model, nn.Module):
        fail(called, describe(model), "an nn.Module")
    x = torch.rand(batch, features)
    check_tensor(
        model.eval()(x),
        called=f"{called}({call('', x)[1:-1]})",
        shape=(batch, classes),
        dtype=torch.float32,
    )
    shapes = [(m.in_features, m.out_features) for m in linears(model)]
    expected = [(features, size)] + [(size, size)] * (layers - 1) + [(size, classes)]
    if shapes != expected:
        fail(called, f"Linear (in, out) sizes {shapes}", f"{expected}")


def dropouts(model: nn.Module, reference) -> list[nn.Module]:
    kinds = (reference.module("dropout").Dropout, nn.Dropout)
    return [m for m in model.modules() if isinstance(m, kinds)]


@given(layer_counts, st.sampled_from([0.1, 0.25, 0.5, 0.8]), names_in_any_case(NAMES))
def test_each_block_runs_linear_then_activation_then_dropout_with_the_given_p(
    mlp, reference, layers, p, name
):
    model, called = build(mlp, layers, 8, name, p)
    # The dropout probability reaches every block's Dropout.
    found = [getattr(m, "p", None) for m in dropouts(model, reference)]
    if len(found) != layers or not all(isinstance(q, float) and math.isclose(q, p) for q in found):
        fail(called, f"Dropout probabilities {found}", f"{[p] * layers}: p={p} in every block")
    # The order in which the pieces run (forward hooks, so a custom forward counts too).
    activation_type = type(reference.module("activations").get_activation(name))
    label = {nn.Linear: "Linear", activation_type: type(activation_type()).__name__}
    order: list[str] = []
    for module in model.modules():
        kind = next((v for k, v in label.items() if type(module) is k), None)
        if module in dropouts(model, reference):
            kind = "Dropout"
        if kind is not None:
            module.register_forward_hook(lambda m, i, o, kind=kind: order.append(kind))
    model.train()(torch.rand(2, 1, 28, 28))
    expected = ["Linear", label[activation_type], "Dropout"] * layers + ["Linear"]
    if order != expected:
        fail(f"{called}.train()(images)", f"layers run in the order {order}", f"{expected}")
