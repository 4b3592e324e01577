"""The mean of per-image standard deviations instead of the per-pixel std over images."""

import torch

from solutions.normalization import *  # noqa: F403
from solutions.normalization import pixel_statistics as _reference


def pixel_statistics(images):
    mean, _ = _reference(images)
    scale = 255.0 if images.dtype == torch.uint8 else 1.0
    pixels = images.reshape(images.shape[0], -1).double() / scale
    per_image_std = pixels.std(1, correction=0).mean()
    return mean, torch.full_like(mean, float(per_image_std) + 1e-5)
