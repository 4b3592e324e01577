"""Keeps each element with probability p instead of dropping it with probability p."""

import torch

from solutions.dropout import Dropout as _Reference


class Dropout(_Reference):
    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        return x * (torch.rand_like(x) < self.p) / (1 - self.p)
