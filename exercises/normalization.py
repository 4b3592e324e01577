# Exercise 1: normalization. Generated from solutions/normalization.py by `python -m kata stubs`.
# Replace each `raise NotImplementedError(...)` with your code; check it with `pytest exercises/normalization.py`.
# Stub fingerprint 5860e49edeebbbd8: `kata stubs` replaces this file only while untouched.
"""Exercise 1: per-pixel standardisation statistics from the training images only."""

import torch
from torchvision import transforms

EPSILON = 1e-5


def pixel_statistics(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-pixel mean and standard deviation images of a set of training images.

    Args:
        images: shape (N, H, W) or (N, 1, H, W), any N >= 1 and any H, W; either uint8
            on the 0-255 scale or float on the 0-1 scale (what `ToTensor` gives). The
            dtype alone decides the scale: uint8 images are divided by 255 even when
            every value is 0 or 1. Use training images only.

    Returns:
        (mean, std), each float32 of shape (1, H, W) on the 0-1 scale, the same scale
        the images have after `ToTensor`. `std` is the population standard deviation
        over the N images (divide by N, not N - 1) plus EPSILON, so a pixel that is
        constant over the whole set (a corner that is always black) gives no division
        by zero later.

    Compute in float32 or float64, in any order: both are accurate enough, and the
    tests allow for float32's rounding.
    """
    raise NotImplementedError(
        "exercise 1 (normalization): pixel_statistics in exercises/normalization.py is yours to write. Hint: python -m kata hint normalization"
    )


def make_normalize(mean: torch.Tensor, std: torch.Tensor) -> transforms.Normalize:
    """A `torchvision.transforms.Normalize` that maps x to (x - mean) / std per pixel.

    `mean` and `std` are the images returned by `pixel_statistics`; the transform must
    work on a (1, H, W) image and on a (B, 1, H, W) batch.
    """
    raise NotImplementedError(
        "exercise 1 (normalization): make_normalize in exercises/normalization.py is yours to write. Hint: python -m kata hint normalization"
    )
