"""MNIST's published constants (0.1307, 0.3081) instead of Fashion-MNIST's own statistics."""

import torch

from solutions.normalization import *  # noqa: F403


def pixel_statistics(images):
    shape = (1, *images.shape[-2:])
    return torch.full(shape, 0.1307), torch.full(shape, 0.3081)
