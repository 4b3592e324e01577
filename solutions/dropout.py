"""Exercise 4: inverted dropout, written by hand."""

import torch
from torch import nn


class Dropout(nn.Module):
    """Inverted dropout: while training, zero each element with probability p and scale
    the survivors by 1 / (1 - p), so the expected value of every element is unchanged;
    in eval mode (and at p = 0) return the input unchanged.

    The input is never modified in place. p must be a number with 0 <= p < 1, else
    ValueError.
    """

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        # BEGIN SOLUTION
        if isinstance(p, bool) or not isinstance(p, (int, float)):
            raise ValueError(f"dropout probability must be a number in [0, 1), got {p!r}")
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        self.p = float(p)
        # END SOLUTION

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # BEGIN SOLUTION
        if not self.training or self.p == 0.0:
            return x
        keep = torch.rand_like(x) >= self.p
        return x * keep / (1.0 - self.p)
        # END SOLUTION

    def extra_repr(self) -> str:
        return f"p={self.p}"
