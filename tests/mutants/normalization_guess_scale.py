"""Guesses the scale from the largest value: uint8 images of only 0 and 1 are not divided."""

import torch

from solutions.normalization import *  # noqa: F403
from solutions.normalization import pixel_statistics as _reference


def pixel_statistics(images):
    if images.max() <= 1:
        images = images.to(torch.float32)
    return _reference(images)
