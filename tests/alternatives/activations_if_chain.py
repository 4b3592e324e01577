"""An if/elif chain on the case-folded name; ReLU in place (safe after a Linear)."""

from torch import nn

ACTIVATION_NAMES = ("relu", "tanh", "sigmoid")


def get_activation(name):
    key = name.casefold()
    if key == "relu":
        return nn.ReLU(inplace=True)
    elif key == "tanh":
        return nn.Tanh()
    elif key == "sigmoid":
        return nn.Sigmoid()
    raise ValueError(f"Unknown activation '{name}'. Choose from: {ACTIVATION_NAMES}")
