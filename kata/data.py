"""Find, verify and load Fashion-MNIST.

The data is looked for, in this order, in:

1. the ``path`` passed by the caller,
2. the folder named by the environment variable ``FASHION_MNIST_DIR``,
3. the project's data folder ``data/fashion-mnist``,
4. the Debian package's folder ``/usr/share/datasets/fashion-mnist``
   (``apt-get install dataset-fashion-mnist``),
5. an earlier torchvision download in ``data/FashionMNIST/raw``,
6. a torchvision download (only with ``download=True``; needs network).

Every file is checked (magic number, sizes, labels, SHA-256 of the unpacked bytes) before it
is used. Training code gets a fixed train/validation split of the 60,000 training images with
:func:`load_development_splits`; the 10,000 test images are only handed out by
:func:`load_test_split_for_final_evaluation`.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import math
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import torch

CLASS_NAMES: tuple[str, ...] = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
NUM_CLASSES = len(CLASS_NAMES)
IMAGE_SHAPE = (28, 28)

ENV_VAR = "FASHION_MNIST_DIR"
SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")
PROJECT_DIR = Path(__file__).resolve().parent.parent / "data" / "fashion-mnist"
#: torchvision downloads into ``DOWNLOAD_ROOT / "FashionMNIST" / "raw"``.
DOWNLOAD_ROOT = PROJECT_DIR.parent
#: Folders searched (at call time) after the explicit path and the environment variable.
SEARCH_DIRS: list[Path] = [PROJECT_DIR, SYSTEM_DIR, DOWNLOAD_ROOT]

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049


@dataclass(frozen=True)
class FileSpec:
    """What one IDX file must hold: its name, item count and SHA-256 of the unpacked bytes."""

    name: str
    count: int
    sha256: str | None  # None skips the checksum (used by tests on synthetic files)


@dataclass(frozen=True)
class SplitSpec:
    """The image and label files of one split; each class must have ``count / 10`` items."""

    images: FileSpec
    labels: FileSpec


#: Looked up at call time, so tests can swap in specs for small synthetic files.
SPECS: dict[str, SplitSpec] = {
    "train": SplitSpec(
        FileSpec(
            "train-images-idx3-ubyte",
            60_000,
            "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        ),
        FileSpec(
            "train-labels-idx1-ubyte",
            60_000,
            "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        ),
    ),
    "test": SplitSpec(
        FileSpec(
            "t10k-images-idx3-ubyte",
            10_000,
            "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        ),
        FileSpec(
            "t10k-labels-idx1-ubyte",
            10_000,
            "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        ),
    ),
}


@dataclass(frozen=True)
class Split:
    """Images (uint8, ``(N, 28, 28)``) and their labels (int64, ``(N,)``)."""

    images: torch.Tensor
    labels: torch.Tensor

    def __post_init__(self) -> None:
        if len(self.images) != len(self.labels):
            raise ValueError(f"{len(self.images)} images but {len(self.labels)} labels")

    def __len__(self) -> int:
        return len(self.labels)


class DataNotFoundError(FileNotFoundError):
    """Fashion-MNIST files are missing; the message says which and how to get them."""


class DataCorruptError(ValueError):
    """A Fashion-MNIST file is damaged or not the expected one; the message says which."""


def _how_to_get() -> str:
    return (
        "How to get Fashion-MNIST:\n"
        "  - Debian/Ubuntu: `apt-get install dataset-fashion-mnist`"
        f" (installs it in {SYSTEM_DIR})\n"
        f"  - or put the files in a folder and set {ENV_VAR}=/that/folder, or pass its path\n"
        "  - or let torchvision download it (download=True, needs network) into "
        f"{DOWNLOAD_ROOT / 'FashionMNIST' / 'raw'}"
    )


def _file_names() -> list[str]:
    return [f.name for spec in SPECS.values() for f in (spec.images, spec.labels)]


def _missing(folder: Path) -> list[str]:
    """Names of the files that ``folder`` holds neither as ``name`` nor as ``name.gz``."""
    return [
        name
        for name in _file_names()
        if not (folder / name).is_file() and not (folder / f"{name}.gz").is_file()
    ]


def _locate(folder: Path) -> Path | None:
    """``folder`` or its torchvision-style ``FashionMNIST/raw`` subfolder, if it holds the files."""
    for candidate in (folder, folder / "FashionMNIST" / "raw"):
        if not _missing(candidate):
            return candidate
    return None


def _not_found(where: str, folder: Path) -> DataNotFoundError:
    missing = ", ".join(f"{name}[.gz]" for name in _missing(folder))
    return DataNotFoundError(f"{where} {folder} lacks {missing}\n{_how_to_get()}")


def _download(dest: Path) -> Path:
    """Download Fashion-MNIST with torchvision into ``dest``; return the folder of raw files."""
    from torchvision.datasets import FashionMNIST

    FashionMNIST(str(dest), train=True, download=True)  # fetches all four files
    return dest / "FashionMNIST" / "raw"


def find_data_dir(path: str | Path | None = None, *, download: bool = True) -> Path:
    """Return the folder that holds the four Fashion-MNIST files (see the module docstring).

    An explicit ``path`` or a set ``FASHION_MNIST_DIR`` must hold the files: if it does not,
    :class:`DataNotFoundError` is raised without looking anywhere else.
    """
    if path is not None:
        folder = Path(path).expanduser()
        found = _locate(folder)
        if found is None:
            raise _not_found("The given path", folder)
        return found
    env = os.environ.get(ENV_VAR)
    if env:
        folder = Path(env).expanduser()
        found = _locate(folder)
        if found is None:
            raise _not_found(f"{ENV_VAR} is set, but", folder)
        return found
    for folder in SEARCH_DIRS:
        found = _locate(folder)
        if found is not None:
            return found
    searched = ", ".join(str(folder) for folder in SEARCH_DIRS)
    names = ", ".join(f"{name}[.gz]" for name in _file_names())
    message = f"Fashion-MNIST not found: none of {searched} holds {names}"
    if not download:
        raise DataNotFoundError(f"{message} (and download=False)\n{_how_to_get()}")
    try:
        folder = _download(DOWNLOAD_ROOT)
    except Exception as exc:
        raise DataNotFoundError(
            f"{message}, and the download failed: {exc}\n{_how_to_get()}"
        ) from exc
    found = _locate(folder)
    if found is None:
        raise _not_found("After the download,", folder)
    return found


def _corrupt(path: Path, problem: str) -> DataCorruptError:
    return DataCorruptError(f"{path}: {problem}. Replace it with a fresh copy.\n{_how_to_get()}")


def _read_unpacked(path: Path) -> bytes:
    if path.suffix != ".gz":
        return path.read_bytes()
    try:
        with gzip.open(path, "rb") as f:
            return f.read()
    except (OSError, EOFError, zlib.error) as exc:
        raise _corrupt(path, f"cannot be unpacked ({exc})") from exc


def _parse_idx(path: Path, data: bytes, magic: int) -> tuple[tuple[int, ...], memoryview]:
    """Check an IDX header and length; return the dimensions and the payload."""
    ndim = 3 if magic == IMAGES_MAGIC else 1
    header_size = 4 * (1 + ndim)
    if len(data) < header_size:
        raise _corrupt(path, f"is truncated: {len(data)} bytes, shorter than its header")
    (found_magic,) = struct.unpack(">I", data[:4])
    if found_magic != magic:
        raise _corrupt(path, f"bad magic number {found_magic} (expected {magic})")
    dims = struct.unpack(f">{ndim}I", data[4:header_size])
    expected = header_size + math.prod(dims)
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "too long"
        raise _corrupt(path, f"is {what}: {len(data)} bytes, its header {dims} needs {expected}")
    return dims, memoryview(data)[header_size:]


@functools.lru_cache(maxsize=8)
def _load_cached(path: Path, mtime_ns: int, size: int, spec: FileSpec, magic: int) -> torch.Tensor:
    """Read, verify and convert one IDX file; keyed by its stat so changed files are re-read."""
    data = _read_unpacked(path)
    dims, payload = _parse_idx(path, data, magic)
    if dims[0] != spec.count:
        raise _corrupt(path, f"wrong count: holds {dims[0]} items, expected {spec.count}")
    tensor = torch.frombuffer(bytearray(payload), dtype=torch.uint8)
    if magic == IMAGES_MAGIC:
        if tuple(dims[1:]) != IMAGE_SHAPE:
            raise _corrupt(path, f"images are {dims[1]}x{dims[2]}, expected 28x28")
        tensor = tensor.reshape(dims)
    else:
        if int(tensor.max()) >= NUM_CLASSES:
            raise _corrupt(path, f"label {int(tensor.max())} is out of range 0..9")
        tensor = tensor.to(torch.int64)
        counts = torch.bincount(tensor, minlength=NUM_CLASSES).tolist()
        if counts != [spec.count // NUM_CLASSES] * NUM_CLASSES:
            raise _corrupt(
                path,
                f"wrong label counts {counts}, expected {spec.count // NUM_CLASSES} per class",
            )
    if spec.sha256 is not None:
        digest = hashlib.sha256(data).hexdigest()
        if digest != spec.sha256:
            raise _corrupt(path, f"wrong checksum: SHA-256 {digest}, expected {spec.sha256}")
    return tensor


def _load_file(folder: Path, spec: FileSpec, magic: int) -> torch.Tensor:
    raw, packed = folder / spec.name, folder / f"{spec.name}.gz"
    path = (raw if raw.is_file() else packed).resolve()
    stat = path.stat()
    return _load_cached(path, stat.st_mtime_ns, stat.st_size, spec, magic)


def _load_split(name: str, path: str | Path | None, download: bool) -> Split:
    folder = find_data_dir(path, download=download)
    spec = SPECS[name]
    images = _load_file(folder, spec.images, IMAGES_MAGIC)
    labels = _load_file(folder, spec.labels, LABELS_MAGIC)
    if len(images) != len(labels):
        raise _corrupt(folder / spec.labels.name, f"{len(labels)} labels for {len(images)} images")
    return Split(images, labels)


def load_development_splits(
    path: str | Path | None = None,
    *,
    validation_size: int = 5000,
    seed: int = 0,
    download: bool = True,
) -> tuple[Split, Split]:
    """Return ``(train, validation)``: the 60,000 training images split at random by ``seed``.

    The last ``validation_size`` indices of a seeded permutation form the validation split,
    the rest the training split (55,000 / 5,000 by default). The same seed gives the same split.
    """
    total = SPECS["train"].images.count
    if not 0 < validation_size < total:
        raise ValueError(
            f"validation_size must be between 1 and {total - 1}, not {validation_size}"
        )
    full = _load_split("train", path, download)
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(full), generator=generator)
    train_idx, val_idx = order[:-validation_size], order[-validation_size:]
    return (
        Split(full.images[train_idx], full.labels[train_idx]),
        Split(full.images[val_idx], full.labels[val_idx]),
    )


def load_test_split_for_final_evaluation(
    path: str | Path | None = None, *, download: bool = True
) -> Split:
    """Return the 10,000 test images. Use them once, for the final evaluation, never to tune."""
    test = _load_split("test", path, download)
    return Split(test.images.clone(), test.labels.clone())  # keep the cached copy pristine
