"""Batched data augmentation: run a torchvision training transform on a whole batch at once.

``BatchAugmenter.from_transform(T.Compose([...]))`` reads the parameters of the torchvision
transforms (v1 ``torchvision.transforms`` or ``torchvision.transforms.v2``) and applies the same
random operations to a batch ``(B, C, H, W)`` with one fresh, independent draw per image, on the
batch's own device.

Batched: RandomHorizontalFlip, RandomVerticalFlip, RandomRotation (nearest/bilinear, expand=False),
RandomResizedCrop (nearest/bilinear), Normalize, ConvertImageDtype/ToDtype, Identity.
Anything else (and unsupported options such as ``expand=True``) runs per image in a Python loop,
with a warning. Geometry follows torchvision's tensor kernels (``_functional_tensor.rotate``,
``resize``) so results match ``torchvision.transforms.functional`` at fixed parameters. The one
exception is an antialiased *downscaling* crop: those images are handed to ``F.resized_crop`` one
by one (upscaling crops, the usual case, are batched, where antialias changes nothing).

A run of consecutive flips, bilinear rotations and bilinear crops (the kata's flip, rotation
and crop) is sampled once instead of once per step (``kata.augment_fused``): the same draws,
one interpolation where torchvision makes two. ``fuse=False`` keeps torchvision's steps.
The steps themselves live in ``kata.augment_steps``.

Random draws use the ``generator`` argument when given, else torch's global RNG. They are made on
the generator's device (the CPU for the global RNG) and the small parameter tensors are then moved
to the images' device.
"""

from __future__ import annotations

import torch
import torchvision.transforms as T
import torchvision.transforms.v2 as T2

from .augment_fused import FusedGeometry, can_fuse
from .augment_steps import (
    Flip,
    NoOp,
    Normalize,
    PerImage,
    ResizedCrop,
    Rotation,
    Step,
    Unsupported,
)

__all__ = ["BatchAugmenter"]

_FLIPS = {
    T.RandomHorizontalFlip: -1,
    T2.RandomHorizontalFlip: -1,
    T.RandomVerticalFlip: -2,
    T2.RandomVerticalFlip: -2,
}
_COMPOSES = (T.Compose, T2.Compose)


def _flatten(transform) -> list:
    if transform is None:
        return []
    if isinstance(transform, _COMPOSES):
        transform = transform.transforms
    if isinstance(transform, (list, tuple)):
        return [leaf for t in transform for leaf in _flatten(t)]
    return [transform]


def _make_step(t) -> Step:
    kind = type(t)
    try:
        if kind in _FLIPS:
            return Flip(t, _FLIPS[kind])
        if kind in (T.RandomRotation, T2.RandomRotation):
            return Rotation(t, v2=kind is T2.RandomRotation)
        if kind in (T.RandomResizedCrop, T2.RandomResizedCrop):
            return ResizedCrop(t)
        if kind in (T.Normalize, T2.Normalize):
            return Normalize(t)
        if kind in (T2.Identity, torch.nn.Identity):
            return NoOp(t)
        if kind in (T.ConvertImageDtype, T2.ConvertImageDtype, T2.ToDtype):
            if isinstance(t.dtype, torch.dtype) and t.dtype.is_floating_point:
                return NoOp(t, t.dtype)
            raise Unsupported
    except Unsupported:
        return PerImage(t, "unsupported options")
    return PerImage(t, "unsupported transform")


def _fused_plan(steps: list[Step]) -> list[Step]:
    """The steps to run: each run of two or more fusable steps that resamples becomes one
    FusedGeometry (steps that do nothing, a flip with p=0 or a rotation by 0, left out)."""
    plan: list[Step] = []
    run: list[Step] = []

    def close_run():
        if len(run) >= 2 and any(not isinstance(s, Flip) for s in run):
            plan.append(FusedGeometry(list(run)))
        else:
            plan.extend(run)
        run.clear()

    for step in steps:
        if can_fuse(step):
            if not step.is_identity:
                run.append(step)
            continue
        close_run()
        plan.append(step)
    close_run()
    return plan


class BatchAugmenter:
    """Applies a torchvision transform pipeline to a batch, one independent draw per image.

    `fuse` (the default) samples each run of flips, bilinear rotations and bilinear resized
    crops once (`kata.augment_fused`); `fuse=False` resamples after every step, as
    torchvision does.
    """

    def __init__(self, steps: list[Step], fuse: bool = True):
        self.steps = list(steps)
        self.plan = _fused_plan(self.steps) if fuse else self.steps

    @classmethod
    def from_transform(cls, transform, fuse: bool = True) -> BatchAugmenter:
        """From a Compose (nested ones flattened), a list, a single transform, or None."""
        return cls([_make_step(t) for t in _flatten(transform)], fuse=fuse)

    def __call__(
        self, images: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        if images.ndim != 4:
            raise ValueError(f"expected a batch (B, C, H, W), got shape {tuple(images.shape)}")
        for step in self.plan:
            images = step.apply(images, generator)
        return images

    @property
    def is_identity(self) -> bool:
        """True when no step does anything (for float32 input), so training may skip it."""
        return all(step.is_identity for step in self.steps)

    def describe(self) -> list[str]:
        fused = {
            id(s): len(f.steps) for f in self.plan if isinstance(f, FusedGeometry) for s in f.steps
        }
        return [
            step.describe()
            + (f" (one resampling for {fused[id(step)]} steps)" if id(step) in fused else "")
            for step in self.steps
        ]

    def __repr__(self) -> str:
        return "BatchAugmenter(\n" + "".join(f"  {line}\n" for line in self.describe()) + ")"
