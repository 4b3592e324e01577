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
    # BEGIN SOLUTION
    if images.ndim == 3:
        images = images.unsqueeze(1)
    if images.ndim != 4 or images.shape[1] != 1:
        raise ValueError(
            f"expected images of shape (N, H, W) or (N, 1, H, W), got {tuple(images.shape)}"
        )
    if images.shape[0] == 0:
        raise ValueError("cannot compute statistics of zero images")
    scale = 255.0 if images.dtype == torch.uint8 else 1.0
    pixels = images.to(torch.float64) / scale
    mean = pixels.mean(dim=0)
    std = pixels.std(dim=0, correction=0) + EPSILON
    return mean.to(torch.float32), std.to(torch.float32)
    # END SOLUTION


def make_normalize(mean: torch.Tensor, std: torch.Tensor) -> transforms.Normalize:
    """A `torchvision.transforms.Normalize` that maps x to (x - mean) / std per pixel.

    `mean` and `std` are the images returned by `pixel_statistics`; the transform must
    work on a (1, H, W) image and on a (B, 1, H, W) batch.
    """
    # BEGIN SOLUTION
    return transforms.Normalize(mean=mean, std=std)
    # END SOLUTION
