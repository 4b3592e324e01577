"""An unknown name silently mapped to ReLU: a typo in a sweep goes unnoticed."""

from torch import nn

from solutions.activations import *  # noqa: F403
from solutions.activations import get_activation as _reference


def get_activation(name):
    try:
        return _reference(name)
    except ValueError:
        return nn.ReLU()
