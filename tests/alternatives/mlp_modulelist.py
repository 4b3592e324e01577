"""A custom nn.Module: a ModuleList of hidden blocks and a forward written by hand."""

import torch
from torch import nn

from solutions.activations import get_activation
from solutions.dropout import Dropout

IMAGE_PIXELS = 28 * 28
NUM_CLASSES = 10


class MLP(nn.Module):
    def __init__(self, layers, size, activation, p, input_size, num_classes):
        super().__init__()
        widths = [input_size] + [size] * layers
        self.hidden = nn.ModuleList(
            nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:], strict=True)
        )
        self.activations = nn.ModuleList(get_activation(activation) for _ in range(layers))
        self.dropouts = nn.ModuleList(Dropout(p) for _ in range(layers))
        self.output = nn.Linear(size, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.reshape(x.shape[0], -1)
        for linear, act, drop in zip(self.hidden, self.activations, self.dropouts, strict=True):
            x = drop(act(linear(x)))
        return self.output(x)


def build_mlp(
    number_hidden_layers,
    hidden_layer_size,
    activation="relu",
    dropout_probability=0.0,
    input_size=IMAGE_PIXELS,
    num_classes=NUM_CLASSES,
):
    if number_hidden_layers < 1 or hidden_layer_size < 1:
        raise ValueError("need at least one hidden layer of at least one unit")
    return MLP(
        number_hidden_layers,
        hidden_layer_size,
        activation,
        dropout_probability,
        input_size,
        num_classes,
    )
