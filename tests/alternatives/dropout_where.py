"""torch.where on a uniform draw: dropped elements set to 0, the others divided by 1 - p."""

import torch
from torch import nn


class Dropout(nn.Module):
    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        try:
            valid = 0.0 <= float(p) < 1.0 and not isinstance(p, (bool, str))
        except (TypeError, ValueError):
            valid = False
        if not valid:
            raise ValueError("p must satisfy 0 <= p < 1")
        self.p = float(p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        dropped = torch.rand(x.shape, device=x.device) < self.p
        return torch.where(dropped, torch.zeros_like(x), x / (1 - self.p))
