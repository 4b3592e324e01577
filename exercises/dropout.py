# Exercise 4: dropout. Generated from solutions/dropout.py by `python -m kata stubs`.
# Replace each `raise NotImplementedError(...)` with your code; check it with `pytest exercises/dropout.py`.
# Stub fingerprint c8031252ef80c3c7: `kata stubs` replaces this file only while untouched.
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
        raise NotImplementedError(
            "exercise 4 (dropout): Dropout.__init__ in exercises/dropout.py is yours to write. Hint: python -m kata hint dropout"
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(
            "exercise 4 (dropout): Dropout.forward in exercises/dropout.py is yours to write. Hint: python -m kata hint dropout"
        )

    def extra_repr(self) -> str:
        return f"p={self.p}"
