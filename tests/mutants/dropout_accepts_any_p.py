"""No check of p: Dropout(1.0) divides by zero, Dropout(-0.5) scales everything up."""

from torch import nn

from solutions.dropout import Dropout as _Reference


class Dropout(_Reference):
    def __init__(self, p=0.5):
        nn.Module.__init__(self)
        self.p = p
