"""Statistics from one image instead of the whole training set."""

from solutions.normalization import *  # noqa: F403
from solutions.normalization import pixel_statistics as _reference


def pixel_statistics(images):
    return _reference(images[:1])
