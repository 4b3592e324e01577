"""No epsilon on the per-pixel std: a constant pixel divides by zero."""

from solutions.normalization import *  # noqa: F403
from solutions.normalization import pixel_statistics as _reference


def pixel_statistics(images):
    mean, std = _reference(images)
    return mean, std - 1e-5
