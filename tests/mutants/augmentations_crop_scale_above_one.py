"""RandomResizedCrop with a scale above 1: a crop cannot be larger than the image."""

from solutions import augmentations as _reference
from solutions.augmentations import *  # noqa: F403

_reference.CROP_SCALE = (0.8, 1.2)
build_train_transform = _reference.build_train_transform
