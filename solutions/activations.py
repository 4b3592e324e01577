"""Exercise 3: an activation function chosen by name."""

from torch import nn

ACTIVATION_NAMES = ("relu", "tanh", "sigmoid")


def get_activation(name: str) -> nn.Module:
    """A new activation module for `name`, one of ACTIVATION_NAMES in any case ("ReLU").

    Each call returns a fresh module. An unknown name raises ValueError with a message
    that lists the valid names; it is never silently replaced by a default.
    """
    # BEGIN SOLUTION
    if not isinstance(name, str):
        raise ValueError(
            f"activation name must be a string, one of {ACTIVATION_NAMES}; got {name!r}"
        )
    factories = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}
    key = name.strip().lower()
    if key not in factories:
        raise ValueError(f"unknown activation {name!r}; valid names: {', '.join(ACTIVATION_NAMES)}")
    return factories[key]()
    # END SOLUTION
