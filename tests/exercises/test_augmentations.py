"""Exercise 2: the training transform (augmentation) and the evaluation transform."""

import itertools
import math

import pytest
import torch
from hypothesis import given
from torchvision import transforms
from torchvision.transforms import v2

from tests.checks import call, check_close, check_tensor, describe, fail, run
from tests.strategies import seeds

pytestmark = pytest.mark.exercise("augmentations")

SIZE = 28
FLAGS = ("horizontal_flip", "rotation", "resized_crop")
MAX_ROTATION = 10.0  # degrees, the assignment's small rotation
DRAWS = 400


@pytest.fixture(scope="module")
def augmentations(impl):
    return impl.module("augmentations")


@pytest.fixture(scope="module")
def normalize(reference):
    images = torch.randint(
        0, 256, (50, SIZE, SIZE), dtype=torch.uint8, generator=torch.Generator().manual_seed(0)
    )
    normalization = reference.module("normalization")
    return normalization.make_normalize(*normalization.pixel_statistics(images))


def asymmetric_image(seed: int = 0) -> torch.Tensor:
    """A float (1, 28, 28) image on the 0-1 scale that no flip or rotation leaves unchanged."""
    image = torch.rand(1, SIZE, SIZE, generator=torch.Generator().manual_seed(seed))
    image[:, 4:10, 3:8] = 1.0
    return image


APPLIES = (
    "the transformed image: a float tensor of the same shape (the input is already a float "
    "tensor on the 0-1 scale, so no ToTensor or PILToTensor step)"
)


def build(augmentations, normalize=None, **flags):
    called = call("build_train_transform", **flags, normalize=normalize)
    transform = run(
        augmentations.build_train_transform,
        normalize=normalize,
        **flags,
        called=called,
        expected="a transforms.Compose",
    )
    return transform, called


def apply(transform, image, seed, called):
    torch.manual_seed(seed)
    what = "image" if image.dim() == 3 else "batch"
    called = f"{called}({call('', image)[1:-1]} {what})"
    out = run(transform, image.clone(), called=called, expected=APPLIES)
    return check_tensor(out, called=called, shape=tuple(image.shape), dtype=image.dtype)


def flat(transform) -> list:
    """The transforms inside nested Composes."""
    if isinstance(transform, (transforms.Compose, v2.Compose)):
        return [t for inner in transform.transforms for t in flat(inner)]
    return [transform]


def binomial_bound(p: float, n: int) -> float:
    return 4.5 * math.sqrt(p * (1 - p) / n) + 1 / n


ALL_FLAG_SETTINGS = [
    dict(zip(FLAGS, values, strict=True)) for values in itertools.product([False, True], repeat=3)
]


@pytest.mark.parametrize(
    "flags", ALL_FLAG_SETTINGS, ids=lambda f: "+".join(k for k, v in f.items() if v) or "none"
)
def test_shape_and_dtype_are_kept_for_an_image_and_a_batch(augmentations, normalize, flags):
    transform, called = build(augmentations, normalize, **flags)
    apply(transform, asymmetric_image(), 0, called)
    apply(transform, torch.stack([asymmetric_image(i) for i in range(3)]), 0, called)


@pytest.mark.parametrize("with_normalize", [False, True])
def test_all_flags_off_equals_the_evaluation_transform(augmentations, normalize, with_normalize):
    norm = normalize if with_normalize else None
    train, called = build(augmentations, norm, **dict.fromkeys(FLAGS, False))
    evaluation = run(
        augmentations.build_eval_transform,
        norm,
        called=call("build_eval_transform", norm),
        expected="a transforms.Compose",
    )
    image = asymmetric_image()
    check_close(
        apply(train, image, 1, called),
        apply(evaluation, image, 2, "build_eval_transform"),
        called=called + " compared with build_eval_transform",
        atol=0,
    )


@given(seeds, seeds)
def test_the_evaluation_transform_has_no_randomness(augmentations, normalize, seed_a, seed_b):
    called = call("build_eval_transform", normalize=normalize)
    evaluation = run(
        augmentations.build_eval_transform,
        normalize,
        called=called,
        expected="a transforms.Compose",
    )
    random_steps = [t for t in flat(evaluation) if type(t).__name__.startswith("Random")]
    if random_steps:
        fail(called, f"a transform with {describe(random_steps)}", "no random transform")
    image = asymmetric_image()
    expected = normalize(image.clone())
    for seed in (seed_a, seed_b):
        check_close(
            apply(evaluation, image, seed, called),
            expected,
            called=f"{called} with torch seed {seed}",
            what="the output",
            atol=0,
        )


@given(seeds)
def test_the_same_seed_gives_the_same_output(augmentations, normalize, seed):
    transform, called = build(augmentations, normalize, **dict.fromkeys(FLAGS, True))
    image = asymmetric_image()
    check_close(
        apply(transform, image, seed, called),
        apply(transform, image, seed, called),
        called=f"{called} twice with torch seed {seed}",
        atol=0,
    )


@given(seeds)
def test_normalisation_comes_after_the_geometric_augmentation(augmentations, normalize, seed):
    # Rotations and crops fill their borders with black (0) before standardisation.
    flags = dict.fromkeys(FLAGS, True)
    with_norm, called = build(augmentations, normalize, **flags)
    without_norm, _ = build(augmentations, None, **flags)
    image = asymmetric_image()
    expected = normalize(apply(without_norm, image, seed, called))
    check_close(
        apply(with_norm, image, seed, called),
        expected,
        atol=1e-5,
        called=f"{called} vs normalize(the same augmentation without normalize), torch seed {seed}",
    )


def test_a_flip_is_exactly_the_mirror_image_at_rate_one_half(augmentations):
    transform, called = build(augmentations, horizontal_flip=True)
    image = asymmetric_image()
    mirrored = 0
    for seed in range(DRAWS):
        out = apply(transform, image, seed, called)
        if torch.equal(out, image.flip(-1)):
            mirrored += 1
        elif not torch.equal(out, image):
            upside_down = torch.equal(out, image.flip(-2))
            fail(
                f"{called} with torch seed {seed}",
                "an image flipped upside down"
                if upside_down
                else "an image that is neither the input nor its left-right mirror",
                "the input, or its left-right mirror image",
            )
    rate = mirrored / DRAWS
    if abs(rate - 0.5) > binomial_bound(0.5, DRAWS):
        fail(
            f"{called} on {DRAWS} seeds",
            f"{mirrored} mirrored ({rate:.2f})",
            "a flip rate of 0.5 within binomial noise",
        )


def blob_angle(image: torch.Tensor) -> float:
    """Angle in degrees of the centroid of a bright blob around the image centre."""
    ys, xs = torch.meshgrid(
        torch.arange(SIZE, dtype=torch.float64),
        torch.arange(SIZE, dtype=torch.float64),
        indexing="ij",
    )
    weight = image[0].double().clamp(min=0)
    centre = (SIZE - 1) / 2
    y = (weight * ys).sum() / weight.sum() - centre
    x = (weight * xs).sum() / weight.sum() - centre
    return math.degrees(math.atan2(float(-y), float(x)))


def blob_image() -> torch.Tensor:
    """A small bright spot 8 pixels right of the centre, at angle 0."""
    ys, xs = torch.meshgrid(
        torch.arange(SIZE, dtype=torch.float32),
        torch.arange(SIZE, dtype=torch.float32),
        indexing="ij",
    )
    centre = (SIZE - 1) / 2
    spot = torch.exp(-((xs - centre - 8) ** 2 + (ys - centre) ** 2) / (2 * 1.2**2))
    return spot.unsqueeze(0)


def test_rotation_angles_are_small_and_spread_over_both_directions(augmentations):
    transform, called = build(augmentations, rotation=True)
    image = blob_image()
    angles = [blob_angle(apply(transform, image, seed, called)) for seed in range(DRAWS // 2)]
    largest = max(abs(a) for a in angles)
    if largest > MAX_ROTATION + 1.0:
        fail(
            f"{called} on {len(angles)} seeds",
            f"a rotation by {largest:.1f} degrees",
            f"angles within ±{MAX_ROTATION:g} degrees (a rotated shirt is still a shirt; "
            "one on its side is not what the test set shows)",
        )
    if min(angles) > -MAX_ROTATION / 2 or max(angles) < MAX_ROTATION / 2:
        fail(
            f"{called} on {len(angles)} seeds",
            f"angles from {min(angles):.1f} to {max(angles):.1f} degrees",
            f"angles spread over [-{MAX_ROTATION:g}, {MAX_ROTATION:g}]",
        )


def test_the_resized_crop_keeps_the_size_and_never_zooms_out(augmentations):
    transform, called = build(augmentations, resized_crop=True)
    crops = [
        t
        for t in flat(transform)
        if isinstance(t, (transforms.RandomResizedCrop, v2.RandomResizedCrop))
    ]
    if len(crops) != 1:
        fail(called, f"{len(crops)} RandomResizedCrop steps", "exactly one RandomResizedCrop")
    crop = crops[0]
    if tuple(crop.size) != (SIZE, SIZE):
        fail(called, f"RandomResizedCrop with size {crop.size}", f"size ({SIZE}, {SIZE})")
    low, high = crop.scale
    if not 0.5 <= low <= high <= 1.0:
        fail(
            called,
            f"RandomResizedCrop with scale {crop.scale}",
            "a scale inside [0.5, 1]: a crop cannot cover more than the whole image, and a "
            "tiny crop no longer shows the garment",
        )


@pytest.mark.parametrize("flag", FLAGS)
def test_each_flag_changes_the_image_and_only_its_own_step_is_added(augmentations, flag):
    transform, called = build(augmentations, **{flag: True})
    image = asymmetric_image()
    changed = sum(
        not torch.equal(apply(transform, image, seed, called), image) for seed in range(50)
    )
    if changed < 10:
        fail(
            f"{called} on 50 seeds",
            f"{changed} changed images",
            f"the {flag.replace('_', ' ')} to change most images",
        )
    other = [t for t in flat(transform) if not isinstance(t, (transforms.Normalize, v2.Normalize))]
    if len(other) != 1:
        fail(
            called,
            f"{len(other)} steps: {[type(t).__name__ for t in other]}",
            f"one step for {flag}",
        )


def steps_of(transform) -> list:
    return [t for t in flat(transform) if not isinstance(t, (transforms.Normalize, v2.Normalize))]


def test_every_step_has_the_docstrings_settings(augmentations, normalize):
    # Numbers and choices the docstring states, pinned exactly: the rates and ranges above
    # are measured with noise, and would let 0.4 for 0.5 or nearest for bilinear through.
    transform, called = build(augmentations, normalize, **dict.fromkeys(FLAGS, True))
    steps = steps_of(transform)
    kinds = [type(t).__name__ for t in steps]
    if kinds != ["RandomHorizontalFlip", "RandomRotation", "RandomResizedCrop"]:
        fail(called, f"steps {kinds}", "RandomHorizontalFlip, RandomRotation, RandomResizedCrop")
    flip, rotation, crop = steps
    bilinear = transforms.InterpolationMode.BILINEAR
    fill = rotation.fill if isinstance(rotation.fill, (list, tuple)) else [rotation.fill]
    problems = {
        "flip probability": (flip.p, 0.5, flip.p == 0.5),
        "rotation degrees": (
            list(rotation.degrees),
            [-MAX_ROTATION, MAX_ROTATION],
            list(rotation.degrees) == [-MAX_ROTATION, MAX_ROTATION],
        ),
        "rotation interpolation": (
            rotation.interpolation,
            bilinear,
            rotation.interpolation == bilinear,
        ),
        "rotation expand, centre, fill": (
            (rotation.expand, rotation.center, rotation.fill),
            (False, None, 0),
            not rotation.expand and rotation.center is None and all(f == 0 for f in fill),
        ),
        "crop scale": (tuple(crop.scale), (0.8, 1.0), tuple(crop.scale) == (0.8, 1.0)),
        "crop ratio": (
            tuple(crop.ratio),
            (3 / 4, 4 / 3),
            all(math.isclose(a, b) for a, b in zip(crop.ratio, (3 / 4, 4 / 3), strict=True)),
        ),
        "crop interpolation": (crop.interpolation, bilinear, crop.interpolation == bilinear),
        "crop antialias": (crop.antialias, True, crop.antialias is True),
    }
    for what, (got, expected, ok) in problems.items():
        if not ok:
            fail(called, f"{what} {got!r}", f"{expected!r} (as the docstring says)")


@pytest.mark.parametrize("size", [16, 32])
def test_the_crop_resizes_to_the_given_image_size(augmentations, size):
    transform, called = build(augmentations, resized_crop=True, image_size=size)
    image = torch.rand(1, size, size, generator=torch.Generator().manual_seed(size))
    for seed in range(5):
        apply(transform, image, seed, called)
