"""Every block gets Dropout(0.5): the dropout_probability hyperparameter never reaches the model."""

from solutions import mlp as _reference
from solutions.mlp import *  # noqa: F403


def build_mlp(
    number_hidden_layers,
    hidden_layer_size,
    activation="relu",
    dropout_probability=0.0,
    input_size=784,
    num_classes=10,
):
    return _reference.build_mlp(
        number_hidden_layers,
        hidden_layer_size,
        activation,
        0.5 if dropout_probability else 0.0,
        input_size,
        num_classes,
    )
