"""The batched steps of `kata.augment.BatchAugmenter`: one class per torchvision transform.

Each step reads its transform's parameters, draws one independent set of random parameters
per image (`draw`) and applies them to a whole batch (`apply_params`), following
torchvision's tensor kernels so that results match `torchvision.transforms.functional` at
fixed parameters. `PerImage` runs any other transform in a Python loop.
"""

import math
import warnings

import torch
import torch.nn.functional as nnf
import torchvision.transforms.functional as F
from torchvision.transforms import InterpolationMode

SUPPORTED_MODES = (InterpolationMode.NEAREST, InterpolationMode.BILINEAR)


def interpolation_mode(interpolation) -> InterpolationMode:
    if isinstance(interpolation, InterpolationMode):
        return interpolation
    if isinstance(interpolation, str):
        return InterpolationMode(interpolation.lower())
    return F._interpolation_modes_from_int(interpolation)


def uniform(shape: tuple[int, ...], generator: torch.Generator | None) -> torch.Tensor:
    """U[0, 1) in float64, drawn on the generator's device (the CPU for the global RNG)."""
    device = generator.device if generator is not None else torch.device("cpu")
    return torch.rand(shape, generator=generator, device=device, dtype=torch.float64)


def _as_tensor(values) -> torch.Tensor:
    if isinstance(values, (list, tuple)) and any(isinstance(v, torch.Tensor) for v in values):
        return torch.stack([torch.as_tensor(v) for v in values])
    return torch.as_tensor(values)


class Unsupported(Exception):
    """A known transform class with an option the batched engine does not handle."""


# ----------------------------------------------------------------------------------------- steps
class Step:
    batched = True
    is_identity = False

    def __init__(self, transform):
        self.transform = transform

    def apply(self, images: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        raise NotImplementedError

    def describe(self) -> str:
        return f"{self.transform!r}: batched"


class NoOp(Step):
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


class Flip(Step):
    def __init__(self, transform, dim: int):
        super().__init__(transform)
        self.p, self.dim = float(transform.p), dim
        self.is_identity = self.p <= 0.0

    def draw(self, batch: int, generator) -> torch.Tensor:
        return uniform((batch,), generator) < self.p  # as torchvision: flip if rand < p

    def apply_params(self, images: torch.Tensor, flip: torch.Tensor) -> torch.Tensor:
        flip = torch.as_tensor(flip, device=images.device).view(-1, 1, 1, 1)
        return torch.where(flip, images.flip(self.dim), images)

    def apply(self, images, generator):
        if self.is_identity:
            return images
        return self.apply_params(images, self.draw(images.shape[0], generator))


class Rotation(Step):
    def __init__(self, transform, v2: bool):
        super().__init__(transform)
        fill = transform.fill
        if transform.expand or interpolation_mode(transform.interpolation) not in SUPPORTED_MODES:
            raise Unsupported
        if isinstance(fill, dict):
            raise Unsupported
        if fill is None and not v2:
            fill = 0  # v1 RandomRotation turns None into 0 (and always fills via a mask)
        self.lo, self.hi = (float(d) for d in transform.degrees)
        self.mode = interpolation_mode(transform.interpolation).value
        self.center = transform.center
        self.fill = fill
        self.is_identity = self.lo == self.hi == 0.0

    def draw(self, batch: int, generator) -> torch.Tensor:
        return self.lo + (self.hi - self.lo) * uniform((batch,), generator)

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

    def pixel_matrices(self, angles, height: int, width: int) -> torch.Tensor:
        """(B, 2, 3) float64: output pixel (x, y, 1) to where it samples the input, in pixel
        units (centres at integers); the same inverse matrices as `apply_params` uses."""
        theta = self._theta(torch.as_tensor(angles).reshape(-1), height, width)
        cx, cy = 0.5 - width / 2, 0.5 - height / 2  # pixel to centred coordinates
        shift = torch.tensor([width / 2 - 0.5, height / 2 - 0.5], dtype=theta.dtype)
        offset = theta[..., 0] * cx + theta[..., 1] * cy + theta[..., 2] + shift.to(theta.device)
        return torch.cat([theta[..., :2], offset[..., None]], dim=-1)

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
        return grid_sample_fill(images, grid, self.mode, self.fill)

    def apply(self, images, generator):
        if self.is_identity:
            return images
        return self.apply_params(images, self.draw(images.shape[0], generator))


def grid_sample_fill(images, grid, mode: str, fill) -> torch.Tensor:
    """torchvision's _apply_grid_transform with a per-image grid."""
    out = nnf.grid_sample(images, grid, mode=mode, padding_mode="zeros", align_corners=False)
    if fill is None:
        return out
    b, c, h, w = images.shape
    # Where the image came from: the image of a ones channel under the same grid (torchvision
    # samples it together with the image; sampled apart it is the same, without the copy).
    ones = torch.ones(1, 1, h, w, dtype=images.dtype, device=images.device).expand(b, 1, h, w)
    mask = nnf.grid_sample(ones, grid, mode=mode, padding_mode="zeros", align_corners=False)
    values = _fill_values(fill, c)
    if mode == "nearest":
        return torch.where(mask < 0.5, _fill_image(out, values).expand_as(out), out)
    return fill_outside(out, mask, fill)


def _fill_values(fill, channels: int) -> list[float]:
    """A rotation's fill per channel: one number for all, or one per channel."""
    return [float(fill)] * channels if isinstance(fill, (int, float)) else [float(f) for f in fill]


def _fill_image(out: torch.Tensor, values: list[float]) -> torch.Tensor:
    return torch.tensor(values, dtype=out.dtype, device=out.device).view(1, -1, 1, 1)


def fill_outside(out: torch.Tensor, mask: torch.Tensor, fill) -> torch.Tensor:
    """torchvision's bilinear fill: ``out * mask + (1 - mask) * fill``, per channel."""
    values = _fill_values(fill, out.shape[1])
    if not any(values):  # (1 - mask) * 0 adds nothing: the same result, two passes fewer
        return out * mask
    return out * mask + (1.0 - mask) * _fill_image(out, values)


class ResizedCrop(Step):
    def __init__(self, transform):
        super().__init__(transform)
        mode = interpolation_mode(transform.interpolation)
        if mode not in SUPPORTED_MODES:
            raise Unsupported
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
        u = uniform((batch, 10, 4), generator)  # 10 attempts of (area, log-ratio, top, left)
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

    def source_positions(self, dst, start, length, out: int) -> torch.Tensor:
        """Where output position `dst` samples along one axis, as F.interpolate
        (align_corners=False) computes it for a box from `start` of `length` pixels scaled to
        `out`; `start` and `length` per image, `dst` of shape (B or 1, ...)."""
        shape = (-1,) + (1,) * (dst.ndim - 1)
        length = length.to(dst.device, torch.float32).view(shape)
        dst32 = dst.to(torch.float32)
        scale = length / out  # float32 in/out, as the ATen kernels
        if self.mode == InterpolationMode.NEAREST:
            src = torch.minimum(torch.floor(dst32 * scale), length - 1)
        else:
            src = torch.minimum((scale * (dst32 + 0.5) - 0.5).clamp(min=0.0), length - 1)
        return (src + start.to(dst.device, torch.float32).view(shape)).to(dst.dtype)

    def apply_params(self, images: torch.Tensor, boxes) -> torch.Tensor:
        b, c, height, width = images.shape
        oh, ow = self.size
        boxes = torch.as_tensor(boxes).reshape(b, 4)
        top, left, h, w = boxes.unbind(dim=1)
        device, dtype = images.device, images.dtype
        xs = self.source_positions(torch.arange(ow, device=device, dtype=dtype)[None], left, w, ow)
        ys = self.source_positions(torch.arange(oh, device=device, dtype=dtype)[None], top, h, oh)
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


class Normalize(Step):
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


class PerImage(Step):
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
