"""Augmentations in their own Compose, nested in front of the evaluation transform."""

from torchvision import transforms
from torchvision.transforms import InterpolationMode

FLIP_PROBABILITY = 0.5
MAX_ROTATION_DEGREES = 10.0
CROP_SCALE = (0.8, 1.0)


def build_eval_transform(normalize=None):
    steps = []
    if normalize:
        steps.append(normalize)
    return transforms.Compose(steps)


def build_train_transform(
    horizontal_flip=False, rotation=False, resized_crop=False, normalize=None, image_size=28
):
    augment = []
    if horizontal_flip:
        augment.append(transforms.RandomHorizontalFlip(FLIP_PROBABILITY))
    if rotation:
        augment.append(transforms.RandomRotation(MAX_ROTATION_DEGREES, InterpolationMode.BILINEAR))
    if resized_crop:
        augment.append(transforms.RandomResizedCrop(image_size, CROP_SCALE, antialias=True))
    if not augment:
        return build_eval_transform(normalize)
    return transforms.Compose([transforms.Compose(augment), build_eval_transform(normalize)])
