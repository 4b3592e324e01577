"""tanh written as (e^x - e^-x) / (e^x + e^-x): NaN once e^|x| overflows float32 (|x| > 88)."""

import torch
from torch import nn

from solutions import activations as _reference
from solutions.activations import *  # noqa: F403


class _Tanh(nn.Module):
    def forward(self, x):
        return (torch.exp(x) - torch.exp(-x)) / (torch.exp(x) + torch.exp(-x))


def get_activation(name):
    module = _reference.get_activation(name)
    return _Tanh() if isinstance(module, nn.Tanh) else module
