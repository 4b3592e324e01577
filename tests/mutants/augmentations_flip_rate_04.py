"""Flips with probability 0.4: within the noise of 400 draws, but not FLIP_PROBABILITY."""

from torchvision import transforms

from solutions import augmentations as _reference
from solutions.augmentations import *  # noqa: F403


def build_train_transform(*args, **kwargs):
    composed = _reference.build_train_transform(*args, **kwargs)
    for step in composed.transforms:
        if isinstance(step, transforms.RandomHorizontalFlip):
            step.p = 0.4
    return composed
