"""Exercise 5: a fully connected network from the assignment's hyperparameters."""

from torch import nn

from .activations import get_activation
from .dropout import Dropout

IMAGE_PIXELS = 28 * 28
NUM_CLASSES = 10


def build_mlp(
    number_hidden_layers: int,
    hidden_layer_size: int,
    activation: str = "relu",
    dropout_probability: float = 0.0,
    input_size: int = IMAGE_PIXELS,
    num_classes: int = NUM_CLASSES,
) -> nn.Module:
    """A fully connected classifier.

    Flatten, then `number_hidden_layers` blocks of Linear -> activation -> Dropout, in
    that order within each block (use `get_activation(activation)` and this kata's
    `Dropout(dropout_probability)`, so every block's dropout has that probability), then
    one last Linear to `num_classes` logits. The first Linear takes `input_size`
    features, the others `hidden_layer_size`. Nothing follows the last Linear: no
    softmax (the cross-entropy loss applies it) and no dropout.

    Accepts a batch of shape (B, 1, 28, 28) or (B, 784), or in general (B, ...) with
    `input_size` values per example; returns (B, num_classes).
    number_hidden_layers and hidden_layer_size must be at least 1 (ValueError).
    """
    # BEGIN SOLUTION
    if number_hidden_layers < 1 or hidden_layer_size < 1:
        raise ValueError(
            "number_hidden_layers and hidden_layer_size must be at least 1, "
            f"got {number_hidden_layers} and {hidden_layer_size}"
        )
    layers: list[nn.Module] = [nn.Flatten()]
    width = input_size
    for _ in range(number_hidden_layers):
        layers += [
            nn.Linear(width, hidden_layer_size),
            get_activation(activation),
            Dropout(dropout_probability),
        ]
        width = hidden_layer_size
    layers.append(nn.Linear(width, num_classes))
    return nn.Sequential(*layers)
    # END SOLUTION
