# Exercise 4: dropout. Generated from solutions/dropout.py by `python -m kata stubs`.
# Replace each `raise NotImplementedError(...)` with your code; check it with `pytest exercises/dropout.py`.
# Stub fingerprint df2796ff662a1b11: `kata stubs` replaces this file only while untouched.
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
        raise NotImplementedError(
            "exercise 4 (dropout): Dropout.__init__ in exercises/dropout.py is yours to write. Hint: python -m kata hint dropout"
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(
            "exercise 4 (dropout): Dropout.forward in exercises/dropout.py is yours to write. Hint: python -m kata hint dropout"
        )

    def extra_repr(self) -> str:
        return f"p={self.p}"
