"""Named blocks: an OrderedDict of nn.Sequential blocks inside an nn.Sequential."""

from collections import OrderedDict

from torch import nn

from solutions.activations import get_activation
from solutions.dropout import Dropout

IMAGE_PIXELS = 28 * 28
NUM_CLASSES = 10


def build_mlp(
    number_hidden_layers: int,
    hidden_layer_size: int,
    activation: str = "relu",
    dropout_probability: float = 0.0,
    input_size: int = IMAGE_PIXELS,
    num_classes: int = NUM_CLASSES,
) -> nn.Module:
    if min(number_hidden_layers, hidden_layer_size) <= 0:
        raise ValueError(f"bad sizes {number_hidden_layers}, {hidden_layer_size}")
    blocks = OrderedDict(flatten=nn.Flatten(start_dim=1))
    for i in range(number_hidden_layers):
        blocks[f"block{i}"] = nn.Sequential(
            nn.Linear(input_size if i == 0 else hidden_layer_size, hidden_layer_size),
            get_activation(activation),
            Dropout(dropout_probability),
        )
    blocks["logits"] = nn.Linear(hidden_layer_size, num_classes)
    return nn.Sequential(blocks)
