"""Crops between half and all of the area, not CROP_SCALE (0.8 to 1)."""

from torchvision import transforms

from solutions import augmentations as _reference
from solutions.augmentations import *  # noqa: F403


def build_train_transform(*args, **kwargs):
    composed = _reference.build_train_transform(*args, **kwargs)
    for step in composed.transforms:
        if isinstance(step, transforms.RandomResizedCrop):
            step.scale = (0.5, 1.0)
    return composed
