"""One mask shared by every example of the batch (drawn for x[0] and broadcast)."""

import torch

from solutions.dropout import Dropout as _Reference


class Dropout(_Reference):
    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        if x.dim() < 2:
            return super().forward(x)
        return x * (torch.rand_like(x[:1]) >= self.p) / (1 - self.p)
