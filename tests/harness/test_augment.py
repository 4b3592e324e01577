"""BatchAugmenter: batched torchvision augmentation must match torchvision per image."""

from __future__ import annotations

import math

import pytest
import torch
import torchvision.transforms as T
import torchvision.transforms.functional as F
import torchvision.transforms.v2 as T2
import torchvision.transforms.v2.functional as F2
from hypothesis import given, settings
from hypothesis import strategies as st
from torchvision.transforms import InterpolationMode as IM

from kata.augment import BatchAugmenter

SHAPES = [(1, 28, 28), (1, 20, 24)]
MODES = [IM.NEAREST, IM.BILINEAR]
TOL = {IM.NEAREST: 0.0, IM.BILINEAR: 1e-5}


def _images(b: int, shape=(1, 28, 28), seed: int = 0) -> torch.Tensor:
    return torch.rand(b, *shape, generator=torch.Generator().manual_seed(seed))


def _step(transform):
    (step,) = BatchAugmenter.from_transform(transform).steps
    return step


def _smooth_image(h: int = 28, w: int = 28) -> torch.Tensor:
    """An asymmetric, smooth test image (off-centre blob plus a gradient), shape (1, h, w)."""
    y, x = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    blob = torch.exp(-((x - 0.35 * w) ** 2 + (y - 0.3 * h) ** 2) / (0.08 * h * w))
    return (0.7 * blob + 0.3 * x / w).float().unsqueeze(0)


# ------------------------------------------------------------- geometry at fixed parameters
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("center,fill", [(None, 0), (None, 0.5), ([3, 17], None)])
def test_rotation_matches_torchvision(shape, mode, center, fill):
    images = _images(7, shape)
    t = T.RandomRotation(30, interpolation=mode, center=center, fill=fill)
    angles = torch.tensor([0.0, 30.0, -30.0, 7.3, -12.25, 90.0, 179.0])
    out = _step(t).apply_params(images, angles)
    ref_fill = [float(fill or 0)]  # what T.RandomRotation passes to F.rotate
    ref = torch.stack(
        [
            F.rotate(img, float(a), mode, center=center, fill=ref_fill)
            for img, a in zip(images, angles, strict=True)
        ]
    )
    torch.testing.assert_close(out, ref, atol=TOL[mode], rtol=0)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("fill", [None, 0, [0.25]])
def test_rotation_v2_matches_torchvision_v2(mode, fill):
    images = _images(5, (1, 20, 24))
    angles = torch.tensor([0.0, 10.0, -10.0, 4.5, 9.99])
    out = _step(T2.RandomRotation(10, interpolation=mode, fill=fill)).apply_params(images, angles)
    ref = torch.stack(
        [F2.rotate(img, float(a), mode, fill=fill) for img, a in zip(images, angles, strict=True)]
    )
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=0)


def _boxes(h: int, w: int) -> list[tuple[int, int, int, int]]:
    return [(0, 0, h, w), (3, 5, 7, 9), (1, 2, h - 3, w - 4), (0, 0, 1, 1), (h - 5, w - 3, 5, 3)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("antialias", [True, False])
@pytest.mark.parametrize("size", [(28, 28), (14, 30)])
def test_resized_crop_matches_torchvision(shape, mode, antialias, size):
    _, h, w = shape
    boxes = _boxes(h, w)
    images = _images(len(boxes), shape)
    t = T.RandomResizedCrop(size, interpolation=mode, antialias=antialias)
    out = _step(t).apply_params(images, torch.tensor(boxes))
    ref = torch.stack(
        [
            F.resized_crop(img, *box, list(size), mode, antialias=antialias)
            for img, box in zip(images, boxes, strict=True)
        ]
    )
    assert out.shape == (len(boxes), 1, *size)
    torch.testing.assert_close(out, ref, atol=TOL[mode], rtol=0)


@settings(max_examples=30, deadline=None)
@given(data=st.data(), mode=st.sampled_from(MODES), shape=st.sampled_from(SHAPES))
def test_resized_crop_any_box_matches_torchvision(data, mode, shape):
    _, h, w = shape
    bh = data.draw(st.integers(1, h))
    bw = data.draw(st.integers(1, w))
    top, left = data.draw(st.integers(0, h - bh)), data.draw(st.integers(0, w - bw))
    size = data.draw(st.sampled_from([(28, 28), (20, 24), (10, 12)]))
    images = _images(1, shape)
    t = T2.RandomResizedCrop(size, interpolation=mode)
    out = _step(t).apply_params(images, torch.tensor([[top, left, bh, bw]]))
    ref = F2.resized_crop(images[0], top, left, bh, bw, list(size), mode, antialias=True)
    torch.testing.assert_close(out[0], ref, atol=TOL[mode], rtol=0)


@pytest.mark.parametrize(
    "cls,ref", [(T.RandomHorizontalFlip, F.hflip), (T2.RandomVerticalFlip, F.vflip)]
)
def test_flip_matches_torchvision(cls, ref):
    images = _images(4, (1, 20, 24))
    flips = torch.tensor([True, False, True, False])
    out = _step(cls(p=0.5)).apply_params(images, flips)
    expected = torch.stack([ref(img) if f else img for img, f in zip(images, flips, strict=True)])
    assert torch.equal(out, expected)


@pytest.mark.parametrize("cls", [T.Normalize, T2.Normalize])
def test_normalize_per_channel_and_per_pixel(cls):
    rgb = _images(3, (3, 20, 24))
    t = cls([0.1, 0.2, 0.3], [0.5, 0.25, 2.0])
    ref = torch.stack([T.Normalize([0.1, 0.2, 0.3], [0.5, 0.25, 2.0])(img) for img in rgb])
    torch.testing.assert_close(BatchAugmenter.from_transform(t)(rgb), ref, atol=0, rtol=0)

    gray = _images(3)
    mean_img, std_img = gray.mean(0), gray.std(0) + 0.1  # per-pixel, shape (1, 28, 28)
    ref = torch.stack([T.Normalize(mean_img, std_img)(img) for img in gray])
    out = BatchAugmenter.from_transform(cls(mean_img, std_img))(gray)
    torch.testing.assert_close(out, ref, atol=0, rtol=0)


# --------------------------------------------------------------------------- random draws
def test_flip_rate_is_binomial():
    n, p = 20_000, 0.3
    flips = _step(T.RandomHorizontalFlip(p)).draw(n, torch.Generator().manual_seed(1))
    assert abs(flips.sum().item() - n * p) < 5 * math.sqrt(n * p * (1 - p))


def test_angles_uniform_in_range():
    n = 20_000
    angles = _step(T2.RandomRotation((-5, 15))).draw(n, torch.Generator().manual_seed(2))
    assert angles.min() >= -5 and angles.max() <= 15
    counts = torch.histc(angles.float(), bins=10, min=-5, max=15)
    assert (counts - n / 10).abs().max() < 5 * math.sqrt(n / 10)


@settings(max_examples=40, deadline=None)
@given(
    h=st.integers(8, 40),
    w=st.integers(8, 40),
    s0=st.floats(0.05, 1.0),
    ds=st.floats(0.0, 0.5),
    r0=st.floats(0.3, 1.5),
    dr=st.floats(0.0, 2.0),
)
def test_crop_boxes_follow_scale_and_ratio(h, w, s0, ds, r0, dr):
    scale, ratio = (s0, min(s0 + ds, 1.0)), (r0, r0 + dr)
    step = _step(T.RandomResizedCrop(28, scale=scale, ratio=ratio))
    boxes = step.draw(200, h, w, torch.Generator().manual_seed(3))
    top, left, bh, bw = boxes.unbind(1)
    assert ((top >= 0) & (left >= 0) & (bh >= 1) & (bw >= 1)).all()
    assert ((top + bh <= h) & (left + bw <= w)).all()
    # Non-fallback boxes: area and aspect within range, up to the rounding of w and h to integers.
    area, slack = h * w, 1e-9
    inside = (
        ((bw + 0.5) * (bh + 0.5) >= scale[0] * area * (1 - slack))
        & ((bw - 0.5) * (bh - 0.5) <= scale[1] * area * (1 + slack))
        & ((bw + 0.5) / (bh - 0.5).clamp(min=1e-9) >= ratio[0] * (1 - slack))
        & ((bw - 0.5) / (bh + 0.5) <= ratio[1] * (1 + slack))
    )
    fallback = torch.tensor(step._fallback_box(h, w))
    assert (inside | (boxes == fallback).all(1)).all()


def test_crop_fallback_matches_torchvision():
    t = T.RandomResizedCrop(28, scale=(2.0, 3.0), ratio=(2.0, 3.0))  # no attempt can succeed
    for shape in SHAPES:
        img = _images(1, shape)[0]
        expected = T.RandomResizedCrop.get_params(img, t.scale, t.ratio)
        boxes = _step(t).draw(50, *shape[1:], None)
        assert (boxes == torch.tensor(expected)).all()


def test_crop_draws_distributed_like_torchvision():
    t = T.RandomResizedCrop(28, scale=(0.2, 1.0), ratio=(0.5, 2.0))
    img = _images(1, (1, 20, 24))[0]
    n = 4000
    torch.manual_seed(4)
    ref = torch.tensor([T.RandomResizedCrop.get_params(img, t.scale, t.ratio) for _ in range(n)])
    ours = _step(t).draw(n, 20, 24, torch.Generator().manual_seed(5))
    ref, ours = ref.double(), ours.double()
    se = torch.sqrt((ref.var(0) + ours.var(0)) / n)
    assert ((ref.mean(0) - ours.mean(0)).abs() < 5 * se + 1e-9).all()


# ------------------------------------------------------------------ engine-level behaviour
EXAMPLE_MEAN = _images(16).mean(0)
EXAMPLE_STD = _images(16).std(0) + 0.05


def _example(v2: bool = False):
    t = T2 if v2 else T
    return t.Compose(
        [
            t.RandomHorizontalFlip(p=0.5),
            t.RandomRotation(10, interpolation=IM.BILINEAR),
            t.RandomResizedCrop(28, scale=(0.8, 1.0), antialias=True),
            t.Normalize(EXAMPLE_MEAN, EXAMPLE_STD),
        ]
    )


def test_fresh_draw_per_image():
    aug = BatchAugmenter.from_transform(T.RandomRotation(30, interpolation=IM.BILINEAR))
    out = aug(_smooth_image().expand(64, 1, 28, 28), torch.Generator().manual_seed(0))
    assert len({tuple(o.flatten().tolist()) for o in out}) == 64


def test_seeding():
    aug = BatchAugmenter.from_transform(_example())
    x = _images(32)
    a = aug(x, torch.Generator().manual_seed(7))
    assert torch.equal(a, aug(x, torch.Generator().manual_seed(7)))
    assert not torch.equal(a, aug(x, torch.Generator().manual_seed(8)))
    torch.manual_seed(9)
    b = aug(x)
    torch.manual_seed(9)
    assert torch.equal(b, aug(x))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("v2", [False, True])
def test_shape_dtype_device_kept(dtype, v2):
    x = _images(8).to(dtype)
    out = BatchAugmenter.from_transform(_example(v2))(x)
    assert out.shape == x.shape and out.dtype == dtype and out.device == x.device
    assert torch.isfinite(out).all()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_batch_matches_cpu():
    aug = BatchAugmenter.from_transform(_example())
    x = _images(16)
    cpu = aug(x, torch.Generator().manual_seed(1))
    cuda = aug(x.cuda(), torch.Generator().manual_seed(1))
    assert cuda.device.type == "cuda"
    torch.testing.assert_close(cuda.cpu(), cpu, atol=1e-4, rtol=1e-4)
    on_gpu_rng = aug(x.cuda(), torch.Generator(device="cuda").manual_seed(1))
    assert on_gpu_rng.device.type == "cuda" and on_gpu_rng.shape == x.shape


def test_compose_nesting_flattened():
    inner = T.Compose([T.RandomHorizontalFlip(), T2.Compose([T.RandomRotation(5)])])
    aug = BatchAugmenter.from_transform(T.Compose([inner, T.Normalize([0.5], [0.5])]))
    assert len(aug.steps) == 3
    flat = BatchAugmenter.from_transform(
        [T.RandomHorizontalFlip(), T.RandomRotation(5), T.Normalize([0.5], [0.5])]
    )
    x = _images(8)
    g = torch.Generator
    assert torch.equal(aug(x, g().manual_seed(1)), flat(x, g().manual_seed(1)))


@pytest.mark.parametrize(
    "transform,name",
    [
        (T.Lambda(lambda img: img * 2 + torch.rand(1)), "Lambda"),
        (T.GaussianBlur(3, sigma=(0.1, 2.0)), "GaussianBlur"),
        (T.RandomRotation((20, 20), expand=True), "expand=True"),
    ],
)
def test_unknown_transform_runs_per_image_with_warning(transform, name):
    with pytest.warns(UserWarning, match=name):
        aug = BatchAugmenter.from_transform(transform)
    assert "per-image" in aug.describe()[0] and not aug.is_identity
    x = _images(6, (1, 20, 24))
    torch.manual_seed(11)
    out = aug(x)
    torch.manual_seed(11)
    ref = torch.stack([transform(img) for img in x])
    assert torch.equal(out, ref)
    g = torch.Generator
    assert torch.equal(aug(x, g().manual_seed(3)), aug(x, g().manual_seed(3)))


def test_identity_detection_and_describe():
    for t in [
        None,
        T.Compose([]),
        T.Compose([T.RandomHorizontalFlip(p=0.0), T.ConvertImageDtype(torch.float32)]),
        T2.Compose([T2.ToDtype(torch.float32, scale=True), T2.RandomRotation(0), T2.Identity()]),
    ]:
        aug = BatchAugmenter.from_transform(t)
        assert aug.is_identity
        x = _images(2)
        assert torch.equal(aug(x), x)
    aug = BatchAugmenter.from_transform(_example())
    assert not aug.is_identity
    lines = aug.describe()
    assert len(lines) == 4 and all("batched" in line for line in lines)
    assert not BatchAugmenter.from_transform(T.Normalize([0.0], [1.0])).is_identity


# ------------------------------------------------ distribution against torchvision per image
def _assert_same_pixel_means(ours: torch.Tensor, ref: torch.Tensor):
    n = ours.shape[0]
    se = torch.sqrt((ours.var(0) + ref.var(0)) / n) + 1e-6
    z = (ours.mean(0) - ref.mean(0)) / se
    assert z.abs().max() < 6, z.abs().max()
    assert z.abs().mean() < 2.0, z.abs().mean()


@pytest.mark.parametrize(
    "shape,transform",
    [
        ((1, 28, 28), _example()),
        (
            (1, 20, 24),
            T.Compose(
                [
                    T.RandomRotation((0, 25), interpolation=IM.BILINEAR, center=[4, 6]),
                    T.RandomResizedCrop((20, 24), scale=(0.3, 0.9), ratio=(0.5, 1.5)),
                ]
            ),
        ),
    ],
)
def test_distribution_matches_torchvision(shape, transform):
    n = 2500
    img = _smooth_image(*shape[1:])
    ours = BatchAugmenter.from_transform(transform)(
        img.expand(n, *shape), torch.Generator().manual_seed(0)
    )
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny per-image ops are much slower multi-threaded on a busy box
    try:
        torch.manual_seed(0)
        ref = torch.stack([transform(img) for _ in range(n)])
    finally:
        torch.set_num_threads(threads)
    _assert_same_pixel_means(ours, ref)


# ------------------------------------------- flips, rotations and crops in one resampling
def _draws(steps, b: int, shape, generator):
    """Each step's draws, in the order the augmenter makes them."""
    h, w = shape[1:]
    out = []
    for step in steps:
        if hasattr(step, "size"):
            out.append(step.draw(b, h, w, generator))
            h, w = step.size
        else:
            out.append(step.draw(b, generator))
    return out


def _torchvision_per_image(transforms, draws, images):
    """torchvision's own functions, one image at a time, at the given draws."""
    results = []
    for i, img in enumerate(images):
        for t, d in zip(transforms, draws, strict=True):
            if isinstance(t, (T.RandomHorizontalFlip, T2.RandomHorizontalFlip)):
                img = F.hflip(img) if d[i] else img
            elif isinstance(t, (T.RandomVerticalFlip, T2.RandomVerticalFlip)):
                img = F.vflip(img) if d[i] else img
            elif isinstance(t, T2.RandomRotation):
                fill = t.fill if t.fill is None else [float(t.fill)]
                img = F2.rotate(img, float(d[i]), t.interpolation, center=t.center, fill=fill)
            elif isinstance(t, T.RandomRotation):
                fill = [float(t.fill or 0)]  # what T.RandomRotation passes to F.rotate
                img = F.rotate(img, float(d[i]), t.interpolation, center=t.center, fill=fill)
            else:
                top, left, h, w = (int(v) for v in d[i])
                crop = F2.resized_crop if isinstance(t, T2.RandomResizedCrop) else F.resized_crop
                img = crop(
                    img, top, left, h, w, list(t.size), t.interpolation, antialias=t.antialias
                )
        results.append(img)
    return torch.stack(results)


def _fused(transforms):
    aug = BatchAugmenter.from_transform(transforms)
    assert any(type(step).__name__ == "FusedGeometry" for step in aug.plan)
    return aug


@pytest.mark.parametrize("v2", [False, True])
@pytest.mark.parametrize("fill", [0, 0.5, None])
@pytest.mark.parametrize("shape", SHAPES)
def test_a_flip_then_a_rotation_in_one_resampling_match_torchvision(v2, fill, shape):
    t = T2 if v2 else T
    transforms = [
        t.RandomHorizontalFlip(0.5),
        t.RandomVerticalFlip(0.5),
        t.RandomRotation(40, interpolation=IM.BILINEAR, fill=fill),
    ]
    aug = _fused(transforms)
    images = _images(64, shape)
    out = aug(images, torch.Generator().manual_seed(3))
    draws = _draws(aug.steps, 64, shape, torch.Generator().manual_seed(3))
    ref = _torchvision_per_image(transforms, draws, images)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=0)  # float32 rounding only


def _linear_image(shape) -> torch.Tensor:
    """An image linear in x and y (asymmetric: flips and transposes change it): bilinear
    interpolation reproduces it exactly, so one resampling and two agree on it."""
    _, h, w = shape
    y, x = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    return (0.2 + 0.03 * x + 0.011 * y).float().unsqueeze(0)


CROP_RUNS = [
    (  # the kata's
        (1, 28, 28),
        [
            T.RandomHorizontalFlip(0.5),
            T.RandomRotation(10, interpolation=IM.BILINEAR),
            T.RandomResizedCrop(28, scale=(0.8, 1.0), antialias=True),
        ],
    ),
    (  # another centre and fill, a vertical flip, an enlarging crop to another size
        (1, 20, 24),
        [
            T2.RandomRotation((-25, 25), interpolation=IM.BILINEAR, center=[4, 6], fill=0.3),
            T2.RandomVerticalFlip(0.5),
            T2.RandomResizedCrop((30, 32), scale=(0.3, 0.9), ratio=(0.5, 1.5)),
        ],
    ),
    (  # a shrinking crop first (one that enlarges clamps at its edges: not linear there)
        (1, 20, 24),
        [
            T.RandomResizedCrop((8, 8), scale=(0.5, 0.9), ratio=(0.5, 1.5), antialias=False),
            T.RandomRotation(15, interpolation=IM.BILINEAR),
            T.RandomHorizontalFlip(0.5),
        ],
    ),
    ((1, 20, 24), [T2.RandomHorizontalFlip(0.5), T2.RandomResizedCrop((24, 20))]),
]


@pytest.mark.parametrize("shape,transforms", CROP_RUNS)
def test_a_crop_after_a_rotation_in_one_resampling_is_exact_on_a_linear_image(shape, transforms):
    """Where no fill reaches a pixel (torchvision's result on an image of ones is 1 there),
    the position it samples lies inside the image and both results are the linear
    function at that position: equal up to float32 rounding of the positions."""
    aug = _fused(transforms)
    b = 200
    linear = _linear_image(shape).expand(b, *shape)
    ones = torch.ones(b, *shape)
    out = aug(linear, torch.Generator().manual_seed(5))
    draws = _draws(aug.steps, b, shape, torch.Generator().manual_seed(5))
    ref = _torchvision_per_image(transforms, draws, linear)
    reached = _torchvision_per_image(transforms, draws, ones) < 1 - 1e-6
    assert (~reached).float().mean() > 0.5  # most pixels are compared
    torch.testing.assert_close(out[~reached], ref[~reached], atol=1e-4, rtol=0)
    assert (out >= 0).all() and (out <= linear.max() + 1e-5).all()  # fills are in [0, 1]
    assert not torch.equal(out, linear)  # the images were moved


def test_draws_and_result_are_the_unfused_ones_where_the_fusion_cannot_apply():
    """An antialiased crop that shrinks goes through torchvision per image: the run then
    resamples step by step, with the same draws."""
    transforms = [
        T.RandomHorizontalFlip(0.5),
        T.RandomRotation(10, interpolation=IM.BILINEAR),
        T.RandomResizedCrop(14, scale=(0.8, 1.0), antialias=True),
    ]
    images = _images(16)
    fused = _fused(transforms)(images, torch.Generator().manual_seed(2))
    plain = BatchAugmenter.from_transform(transforms, fuse=False)
    assert torch.equal(fused, plain(images, torch.Generator().manual_seed(2)))


@pytest.mark.parametrize(
    "transforms",
    [
        [T.RandomHorizontalFlip(), T.RandomRotation(10)],  # nearest: not fused
        [T.RandomRotation(10, interpolation=IM.BILINEAR)],  # one step: nothing to fuse
        [T.RandomHorizontalFlip(), T.RandomVerticalFlip()],  # flips alone resample nothing
        [
            T.RandomRotation(10, interpolation=IM.BILINEAR),
            T.Normalize([0.5], [0.5]),
            T.RandomResizedCrop(28),
        ],  # normalisation between them
    ],
)
def test_only_runs_of_bilinear_geometry_are_fused(transforms):
    aug = BatchAugmenter.from_transform(transforms)
    assert not any(type(step).__name__ == "FusedGeometry" for step in aug.plan)
    images = _images(8)
    plain = BatchAugmenter.from_transform(transforms, fuse=False)
    g = torch.Generator
    assert torch.equal(aug(images, g().manual_seed(4)), plain(images, g().manual_seed(4)))
