"""torch.nn's own class names looked up with getattr; a KeyError turned into ValueError."""

import torch
from torch import nn

ACTIVATION_NAMES = ("relu", "tanh", "sigmoid")
_CLASS_NAMES = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid"}


class _Sigmoid(nn.Module):
    def forward(self, x):
        return torch.sigmoid(x)


def get_activation(name: str) -> nn.Module:
    try:
        class_name = _CLASS_NAMES[name.lower()]
    except (KeyError, AttributeError):
        raise ValueError(
            "activation must be one of " + ", ".join(ACTIVATION_NAMES) + f", not {name!r}"
        ) from None
    if class_name == "Sigmoid":
        return _Sigmoid()
    return getattr(nn, class_name)()
