"""Accepts only a float p: Dropout(0) raises although 0 is a valid probability."""

from solutions.dropout import Dropout as _Reference


class Dropout(_Reference):
    def __init__(self, p=0.5):
        if not isinstance(p, float):
            raise ValueError(f"p must be a float, got {p!r}")
        super().__init__(p)
