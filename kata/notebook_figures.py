"""The notebooks' own figures (the report's are in `kata.figures_png`): matplotlib figures
made without pyplot, so they never change the notebook's plotting backend."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from matplotlib.figure import Figure

from .data import CLASS_NAMES


def _figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _blank(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])


def _image(tensor: torch.Tensor) -> np.ndarray:
    """(28, 28) or (1, 28, 28), uint8 or float, as a 2-D numpy array."""
    return tensor.detach().cpu().reshape(tensor.shape[-2:]).float().numpy()


def class_grid(images: torch.Tensor, labels: torch.Tensor, per_class: int = 8) -> Figure:
    """The first `per_class` images of each class, a row per class."""
    fig = _figure(1.1 * per_class + 1.4, 11)
    grid = fig.subplots(len(CLASS_NAMES), per_class, squeeze=False)
    for row, name in enumerate(CLASS_NAMES):
        index = torch.nonzero(labels == row).flatten()[:per_class]
        for col, ax in enumerate(grid[row]):
            _blank(ax)
            if col < len(index):
                ax.imshow(_image(images[index[col]]), cmap="gray_r", vmin=0, vmax=255)
        grid[row][0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=10)
    fig.suptitle("Fashion-MNIST: the first training images of each class")
    return fig


def mean_std_figure(mean: torch.Tensor, std: torch.Tensor) -> Figure:
    """The per-pixel mean and standard deviation images, on the 0-1 scale of the statistics."""
    fig = _figure(9, 4)
    for ax, (title, image) in zip(
        fig.subplots(1, 2), (("per-pixel mean", mean), ("per-pixel std", std)), strict=True
    ):
        shown = ax.imshow(_image(image), cmap="magma")
        _blank(ax)
        ax.set_title(title)
        fig.colorbar(shown, ax=ax, fraction=0.046, label="pixel value (0-1 scale)")
    fig.suptitle("Statistics of the 55,000 training images")
    return fig


def standardised_figure(raw: torch.Tensor, standardised: torch.Tensor) -> Figure:
    """Images as stored (0-1) above the same images standardised (what the network sees),
    the latter on a diverging scale clipped to ±3 standard deviations."""
    columns = len(raw)
    fig = _figure(1.3 * columns + 1.8, 3.4)
    grid = fig.subplots(2, columns, squeeze=False)
    for k in range(columns):
        grid[0][k].imshow(_image(raw[k]), cmap="gray_r", vmin=0, vmax=1)
        shown = grid[1][k].imshow(_image(standardised[k]), cmap="RdBu_r", vmin=-3, vmax=3)
        _blank(grid[0][k])
        _blank(grid[1][k])
    grid[0][0].set_ylabel("raw", rotation=0, ha="right", va="center")
    grid[1][0].set_ylabel("standardised", rotation=0, ha="right", va="center")
    fig.colorbar(shown, ax=grid[1].tolist(), fraction=0.02, label="std from the pixel mean")
    fig.suptitle("What the network sees: each pixel relative to its training mean and std")
    return fig


def augmentation_grid(
    originals: torch.Tensor, views: Mapping[str, Sequence[torch.Tensor]]
) -> Figure:
    """A row of originals, then for each augmentation rows of augmented views of them.

    `views[name][k]` is a batch like `originals`: the k-th random view of every image.
    """
    rows = [("original", originals)] + [
        (f"{name} #{k + 1}", batch)
        for name, batches in views.items()
        for k, batch in enumerate(batches)
    ]
    columns = len(originals)
    fig = _figure(1.2 * columns + 1.6, 1.2 * len(rows) + 0.6)
    grid = fig.subplots(len(rows), columns, squeeze=False)
    for (label, batch), axes in zip(rows, grid, strict=True):
        for image, ax in zip(batch, axes, strict=True):
            ax.imshow(_image(image), cmap="gray_r")
            _blank(ax)
        axes[0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
    fig.suptitle("Training images and random augmented views of them")
    return fig


def activation_figure(activations: Mapping[str, torch.nn.Module]) -> Figure:
    """Each activation module's curve over [-5, 5]."""
    x = torch.linspace(-5, 5, 401)
    fig = _figure(7, 3.8)
    ax = fig.add_subplot()
    with torch.no_grad():
        for name, module in activations.items():
            ax.plot(x.numpy(), module(x).numpy(), lw=2, label=name)
    ax.axhline(0, color="#999", lw=0.8)
    ax.axvline(0, color="#999", lw=0.8)
    ax.set_xlabel("input")
    ax.set_ylabel("output")
    ax.legend()
    ax.grid(alpha=0.3)
    ax.set_title("The activation functions")
    return fig
