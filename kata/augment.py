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

Random draws use the ``generator`` argument when given, else torch's global RNG. They are made on
the generator's device (the CPU for the global RNG) and the small parameter tensors are then moved
to the images' device.
"""

from __future__ import annotations

import math
import warnings

import torch
import torch.nn.functional as nnf
import torchvision.transforms as T
import torchvision.transforms.functional as F
import torchvision.transforms.v2 as T2
from torchvision.transforms import InterpolationMode

__all__ = ["BatchAugmenter"]

_SUPPORTED_MODES = (InterpolationMode.NEAREST, InterpolationMode.BILINEAR)


def _mode(interpolation) -> InterpolationMode:
    if isinstance(interpolation, InterpolationMode):
        return interpolation
    if isinstance(interpolation, str):
        return InterpolationMode(interpolation.lower())
    return F._interpolation_modes_from_int(interpolation)


def _rand(shape: tuple[int, ...], generator: torch.Generator | None) -> torch.Tensor:
    """U[0, 1) in float64, drawn on the generator's device (the CPU for the global RNG)."""
    device = generator.device if generator is not None else torch.device("cpu")
    return torch.rand(shape, generator=generator, device=device, dtype=torch.float64)


def _as_tensor(values) -> torch.Tensor:
    if isinstance(values, (list, tuple)) and any(isinstance(v, torch.Tensor) for v in values):
        return torch.stack([torch.as_tensor(v) for v in values])
    return torch.as_tensor(values)


class _Unsupported(Exception):
    """A known transform class with an option the batched engine does not handle."""


# ----------------------------------------------------------------------------------------- steps
class _Step:
    batched = True
    is_identity = False

    def __init__(self, transform):
        self.transform = transform

    def apply(self, images: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        raise NotImplementedError

    def describe(self) -> str:
        return f"{self.transform!r}: batched"


class _NoOp(_Step):
    """Identity, or a dtype conversion that does nothing on images already of that dtype."""

    def __init__(self, transform, dtype: torch.dtype | None = None):
        super().__init__(transform)
        self.dtype = dtype
        self.is_identity = dtype in (None, torch.float32)  # the engine's usual input dtype

    def apply(self, images, generator):
        if self.dtype is None or images.dtype == self.dtype:
            return images
        return self.transform(images)  # elementwise, so fine on a whole batch

    def describe(self) -> str:
        return f"{self.transform!r}: batched (no-op on {self.dtype or 'any'} input)"


class _Flip(_Step):
    def __init__(self, transform, dim: int):
        super().__init__(transform)
        self.p, self.dim = float(transform.p), dim
        self.is_identity = self.p <= 0.0

    def draw(self, batch: int, generator) -> torch.Tensor:
        return _rand((batch,), generator) < self.p  # as torchvision: flip if rand < p

    def apply_params(self, images: torch.Tensor, flip: torch.Tensor) -> torch.Tensor:
        flip = torch.as_tensor(flip, device=images.device).view(-1, 1, 1, 1)
        return torch.where(flip, images.flip(self.dim), images)

    def apply(self, images, generator):
        if self.is_identity:
            return images
        return self.apply_params(images, self.draw(images.shape[0], generator))


class _Rotation(_Step):
    def __init__(self, transform, v2: bool):
        super().__init__(transform)
        fill = transform.fill
        if transform.expand or _mode(transform.interpolation) not in _SUPPORTED_MODES:
            raise _Unsupported
        if isinstance(fill, dict):
            raise _Unsupported
        if fill is None and not v2:
            fill = 0  # v1 RandomRotation turns None into 0 (and always fills via a mask)
        self.lo, self.hi = (float(d) for d in transform.degrees)
        self.mode = _mode(transform.interpolation).value
        self.center = transform.center
        self.fill = fill
        self.is_identity = self.lo == self.hi == 0.0

    def draw(self, batch: int, generator) -> torch.Tensor:
        return self.lo + (self.hi - self.lo) * _rand((batch,), generator)

    def _theta(self, angles: torch.Tensor, height: int, width: int) -> torch.Tensor:
        """Per-image inverse affine matrices, as F.rotate's _get_inverse_affine_matrix."""
        cx, cy = 0.0, 0.0
        if self.center is not None:
            cx, cy = (float(c) - s * 0.5 for c, s in zip(self.center, (width, height), strict=True))
        rot = torch.deg2rad(-angles.to(torch.float64))
        cos, sin = torch.cos(rot), torch.sin(rot)
        tx = cos * -cx + sin * -cy + cx
        ty = -sin * -cx + cos * -cy + cy
        return torch.stack([cos, sin, tx, -sin, cos, ty], dim=-1).view(-1, 2, 3)

    def apply_params(self, images: torch.Tensor, angles) -> torch.Tensor:
        b, c, h, w = images.shape
        dtype, device = images.dtype, images.device
        theta = self._theta(torch.as_tensor(angles).reshape(b), h, w).to(device, dtype)
        # torchvision's _gen_affine_grid: pixel centres relative to the image centre, through
        # theta, then normalised. Written out per coordinate: a (B, HW, 3) @ (B, 3, 2) bmm
        # costs far more than these few broadcast operations for small images.
        xs = torch.linspace(-w * 0.5 + 0.5, w * 0.5 - 0.5, steps=w, device=device, dtype=dtype)
        ys = torch.linspace(-h * 0.5 + 0.5, h * 0.5 - 0.5, steps=h, device=device, dtype=dtype)
        t = (theta / torch.tensor([[0.5 * w], [0.5 * h]], dtype=dtype, device=device))[
            ..., None, None
        ]
        x, y = xs.view(1, 1, w), ys.view(1, h, 1)
        grid = torch.empty(b, h, w, 2, device=device, dtype=dtype)  # written in place: no stack
        for i in (0, 1):
            torch.add(x * t[:, i, 0], y * t[:, i, 1], out=grid[..., i])
            grid[..., i] += t[:, i, 2]
        return _grid_sample_fill(images, grid, self.mode, self.fill)

    def apply(self, images, generator):
        if self.is_identity:
            return images
        return self.apply_params(images, self.draw(images.shape[0], generator))


def _grid_sample_fill(images, grid, mode: str, fill) -> torch.Tensor:
    """torchvision's _apply_grid_transform with a per-image grid."""
    out = nnf.grid_sample(images, grid, mode=mode, padding_mode="zeros", align_corners=False)
    if fill is None:
        return out
    b, c, h, w = images.shape
    # Where the image came from: the image of a ones channel under the same grid (torchvision
    # samples it together with the image; sampled apart it is the same, without the copy).
    ones = torch.ones(1, 1, h, w, dtype=images.dtype, device=images.device).expand(b, 1, h, w)
    mask = nnf.grid_sample(ones, grid, mode=mode, padding_mode="zeros", align_corners=False)
    fill = [float(fill)] * c if isinstance(fill, (int, float)) else [float(f) for f in fill]
    fill_img = torch.tensor(fill, dtype=out.dtype, device=out.device).view(1, -1, 1, 1)
    if mode == "nearest":
        return torch.where(mask < 0.5, fill_img.expand_as(out), out)
    if not any(fill):  # (1 - mask) * 0 adds nothing: the same result, two passes fewer
        return out * mask
    return out * mask + (1.0 - mask) * fill_img


class _ResizedCrop(_Step):
    def __init__(self, transform):
        super().__init__(transform)
        mode = _mode(transform.interpolation)
        if mode not in _SUPPORTED_MODES:
            raise _Unsupported
        self.mode = mode
        self.size = tuple(int(s) for s in transform.size)
        self.scale = tuple(float(s) for s in transform.scale)
        self.ratio = tuple(float(r) for r in transform.ratio)
        self.antialias = bool(transform.antialias) and mode == InterpolationMode.BILINEAR

    def draw(self, batch: int, height: int, width: int, generator) -> torch.Tensor:
        """(B, 4) int64 boxes (top, left, h, w): RandomResizedCrop.get_params, vectorised."""
        area = height * width
        s0, s1 = self.scale
        r0, r1 = math.log(self.ratio[0]), math.log(self.ratio[1])
        u = _rand((batch, 10, 4), generator)  # 10 attempts of (area, log-ratio, top, left)
        target = area * (s0 + (s1 - s0) * u[..., 0])
        aspect = torch.exp(r0 + (r1 - r0) * u[..., 1])
        w = torch.round(torch.sqrt(target * aspect))  # round half to even, like round()
        h = torch.round(torch.sqrt(target / aspect))
        ok = (w > 0) & (w <= width) & (h > 0) & (h <= height)
        top = torch.minimum(torch.floor(u[..., 2] * (height - h + 1)), height - h)
        left = torch.minimum(torch.floor(u[..., 3] * (width - w + 1)), width - w)
        boxes = torch.stack([top, left, h, w], dim=-1)  # (B, 10, 4)
        first = ok.to(torch.uint8).argmax(dim=1)  # first valid attempt
        chosen = boxes[torch.arange(batch, device=boxes.device), first]
        fallback = torch.tensor(self._fallback_box(height, width), dtype=chosen.dtype)
        chosen = torch.where(ok.any(dim=1, keepdim=True), chosen, fallback.to(chosen.device))
        return chosen.to(torch.int64)

    def _fallback_box(self, height: int, width: int) -> tuple[int, int, int, int]:
        in_ratio = width / height
        if in_ratio < min(self.ratio):
            w, h = width, int(round(width / min(self.ratio)))
        elif in_ratio > max(self.ratio):
            w, h = int(round(height * max(self.ratio))), height
        else:
            w, h = width, height
        return (height - h) // 2, (width - w) // 2, h, w

    def _source(self, start, length, out: int, device, dtype) -> torch.Tensor:
        """Source pixel coordinate of each output pixel, as F.interpolate (align_corners=False)."""
        length = length.to(device, torch.float32)[:, None]
        dst = torch.arange(out, device=device, dtype=torch.float32)
        scale = length / out  # float32 in/out, as the ATen kernels
        if self.mode == InterpolationMode.NEAREST:
            src = torch.minimum(torch.floor(dst * scale), length - 1)
        else:
            src = torch.minimum((scale * (dst + 0.5) - 0.5).clamp(min=0.0), length - 1)
        return (src + start.to(device, torch.float32)[:, None]).to(dtype)

    def apply_params(self, images: torch.Tensor, boxes) -> torch.Tensor:
        b, c, height, width = images.shape
        oh, ow = self.size
        boxes = torch.as_tensor(boxes).reshape(b, 4)
        top, left, h, w = boxes.unbind(dim=1)
        device, dtype = images.device, images.dtype
        xs = self._source(left, w, ow, device, dtype)  # (B, ow)
        ys = self._source(top, h, oh, device, dtype)  # (B, oh)
        grid = torch.stack(
            [
                ((2 * xs + 1) / width - 1)[:, None, :].expand(b, oh, ow),
                ((2 * ys + 1) / height - 1)[:, :, None].expand(b, oh, ow),
            ],
            dim=-1,
        )
        out = nnf.grid_sample(images, grid, mode=self.mode.value, align_corners=False)
        if self.antialias:  # antialiased downscaling differs from bilinear: use torchvision
            down = ((h > oh) | (w > ow)).nonzero().flatten().tolist()
            for i in down:
                t, le, hh, ww = (int(v) for v in boxes[i])
                out[i] = F.resized_crop(
                    images[i], t, le, hh, ww, [oh, ow], self.mode, antialias=True
                )
        return out

    def apply(self, images, generator):
        b, _, height, width = images.shape
        return self.apply_params(images, self.draw(b, height, width, generator))

    def describe(self) -> str:
        extra = " (antialiased downscaling crops per image)" if self.antialias else ""
        return f"{self.transform!r}: batched{extra}"


class _Normalize(_Step):
    def __init__(self, transform):
        super().__init__(transform)
        self.mean, self.std = _as_tensor(transform.mean), _as_tensor(transform.std)
        if (self.std == 0).any():
            raise ValueError("Normalize: std contains a zero")

        self._cache: dict = {}

    def apply(self, images, generator):
        key = (images.device, images.dtype)
        if key not in self._cache:  # move the constants once per device and dtype
            mean, std = self.mean.to(*key), self.std.to(*key)
            if mean.ndim == 1:  # per channel, as F.normalize
                mean = mean.view(-1, 1, 1)
            if std.ndim == 1:
                std = std.view(-1, 1, 1)
            self._cache[key] = mean, std
        mean, std = self._cache[key]
        return images.sub(mean).div_(std)


class _PerImage(_Step):
    """Any other transform: a Python loop over the images (slow but correct)."""

    batched = False

    def __init__(self, transform, reason: str):
        super().__init__(transform)
        self.reason = reason
        warnings.warn(
            f"BatchAugmenter: {transform!r} ({reason}) runs per image in a Python loop; "
            "this is slow",
            stacklevel=5,
        )

    def _loop(self, images):
        return torch.stack([self.transform(img) for img in images])

    def apply(self, images, generator):
        if generator is None:
            return self._loop(images)
        # Reproducible from the generator: seed a forked global RNG for the loop.
        seed = int(torch.randint(2**62, (1,), generator=generator, device=generator.device))
        devices = [images.device] if images.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.default_generator.manual_seed(seed)
            if devices:
                torch.cuda.manual_seed(seed)
            return self._loop(images)

    def describe(self) -> str:
        return f"{self.transform!r}: per-image ({self.reason})"


# --------------------------------------------------------------------------------------- engine
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


def _make_step(t) -> _Step:
    kind = type(t)
    try:
        if kind in _FLIPS:
            return _Flip(t, _FLIPS[kind])
        if kind in (T.RandomRotation, T2.RandomRotation):
            return _Rotation(t, v2=kind is T2.RandomRotation)
        if kind in (T.RandomResizedCrop, T2.RandomResizedCrop):
            return _ResizedCrop(t)
        if kind in (T.Normalize, T2.Normalize):
            return _Normalize(t)
        if kind in (T2.Identity, torch.nn.Identity):
            return _NoOp(t)
        if kind in (T.ConvertImageDtype, T2.ConvertImageDtype, T2.ToDtype):
            if isinstance(t.dtype, torch.dtype) and t.dtype.is_floating_point:
                return _NoOp(t, t.dtype)
            raise _Unsupported
    except _Unsupported:
        return _PerImage(t, "unsupported options")
    return _PerImage(t, "unsupported transform")


class BatchAugmenter:
    """Applies a torchvision transform pipeline to a batch, one independent draw per image."""

    def __init__(self, steps: list[_Step]):
        self.steps = list(steps)

    @classmethod
    def from_transform(cls, transform) -> BatchAugmenter:
        """From a Compose (nested ones flattened), a list, a single transform, or None."""
        return cls([_make_step(t) for t in _flatten(transform)])

    def __call__(
        self, images: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        if images.ndim != 4:
            raise ValueError(f"expected a batch (B, C, H, W), got shape {tuple(images.shape)}")
        for step in self.steps:
            images = step.apply(images, generator)
        return images

    @property
    def is_identity(self) -> bool:
        """True when no step does anything (for float32 input), so training may skip it."""
        return all(step.is_identity for step in self.steps)

    def describe(self) -> list[str]:
        return [step.describe() for step in self.steps]

    def __repr__(self) -> str:
        return "BatchAugmenter(\n" + "".join(f"  {line}\n" for line in self.describe()) + ")"
