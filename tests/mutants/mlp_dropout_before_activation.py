"""Linear -> Dropout -> activation in each block: for ReLU the same function, not the order."""

from torch import nn

from solutions.mlp import *  # noqa: F403
from solutions.mlp import IMAGE_PIXELS, NUM_CLASSES, Dropout, get_activation


def build_mlp(
    number_hidden_layers,
    hidden_layer_size,
    activation="relu",
    dropout_probability=0.0,
    input_size=IMAGE_PIXELS,
    num_classes=NUM_CLASSES,
):
    if number_hidden_layers < 1 or hidden_layer_size < 1:
        raise ValueError("sizes must be at least 1")
    layers = [nn.Flatten()]
    width = input_size
    for _ in range(number_hidden_layers):
        layers += [
            nn.Linear(width, hidden_layer_size),
            Dropout(dropout_probability),
            get_activation(activation),
        ]
        width = hidden_layer_size
    return nn.Sequential(*layers, nn.Linear(width, num_classes))
