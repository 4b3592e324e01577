"""An upside-down flip: RandomVerticalFlip where a left-right flip was asked for."""

from torchvision import transforms

from solutions import augmentations as _reference
from solutions.augmentations import *  # noqa: F403


def build_train_transform(
    horizontal_flip=False, rotation=False, resized_crop=False, normalize=None, image_size=28
):
    steps = _reference.build_train_transform(
        False, rotation, resized_crop, normalize, image_size
    ).transforms
    if horizontal_flip:
        steps = [transforms.RandomVerticalFlip(0.5), *steps]
    return transforms.Compose(steps)
