"""An activation that ignores the name it is given."""

from torch import nn

from solutions.activations import *  # noqa: F403


def get_activation(name):
    return nn.ReLU()
