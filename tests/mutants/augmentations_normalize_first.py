"""Normalising before the geometric augmentation: borders are filled in normalised space."""

from torchvision import transforms

from solutions import augmentations as _reference
from solutions.augmentations import *  # noqa: F403


def build_train_transform(
    horizontal_flip=False, rotation=False, resized_crop=False, normalize=None, image_size=28
):
    steps = _reference.build_train_transform(
        horizontal_flip, rotation, resized_crop, None, image_size
    ).transforms
    return transforms.Compose(([normalize] if normalize is not None else []) + steps)
