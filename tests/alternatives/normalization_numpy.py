"""numpy in float64: np.mean and np.std (ddof=0 is numpy's default), back to torch at the end."""

import numpy as np
import torch
from torchvision import transforms

EPSILON = 1e-5


def pixel_statistics(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    array = images.numpy().astype(np.float64)
    if images.dtype == torch.uint8:
        array /= 255.0
    array = array.reshape(len(array), 1, *array.shape[-2:])
    mean = array.mean(axis=0)
    std = array.std(axis=0) + EPSILON
    return torch.from_numpy(mean).float(), torch.from_numpy(std).float()


def make_normalize(mean: torch.Tensor, std: torch.Tensor) -> transforms.Normalize:
    return transforms.Normalize(mean, std)
