"""The rotation flag is read but never acted on."""

from solutions import augmentations as _reference
from solutions.augmentations import *  # noqa: F403


def build_train_transform(
    horizontal_flip=False, rotation=False, resized_crop=False, normalize=None, image_size=28
):
    return _reference.build_train_transform(
        horizontal_flip, False, resized_crop, normalize, image_size
    )
