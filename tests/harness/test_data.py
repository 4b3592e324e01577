"""Tests for kata.data: finding, verifying and loading Fashion-MNIST.

Most tests run on small synthetic IDX files written to tmp_path, with ``data.SPECS`` swapped
for specs that fit them. The ``real_data`` tests load the Debian copy in ``data.SYSTEM_DIR``.
"""

import gzip
import hashlib
import os
import struct
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from kata import data

TRAIN_IMAGES = "train-images-idx3-ubyte"
TRAIN_LABELS = "train-labels-idx1-ubyte"
TEST_IMAGES = "t10k-images-idx3-ubyte"
TEST_LABELS = "t10k-labels-idx1-ubyte"
TRAIN_N, TEST_N = 60, 20  # 6 and 2 per class
HOW_TO = ("apt-get install dataset-fashion-mnist", "FASHION_MNIST_DIR", "download")


def idx(magic: int, dims: tuple[int, ...], payload: bytes) -> bytes:
    """An unpacked IDX file: big-endian magic, dimensions, then the bytes."""
    return struct.pack(f">I{len(dims)}I", magic, *dims) + payload


def synthetic_labels(n: int) -> list[int]:
    return [i % 10 for i in range(n)]


def synthetic_images(labels: list[int]) -> bytes:
    """Random images whose pixel (0, 0) is the label and pixel (0, 1) the index."""
    n = len(labels)
    pixels = torch.randint(0, 256, (n, 28, 28), generator=torch.Generator().manual_seed(n))
    pixels = pixels.to(torch.uint8)
    pixels[:, 0, 0] = torch.tensor(labels)
    pixels[:, 0, 1] = torch.arange(n)
    return idx(data.IMAGES_MAGIC, (n, 28, 28), pixels.numpy().tobytes())


FILES: dict[str, bytes] = {
    TRAIN_IMAGES: synthetic_images(synthetic_labels(TRAIN_N)),
    TRAIN_LABELS: idx(data.LABELS_MAGIC, (TRAIN_N,), bytes(synthetic_labels(TRAIN_N))),
    TEST_IMAGES: synthetic_images(synthetic_labels(TEST_N)),
    TEST_LABELS: idx(data.LABELS_MAGIC, (TEST_N,), bytes(synthetic_labels(TEST_N))),
}


def spec(name: str, count: int) -> data.FileSpec:
    return data.FileSpec(name, count, hashlib.sha256(FILES[name]).hexdigest())


SMALL_SPECS = {
    "train": data.SplitSpec(spec(TRAIN_IMAGES, TRAIN_N), spec(TRAIN_LABELS, TRAIN_N)),
    "test": data.SplitSpec(spec(TEST_IMAGES, TEST_N), spec(TEST_LABELS, TEST_N)),
}


def write_dataset(
    folder: Path, *, gz: bool = True, replace: dict[str, bytes] | None = None
) -> Path:
    """Write the four synthetic files (``replace`` swaps in other contents) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in {**FILES, **(replace or {})}.items():
        if gz:
            (folder / f"{name}.gz").write_bytes(gzip.compress(content))
        else:
            (folder / name).write_bytes(content)
    return folder


def load_train(folder: Path, **kwargs) -> tuple[data.Split, data.Split]:
    kwargs.setdefault("validation_size", 10)
    return data.load_development_splits(folder, download=False, **kwargs)


def load_test(folder: Path) -> data.Split:
    return data.load_test_split_for_final_evaluation(folder, download=False)


@pytest.fixture(autouse=True)
def isolated(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Keep tests away from real folders, the environment and the network."""
    monkeypatch.delenv(data.ENV_VAR, raising=False)
    if request.node.get_closest_marker("real_data"):
        return
    monkeypatch.setattr(data, "SPECS", SMALL_SPECS)
    monkeypatch.setattr(data, "PROJECT_DIR", tmp_path / "project")
    monkeypatch.setattr(data, "SYSTEM_DIR", tmp_path / "system")
    monkeypatch.setattr(data, "DOWNLOAD_ROOT", tmp_path / "download")
    monkeypatch.setattr(
        data, "SEARCH_DIRS", [data.PROJECT_DIR, data.SYSTEM_DIR, data.DOWNLOAD_ROOT]
    )

    def no_network(dest: Path) -> Path:
        raise OSError("no network in tests")

    monkeypatch.setattr(data, "_download", no_network)


# --- loading ---------------------------------------------------------------------------------


def test_class_names() -> None:
    assert len(data.CLASS_NAMES) == 10
    assert len(set(data.CLASS_NAMES)) == 10
    assert data.CLASS_NAMES[0] == "T-shirt/top" and data.CLASS_NAMES[9] == "Ankle boot"


@pytest.mark.parametrize("gz", [True, False], ids=["gz", "raw"])
def test_development_splits_sizes_dtypes_and_pairing(tmp_path: Path, gz: bool) -> None:
    train, val = load_train(write_dataset(tmp_path / "d", gz=gz), validation_size=10)
    assert (len(train), len(val)) == (50, 10)
    for split in (train, val):
        assert split.images.dtype == torch.uint8 and split.labels.dtype == torch.int64
        assert split.images.shape == (len(split), 28, 28) and split.labels.shape == (len(split),)
        assert torch.equal(split.images[:, 0, 0].long(), split.labels)  # images keep their labels


@pytest.mark.parametrize("gz", [True, False], ids=["gz", "raw"])
def test_test_split(tmp_path: Path, gz: bool) -> None:
    test = load_test(write_dataset(tmp_path / "d", gz=gz))
    assert len(test) == TEST_N
    assert test.images.shape == (TEST_N, 28, 28) and test.images.dtype == torch.uint8
    assert test.labels.tolist() == synthetic_labels(TEST_N)
    assert test.images[:, 0, 1].tolist() == list(range(TEST_N))  # file order kept


def test_split_is_disjoint_and_covers_the_training_set(tmp_path: Path) -> None:
    train, val = load_train(write_dataset(tmp_path / "d"), validation_size=7)
    train_ids = set(train.images[:, 0, 1].tolist())
    val_ids = set(val.images[:, 0, 1].tolist())
    assert len(train_ids) == 53 and len(val_ids) == 7
    assert not train_ids & val_ids
    assert train_ids | val_ids == set(range(TRAIN_N))


def test_split_is_deterministic_per_seed(tmp_path: Path) -> None:
    folder = write_dataset(tmp_path / "d")
    ids = [load_train(folder, seed=seed)[1].images[:, 0, 1].tolist() for seed in (0, 0, 1)]
    assert ids[0] == ids[1]
    assert ids[0] != ids[2]


@pytest.mark.parametrize("size", [0, -1, TRAIN_N, TRAIN_N + 1])
def test_validation_size_out_of_range(tmp_path: Path, size: int) -> None:
    with pytest.raises(ValueError, match="validation_size"):
        load_train(write_dataset(tmp_path / "d"), validation_size=size)


def test_default_validation_size_is_5000() -> None:
    with pytest.raises(ValueError, match="5000"):  # the synthetic set is too small for it
        data.load_development_splits(download=False)


def test_tensors_are_writable_and_the_cache_is_not_shared(tmp_path: Path) -> None:
    folder = write_dataset(tmp_path / "d")
    test = load_test(folder)
    test.images[0, 0, 0] = 99
    test.labels[0] = 9
    again = load_test(folder)
    assert again.images[0, 0, 0] == 0 and again.labels[0] == 0
    train, _ = load_train(folder)
    train.images.zero_()
    assert load_train(folder)[0].images.any()


def test_repeated_loads_use_the_cache(tmp_path: Path) -> None:
    folder = write_dataset(tmp_path / "d")
    load_test(folder)
    hits = data._load_cached.cache_info().hits
    load_test(folder)
    assert data._load_cached.cache_info().hits == hits + 2


def test_a_changed_file_is_read_again(tmp_path: Path) -> None:
    folder = write_dataset(tmp_path / "d", gz=False)
    load_test(folder)
    (folder / TEST_LABELS).write_bytes(FILES[TEST_LABELS][:-1])
    with pytest.raises(data.DataCorruptError, match=TEST_LABELS):
        load_test(folder)


def test_split_rejects_mismatched_lengths() -> None:
    with pytest.raises(ValueError):
        data.Split(torch.zeros(3, 28, 28, dtype=torch.uint8), torch.zeros(2, dtype=torch.int64))


# --- finding -------------------------------------------------------------------------------


def test_torchvision_layout_is_accepted(tmp_path: Path) -> None:
    raw = write_dataset(tmp_path / "root" / "FashionMNIST" / "raw", gz=False)
    assert data.find_data_dir(tmp_path / "root") == raw
    assert len(load_test(tmp_path / "root")) == TEST_N


def test_raw_and_gz_side_by_side(tmp_path: Path) -> None:
    folder = write_dataset(write_dataset(tmp_path / "d", gz=True), gz=False)
    assert len(load_test(folder)) == TEST_N


def test_path_may_be_a_string(tmp_path: Path) -> None:
    folder = write_dataset(tmp_path / "d")
    assert data.find_data_dir(str(folder)) == folder


def test_search_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    explicit = write_dataset(tmp_path / "explicit")
    env = write_dataset(tmp_path / "env")
    project = write_dataset(data.PROJECT_DIR)
    system = write_dataset(data.SYSTEM_DIR)
    earlier_download = write_dataset(data.DOWNLOAD_ROOT / "FashionMNIST" / "raw")
    monkeypatch.setenv(data.ENV_VAR, str(env))

    assert data.find_data_dir(explicit) == explicit
    assert data.find_data_dir() == env
    monkeypatch.delenv(data.ENV_VAR)
    assert data.find_data_dir() == project
    monkeypatch.setattr(data, "SEARCH_DIRS", data.SEARCH_DIRS[1:])
    assert data.find_data_dir() == system
    monkeypatch.setattr(data, "SEARCH_DIRS", data.SEARCH_DIRS[1:])
    assert data.find_data_dir(download=False) == earlier_download
    monkeypatch.setattr(data, "SEARCH_DIRS", [])

    calls: list[Path] = []

    def fake_download(dest: Path) -> Path:
        calls.append(dest)
        return write_dataset(tmp_path / "fresh" / "FashionMNIST" / "raw")

    monkeypatch.setattr(data, "_download", fake_download)
    assert data.find_data_dir() == tmp_path / "fresh" / "FashionMNIST" / "raw"
    assert calls == [data.DOWNLOAD_ROOT]
    with pytest.raises(data.DataNotFoundError):
        data.find_data_dir(download=False)
    assert len(calls) == 1


def test_default_search_dirs_are_the_real_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.undo()  # the module as imported, not the isolated one
    root = Path(data.__file__).resolve().parent.parent
    assert data.PROJECT_DIR == root / "data" / "fashion-mnist"
    assert data.SYSTEM_DIR == Path("/usr/share/datasets/fashion-mnist")
    assert data.SEARCH_DIRS[:2] == [data.PROJECT_DIR, data.SYSTEM_DIR]
    assert data.ENV_VAR == "FASHION_MNIST_DIR"


def test_loaders_search_too(tmp_path: Path) -> None:
    write_dataset(data.SYSTEM_DIR)
    assert len(data.load_test_split_for_final_evaluation(download=False)) == TEST_N
    train, val = data.load_development_splits(validation_size=5, download=False)
    assert (len(train), len(val)) == (55, 5)


def test_wrong_explicit_path_does_not_fall_through(tmp_path: Path) -> None:
    write_dataset(data.PROJECT_DIR)
    with pytest.raises(data.DataNotFoundError, match="given path"):
        data.find_data_dir(tmp_path / "nowhere")


def test_wrong_env_var_does_not_fall_through(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_dataset(data.PROJECT_DIR)
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path / "nowhere"))
    with pytest.raises(data.DataNotFoundError, match=data.ENV_VAR):
        data.find_data_dir()


def test_message_names_only_the_missing_file(tmp_path: Path) -> None:
    folder = write_dataset(tmp_path / "d")
    (folder / f"{TEST_LABELS}.gz").unlink()
    with pytest.raises(data.DataNotFoundError) as caught:
        load_test(folder)
    message = str(caught.value)
    assert TEST_LABELS in message and TRAIN_LABELS not in message
    assert all(hint in message for hint in HOW_TO)


def test_nothing_found_without_download(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def must_not_download(dest: Path) -> Path:
        raise AssertionError("download=False must not download")

    monkeypatch.setattr(data, "_download", must_not_download)
    with pytest.raises(data.DataNotFoundError) as caught:
        data.load_development_splits(validation_size=5, download=False)
    assert isinstance(caught.value, FileNotFoundError)
    message = str(caught.value)
    assert all(name in message for name in FILES)
    assert all(hint in message for hint in HOW_TO)
    assert str(data.SYSTEM_DIR) in message


def test_failed_download_is_chained() -> None:
    with pytest.raises(data.DataNotFoundError, match="download failed") as caught:
        data.load_test_split_for_final_evaluation()
    assert isinstance(caught.value.__cause__, OSError)
    assert "apt-get install dataset-fashion-mnist" in str(caught.value)


# --- verification --------------------------------------------------------------------------


def images_with_count(name: str, count: int) -> bytes:
    return idx(data.IMAGES_MAGIC, (count, 28, 28), FILES[name][16 : 16 + count * 784])


def labels_changed(name: str, changes: dict[int, int]) -> bytes:
    labels = bytearray(FILES[name])
    for index, label in changes.items():
        labels[8 + index] = label
    return bytes(labels)


def pixel_changed(name: str) -> bytes:
    content = bytearray(FILES[name])
    content[-1] ^= 0xFF
    return bytes(content)


CORRUPTIONS: dict[str, tuple[str, Callable[[], bytes], str]] = {
    "images-bad-magic": (
        TRAIN_IMAGES,
        lambda: struct.pack(">I", 2049) + FILES[TRAIN_IMAGES][4:],
        "magic",
    ),
    "labels-bad-magic": (
        TEST_LABELS,
        lambda: b"\x00\x00\x08\x03" + FILES[TEST_LABELS][4:],
        "magic",
    ),
    "images-truncated": (TEST_IMAGES, lambda: FILES[TEST_IMAGES][:-100], "truncated"),
    "labels-truncated": (TRAIN_LABELS, lambda: FILES[TRAIN_LABELS][:-1], "truncated"),
    "header-truncated": (TEST_LABELS, lambda: FILES[TEST_LABELS][:6], "truncated"),
    "trailing-bytes": (TEST_IMAGES, lambda: FILES[TEST_IMAGES] + b"\x00", "too long"),
    "wrong-count": (TRAIN_IMAGES, lambda: images_with_count(TRAIN_IMAGES, 59), "count"),
    "wrong-image-size": (
        TEST_IMAGES,
        lambda: idx(data.IMAGES_MAGIC, (TEST_N, 28, 27), b"\x00" * TEST_N * 28 * 27),
        "28x28",
    ),
    "label-10": (TEST_LABELS, lambda: labels_changed(TEST_LABELS, {9: 10}), "out of range"),
    "label-counts": (TRAIN_LABELS, lambda: labels_changed(TRAIN_LABELS, {0: 1}), "label counts"),
    "images-checksum": (TRAIN_IMAGES, lambda: pixel_changed(TRAIN_IMAGES), "checksum"),
    "labels-checksum": (  # swapping two labels keeps the counts
        TEST_LABELS,
        lambda: labels_changed(TEST_LABELS, {0: 1, 1: 0}),
        "checksum",
    ),
}


@pytest.mark.parametrize("gz", [True, False], ids=["gz", "raw"])
@pytest.mark.parametrize("case", CORRUPTIONS)
def test_corrupt_file_is_named(tmp_path: Path, case: str, gz: bool) -> None:
    name, corrupt, problem = CORRUPTIONS[case]
    folder = write_dataset(tmp_path / "d", gz=gz, replace={name: corrupt()})
    load = load_train if name.startswith("train") else load_test
    with pytest.raises(data.DataCorruptError, match=problem) as caught:
        load(folder)
    assert isinstance(caught.value, ValueError)
    message = str(caught.value)
    assert name in message
    assert "apt-get install dataset-fashion-mnist" in message


def test_truncated_gzip_stream(tmp_path: Path) -> None:
    folder = write_dataset(tmp_path / "d")
    packed = folder / f"{TEST_IMAGES}.gz"
    packed.write_bytes(packed.read_bytes()[:-50])
    with pytest.raises(data.DataCorruptError, match=TEST_IMAGES):
        load_test(folder)


def test_not_gzip_at_all(tmp_path: Path) -> None:
    folder = write_dataset(tmp_path / "d")
    (folder / f"{TEST_LABELS}.gz").write_bytes(FILES[TEST_LABELS])
    with pytest.raises(data.DataCorruptError, match=TEST_LABELS):
        load_test(folder)


def test_checksums_can_be_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    unchecked = data.FileSpec(TRAIN_IMAGES, TRAIN_N, None)
    specs = {**SMALL_SPECS, "train": data.SplitSpec(unchecked, SMALL_SPECS["train"].labels)}
    monkeypatch.setattr(data, "SPECS", specs)
    folder = write_dataset(tmp_path / "d", replace={TRAIN_IMAGES: pixel_changed(TRAIN_IMAGES)})
    assert len(load_train(folder)[0]) == 50


# --- the real data -------------------------------------------------------------------------


def real_data_dir() -> Path:
    """The Debian copy; skip without it, or fail when KATA_REQUIRE_REAL_DATA=1."""
    if data._locate(data.SYSTEM_DIR) is None:
        reason = (
            f"Fashion-MNIST is not in {data.SYSTEM_DIR} (apt-get install dataset-fashion-mnist)"
        )
        if os.environ.get("KATA_REQUIRE_REAL_DATA") == "1":
            pytest.fail(f"KATA_REQUIRE_REAL_DATA=1 but {reason}")
        pytest.skip(reason)
    return data.SYSTEM_DIR


@pytest.mark.parametrize("required", ["1", None])
def test_real_data_dir_skips_or_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, required: str | None
) -> None:
    if required:
        monkeypatch.setenv("KATA_REQUIRE_REAL_DATA", required)
    else:
        monkeypatch.delenv("KATA_REQUIRE_REAL_DATA", raising=False)
    expected = pytest.fail.Exception if required else pytest.skip.Exception
    with pytest.raises(expected, match="apt-get install dataset-fashion-mnist"):
        real_data_dir()


@pytest.mark.real_data
def test_real_development_splits() -> None:
    train, val = data.load_development_splits(real_data_dir(), download=False)
    assert (len(train), len(val)) == (55_000, 5_000)
    assert train.images.shape == (55_000, 28, 28) and train.images.dtype == torch.uint8
    assert val.labels.shape == (5_000,) and val.labels.dtype == torch.int64
    both = torch.cat([train.labels, val.labels])
    assert torch.bincount(both).tolist() == [6_000] * 10


@pytest.mark.real_data
def test_real_test_split() -> None:
    test = data.load_test_split_for_final_evaluation(real_data_dir(), download=False)
    assert len(test) == 10_000
    assert test.images.shape == (10_000, 28, 28) and test.images.dtype == torch.uint8
    assert torch.bincount(test.labels).tolist() == [1_000] * 10
    assert len(data.CLASS_NAMES) == int(test.labels.max()) + 1


@pytest.mark.real_data
def test_real_files_match_the_known_checksums() -> None:
    folder = real_data_dir()
    for split in data.SPECS.values():
        for spec in (split.images, split.labels):
            path = folder / spec.name
            if not path.is_file():
                path = folder / f"{spec.name}.gz"
            unpacked = (
                gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
            )
            assert spec.sha256 is not None
            assert hashlib.sha256(unpacked).hexdigest() == spec.sha256, spec.name


@pytest.mark.real_data
def test_real_split_is_reproducible() -> None:
    folder = real_data_dir()
    first = data.load_development_splits(folder, seed=3, download=False)[1]
    second = data.load_development_splits(folder, seed=3, download=False)[1]
    assert torch.equal(first.images, second.images) and torch.equal(first.labels, second.labels)
