"""Small synthetic Fashion-MNIST-shaped data that a network learns in a few steps."""

import torch

from kata.data import Split


def learnable_split(n: int, seed: int, noise: float = 60.0, random_labels: bool = False) -> Split:
    """n uint8 images (n, 28, 28): one fixed random template per class plus noise."""
    templates = torch.rand(10, 28, 28, generator=torch.Generator().manual_seed(1234)) * 255
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 10
    images = templates[labels] + noise * torch.randn(n, 28, 28, generator=generator)
    if random_labels:
        labels = torch.randint(0, 10, (n,), generator=generator)
    return Split(images=images.clamp(0, 255).to(torch.uint8), labels=labels)


TINY_SWEEP = {  # a small sweep configuration the kata accepts: one epoch of 16 units
    "method": "random",
    "metric": {"name": "val_accuracy", "goal": "maximize"},
    "parameters": {
        "hiddenLayerSize": {"value": 16},
        "numberEpochs": {"value": 1},
        "learningRate": {"distribution": "log_uniform_values", "min": 1e-3, "max": 1e-2},
    },
}
