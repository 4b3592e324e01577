"""Changes the input tensor in place."""

import torch

from solutions.dropout import Dropout as _Reference


class Dropout(_Reference):
    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        with torch.no_grad():
            x.mul_((torch.rand_like(x) >= self.p) / (1 - self.p))
        return x
