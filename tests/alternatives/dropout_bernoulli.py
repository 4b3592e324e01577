"""A Bernoulli keep mask (torch.bernoulli) and a precomputed scale; p validated with numbers."""

import numbers

import torch
from torch import nn


class Dropout(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        if not isinstance(p, numbers.Real) or isinstance(p, bool) or not (0 <= p < 1):
            raise ValueError(f"p must be in [0, 1), got {p!r}")
        self.p = p
        self.scale = 1.0 / (1.0 - p)

    def forward(self, x):
        if self.training and self.p > 0:
            mask = torch.bernoulli(torch.full_like(x, 1 - self.p))
            return x * mask * self.scale
        return x

    def extra_repr(self):
        return f"p={self.p}"
