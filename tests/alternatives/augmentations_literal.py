"""A list built by conditional expressions, keyword arguments spelled out, default p."""

from torchvision import transforms
from torchvision.transforms import InterpolationMode

FLIP_PROBABILITY = 0.5
MAX_ROTATION_DEGREES = 10.0
CROP_SCALE = (0.8, 1.0)


def build_train_transform(
    horizontal_flip=False, rotation=False, resized_crop=False, normalize=None, image_size=28
):
    steps = [
        transforms.RandomHorizontalFlip() if horizontal_flip else None,
        transforms.RandomRotation(
            degrees=(-MAX_ROTATION_DEGREES, MAX_ROTATION_DEGREES),
            interpolation=InterpolationMode.BILINEAR,
        )
        if rotation
        else None,
        transforms.RandomResizedCrop(
            size=(image_size, image_size),
            scale=CROP_SCALE,
            ratio=(3 / 4, 4 / 3),
            interpolation=InterpolationMode.BILINEAR,
            antialias=True,
        )
        if resized_crop
        else None,
        normalize,
    ]
    return transforms.Compose([step for step in steps if step is not None])


def build_eval_transform(normalize=None):
    return transforms.Compose([] if normalize is None else [normalize])
