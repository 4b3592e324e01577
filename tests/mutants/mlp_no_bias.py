"""Linear layers without bias: fewer parameters than the formula."""

from torch import nn

from solutions import mlp as _reference
from solutions.mlp import *  # noqa: F403
from solutions.mlp import Dropout, get_activation  # noqa: F401  (patched by the test)


def build_mlp(*args, **kwargs):
    _reference.get_activation, _reference.Dropout = get_activation, Dropout
    model = _reference.build_mlp(*args, **kwargs)
    for i, layer in enumerate(model):
        if isinstance(layer, nn.Linear):
            model[i] = nn.Linear(layer.in_features, layer.out_features, bias=False)
    return model
