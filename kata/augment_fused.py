"""Consecutive flips, rotations and resized crops as one bilinear resampling.

torchvision resamples once per geometric transform: a rotation followed by a resized crop
interpolates twice (and samples a mask for the rotation's fill once more). Every one of
these transforms maps each output pixel to a source position in its input, so a run of them
maps each final pixel to one position in the original image: `FusedGeometry` follows the
positions back through the run and samples the original once.

- A flip is exact: mirroring the positions samples the same pixels that mirroring the
  image would.
- A rotation's fill is applied where torchvision applies it, from the weight that bilinear
  sampling gives pixels inside its input (`inside`), computed from the positions instead
  of sampling an image of ones.
- A resized crop keeps its per-axis source positions (clamped at the box's edges, as
  `F.interpolate` does).

After a flip and a rotation the result is torchvision's up to float rounding. With a crop
after a rotation it is one interpolation where torchvision makes two: equal wherever the
image is linear (bilinear interpolation reproduces a linear function exactly), elsewhere as
close as two interpolations of the same image are to each other.

Each step draws its random parameters exactly as it does alone, in the same order, so the
draws keep torchvision's distributions and a generator gives the same draws either way.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as nnf
from torchvision.transforms import InterpolationMode

from .augment_steps import Flip, ResizedCrop, Rotation, Step, fill_outside


def can_fuse(step: Step) -> bool:
    """A geometric step that samples bilinearly (a flip samples nothing): fusable."""
    if isinstance(step, Flip):
        return True
    if isinstance(step, Rotation):
        return step.mode == InterpolationMode.BILINEAR.value
    if isinstance(step, ResizedCrop):
        return step.mode == InterpolationMode.BILINEAR
    return False


@dataclass
class _Coordinate:
    """One source coordinate (x or y, in pixels) of every output pixel, as `col + row`:
    `col` varies along the output's columns (shape (B or 1, 1, W)), `row` along its rows
    ((B or 1, H, 1)). Flips and rotations are affine, so they keep this form and cost
    (B, W) + (B, H) operations; only a crop after them needs the full (B, H, W)."""

    col: torch.Tensor
    row: torch.Tensor

    def full(self) -> torch.Tensor:
        return self.col + self.row

    def scaled(self, scale: torch.Tensor | float, offset) -> _Coordinate:
        return _Coordinate(self.col * scale + offset, self.row * scale)

    def plus(self, other: _Coordinate) -> _Coordinate:
        return _Coordinate(self.col + other.col, self.row + other.row)


def inside(position: _Coordinate, length: int) -> torch.Tensor:
    """The weight that bilinear sampling at `position` gives pixels inside an image of
    `length` pixels along one axis: 1 within [0, length - 1], falling linearly to 0 one
    pixel beyond. The product over both axes is what sampling an image of ones with zero
    padding gives (torchvision's fill mask), without the sampling."""
    from_start = (position.col + 1) + position.row
    from_end = (length - position.col) - position.row
    return torch.minimum(from_start, from_end).clamp_(0.0, 1.0)


class FusedGeometry(Step):
    """A run of fusable steps, sampled once."""

    def __init__(self, steps: list[Step]):
        super().__init__([s.transform for s in steps])
        self.steps = steps

    def _fusable_here(self, height: int, width: int) -> bool:
        """False where an antialiased crop could shrink: those go through torchvision."""
        for step in self.steps:
            if isinstance(step, ResizedCrop):
                if step.antialias and (step.size[0] < height or step.size[1] < width):
                    return False
                height, width = step.size
        return True

    def apply(self, images: torch.Tensor, generator) -> torch.Tensor:
        b, _, height, width = images.shape
        if not self._fusable_here(height, width):
            for step in self.steps:
                images = step.apply(images, generator)
            return images
        # Forward: every step draws, in order, for the size of its input.
        draws, sizes = [], []
        h, w = height, width
        for step in self.steps:
            sizes.append((h, w))
            if isinstance(step, ResizedCrop):
                draws.append(step.draw(b, h, w, generator))
                h, w = step.size
            else:
                draws.append(step.draw(b, generator))
        out_h, out_w = h, w
        # Backward: the positions of the output pixels, through each step to its input.
        device, dtype = images.device, images.dtype
        zero = torch.zeros((), device=device, dtype=dtype)
        x = _Coordinate(torch.arange(w, device=device, dtype=dtype).view(1, 1, w), zero)
        y = _Coordinate(zero, torch.arange(h, device=device, dtype=dtype).view(1, h, 1))
        masks = []  # (mask, fill) of each rotation that fills, the last step's first
        for step, params, (h, w) in zip(
            reversed(self.steps), reversed(draws), reversed(sizes), strict=True
        ):
            if isinstance(step, Flip):  # p -> (length - 1) - p where flipped
                flipped = params.to(device, dtype).view(-1, 1, 1)
                sign = 1 - 2 * flipped
                if step.dim == -1:
                    x = x.scaled(sign, flipped * (w - 1))
                else:
                    y = y.scaled(sign, flipped * (h - 1))
            elif isinstance(step, ResizedCrop):
                top, left, box_h, box_w = params.to(device).unbind(dim=1)
                out_h, out_w = step.size
                x = _Coordinate(step.source_positions(x.full(), left, box_w, out_w), zero)
                y = _Coordinate(step.source_positions(y.full(), top, box_h, out_h), zero)
            else:
                m = step.pixel_matrices(params, h, w).to(device, dtype)[..., None, None]
                x, y = (
                    x.scaled(m[:, 0, 0], m[:, 0, 2]).plus(y.scaled(m[:, 0, 1], 0.0)),
                    x.scaled(m[:, 1, 0], m[:, 1, 2]).plus(y.scaled(m[:, 1, 1], 0.0)),
                )
                if step.fill is not None:
                    masks.append((inside(x, w).mul_(inside(y, h)), step.fill))
        # Pixel positions to grid_sample's [-1, 1], written straight into the grid (a stack
        # of the two coordinates costs as much as the sampling).
        grid = torch.empty(b, out_h, out_w, 2, device=device, dtype=dtype)
        for i, (coordinate, length) in enumerate(((x, width), (y, height))):
            normalised = coordinate.scaled(2 / length, 1 / length - 1)
            torch.add(normalised.col, normalised.row, out=grid[..., i])
        out = nnf.grid_sample(images, grid, mode="bilinear", align_corners=False)
        for mask, fill in reversed(masks):  # the first rotation's fill first, as applied
            out = fill_outside(out, mask.unsqueeze(1), fill)
        return out
