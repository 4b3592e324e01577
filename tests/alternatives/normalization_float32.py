"""The most natural answer: everything in float32, torch's own mean and std."""

import torch
from torchvision import transforms

EPSILON = 1e-5


def pixel_statistics(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    x = images.float()
    if images.dtype == torch.uint8:
        x = x / 255
    x = x.reshape(x.shape[0], 1, x.shape[-2], x.shape[-1])
    mean = x.mean(0)
    std = x.std(0, correction=0) + EPSILON
    return mean, std


def make_normalize(mean: torch.Tensor, std: torch.Tensor) -> transforms.Normalize:
    return transforms.Normalize(mean, std)
