"""Exercise 4: inverted dropout, written by hand."""

import torch
from torch import nn


class Dropout(nn.Module):
    """Inverted dropout: while training, zero each element with probability p and scale
    the survivors by 1 / (1 - p), so the expected value of every element is unchanged;
    in eval mode (and at p = 0) return the input unchanged.

    Each element is dropped independently of every other element (one random draw per
    element, whatever the shape: not one per row, per column or per batch), and every
    call draws anew. The output has the input's shape and dtype; the input is never
    modified in place. p must be a number (int or float, not bool) with 0 <= p < 1,
    else ValueError; it is kept as the float `self.p`.
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
