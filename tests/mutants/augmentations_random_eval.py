"""Randomness in the evaluation transform: test-time flips make the metric noisy."""

from torchvision import transforms

from solutions.augmentations import *  # noqa: F403


def build_eval_transform(normalize=None):
    steps = [transforms.RandomHorizontalFlip(0.5)]
    return transforms.Compose(steps + ([normalize] if normalize is not None else []))
