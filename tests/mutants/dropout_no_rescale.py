"""Survivors not rescaled by 1 / (1 - p): the expected activation shrinks in training."""

import torch

from solutions.dropout import Dropout as _Reference


class Dropout(_Reference):
    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        return x * (torch.rand_like(x) >= self.p)
