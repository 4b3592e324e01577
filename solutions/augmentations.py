"""Exercise 2: the training transform (augmentation) and the evaluation transform.

Both work on float image tensors of shape (1, H, W) on the 0-1 scale, and on batches
(B, 1, H, W). Use torchvision's own transform classes: the training engine reads their
parameters to apply the same random operations to a whole batch at once.
"""

from torchvision import transforms
from torchvision.transforms import InterpolationMode

FLIP_PROBABILITY = 0.5
MAX_ROTATION_DEGREES = 10.0
CROP_SCALE = (0.8, 1.0)


def build_train_transform(
    horizontal_flip: bool = False,
    rotation: bool = False,
    resized_crop: bool = False,
    normalize: transforms.Normalize | None = None,
    image_size: int = 28,
) -> transforms.Compose:
    """The training transform: the chosen random augmentations, then `normalize`.

    - horizontal_flip: mirror left-right with probability FLIP_PROBABILITY
      (`RandomHorizontalFlip`). Never flip upside down: a shoe on its head is not
      what the test set shows.
    - rotation: rotate by an angle drawn uniformly from
      [-MAX_ROTATION_DEGREES, MAX_ROTATION_DEGREES] (`RandomRotation`, bilinear
      interpolation, same size, about the centre, corners filled with 0).
    - resized_crop: crop a random part covering a fraction CROP_SCALE of the area (with
      torchvision's default aspect ratios) and resize it back to image_size x image_size
      (`RandomResizedCrop`, bilinear, antialias). The scale never exceeds 1: a crop
      cannot be larger than the image.
    - each flag adds exactly one step, in the order flip, rotation, crop; with its flag
      off a step is absent (not present with probability 0).
    - normalize (a `Normalize` or None) is applied last, after every geometric step,
      so rotations and crops fill their borders with black before standardisation.

    With every flag off the result equals `build_eval_transform(normalize)`.
    """
    # BEGIN SOLUTION
    steps: list = []
    if horizontal_flip:
        steps.append(transforms.RandomHorizontalFlip(p=FLIP_PROBABILITY))
    if rotation:
        steps.append(
            transforms.RandomRotation(
                MAX_ROTATION_DEGREES, interpolation=InterpolationMode.BILINEAR
            )
        )
    if resized_crop:
        steps.append(
            transforms.RandomResizedCrop(
                image_size,
                scale=CROP_SCALE,
                interpolation=InterpolationMode.BILINEAR,
                antialias=True,
            )
        )
    return transforms.Compose(steps + build_eval_transform(normalize).transforms)
    # END SOLUTION


def build_eval_transform(normalize: transforms.Normalize | None = None) -> transforms.Compose:
    """The evaluation transform: `normalize` only (or nothing), never anything random."""
    # BEGIN SOLUTION
    return transforms.Compose([normalize] if normalize is not None else [])
    # END SOLUTION
