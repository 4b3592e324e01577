# Exercise 5: mlp. Generated from solutions/mlp.py by `python -m kata stubs`.
# Replace each `raise NotImplementedError(...)` with your code; check it with `pytest exercises/mlp.py`.
# Stub fingerprint c60b80dadbefa6f4: `kata stubs` replaces this file only while untouched.
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
    raise NotImplementedError(
        "exercise 5 (mlp): build_mlp in exercises/mlp.py is yours to write. Hint: python -m kata hint mlp"
    )
