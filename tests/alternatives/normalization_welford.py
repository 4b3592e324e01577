"""Welford's running mean and variance, one image at a time, in float32."""

import torch
from torchvision import transforms

EPSILON = 1e-5


def pixel_statistics(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    if images.dim() == 4:
        images = images[:, 0]
    scale = 255.0 if not images.is_floating_point() else 1.0
    mean = torch.zeros(images.shape[1:], dtype=torch.float32)
    m2 = torch.zeros_like(mean)
    for count, image in enumerate(images, start=1):
        x = image.to(torch.float32) / scale
        delta = x - mean
        mean = mean + delta / count
        m2 = m2 + delta * (x - mean)
    std = torch.sqrt(m2 / len(images)) + EPSILON
    return mean.unsqueeze(0), std.unsqueeze(0)


def make_normalize(mean: torch.Tensor, std: torch.Tensor) -> transforms.Normalize:
    return transforms.Normalize(mean=mean.clone(), std=std.clone(), inplace=False)
