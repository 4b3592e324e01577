# Exercise 3: activations. Generated from solutions/activations.py by `python -m kata stubs`.
# Replace each `raise NotImplementedError(...)` with your code; check it with `pytest exercises/activations.py`.
# Stub fingerprint 3528d6df2860c8eb: `kata stubs` replaces this file only while untouched.
"""Exercise 3: an activation function chosen by name."""

from torch import nn

ACTIVATION_NAMES = ("relu", "tanh", "sigmoid")


def get_activation(name: str) -> nn.Module:
    """A new activation module for `name`, one of ACTIVATION_NAMES in any case ("ReLU").

    Each call returns a fresh module. An unknown name raises ValueError with a message
    that lists the valid names; it is never silently replaced by a default.
    """
    raise NotImplementedError(
        "exercise 3 (activations): get_activation in exercises/activations.py is yours to write. Hint: python -m kata hint activations"
    )
