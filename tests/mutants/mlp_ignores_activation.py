"""A network that always uses ReLU, whatever activation it is asked for."""

from solutions import mlp as _reference
from solutions.mlp import *  # noqa: F403
from solutions.mlp import Dropout, get_activation  # noqa: F401  (patched by the test)


def build_mlp(
    number_hidden_layers, hidden_layer_size, activation="relu", dropout_probability=0.0, **kwargs
):
    _reference.get_activation, _reference.Dropout = get_activation, Dropout
    return _reference.build_mlp(
        number_hidden_layers, hidden_layer_size, "relu", dropout_probability, **kwargs
    )
