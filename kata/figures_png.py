"""The report's figures as matplotlib figures (Agg backend), saved as PNG beside the HTML.

They draw the same data as the plotly figures of `kata.figures`, for people who want a
picture in a document or an e-mail rather than the interactive page.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import PercentFormatter  # noqa: E402

from .figures import COLORS, parcoords_axes  # noqa: E402
from .importance import ENCODING_NOTE, StageImportance  # noqa: E402
from .report_files import Curve, Trial  # noqa: E402
from .summary import stage_epochs_text  # noqa: E402


def _figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _note(text: str) -> Figure:
    fig = _figure(7, 1.2)
    fig.text(0.5, 0.5, text, ha="center", va="center", wrap=True, fontsize=11)
    return fig


def parcoords_png(trials: list[Trial]) -> Figure:
    axes, _ = parcoords_axes(trials)
    if len(axes[-1].values) == 0:
        return _note("No measured trials: nothing to plot.")
    fig = _figure(max(8.0, 1.15 * len(axes) + 2), 5.2)
    ax = fig.add_subplot()
    scaled = []
    for axis in axes:
        lo, hi = axis.range or (min(axis.values), max(axis.values))
        span = (hi - lo) or 1.0
        scaled.append([(v - lo) / span for v in axis.values])
    rows = np.array(scaled).T
    accuracy = np.array(axes[-1].values)
    order = np.argsort(accuracy)  # best drawn last, on top
    xs = np.arange(len(axes))
    lines = LineCollection([np.column_stack([xs, rows[i]]) for i in order], cmap="viridis")
    lines.set_array(accuracy[order])
    lines.set_linewidth(1.6)
    ax.add_collection(lines)
    for x, axis in zip(xs, axes, strict=True):
        ax.axvline(x, color="#444", lw=0.8)
        lo, hi = axis.range or (min(axis.values), max(axis.values))
        span = (hi - lo) or 1.0
        if axis.tickvals is not None:
            ticks = list(zip(axis.tickvals, axis.ticktext, strict=True))
        else:
            ticks = [(v, f"{v:.3g}") for v in (lo, (lo + hi) / 2, hi)]
        for value, text in ticks:
            ax.text(x + 0.04, (value - lo) / span, text, fontsize=8, va="center", color="#222")
    ax.set_xlim(-0.2, len(axes) - 0.6)
    ax.set_ylim(-0.04, 1.04)
    ax.set_xticks(xs, [a.label for a in axes], rotation=30, ha="right", fontsize=9)
    ax.set_yticks([])
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    fig.colorbar(lines, ax=ax, label="validation accuracy", fraction=0.03)
    ax.set_title(f"Parallel coordinates: {len(accuracy)} measured trials")
    return fig


def best_per_stage_png(trials: list[Trial], stages: list[str]) -> Figure:
    fig = _figure(max(5.0, 1.6 * len(stages) + 2), 4)
    ax = fig.add_subplot()
    for x, stage in enumerate(stages):
        values = [t.val_accuracy for t in trials if t.stage == stage and t.measured]
        if values:
            jitter = np.linspace(-0.2, 0.2, len(values)) if len(values) > 1 else [0.0]
            ax.scatter(x + np.asarray(jitter), values, color="#555", s=18, alpha=0.5)
            ax.scatter([x], [max(values)], color="#d62728", marker="*", s=220, zorder=3)
            ax.annotate(
                f"{100 * max(values):.1f}%",
                (x, max(values)),
                xytext=(0, 9),
                textcoords="offset points",
                ha="center",
                color="#d62728",
            )
        else:
            ax.text(
                x, 0.5, "no result", ha="center", color="#a00", transform=ax.get_xaxis_transform()
            )
    labels = []
    for stage in stages:
        labels.append(f"{stage}\n({stage_epochs_text(trials, stage)})")
    ax.set_xticks(range(len(stages)), labels)
    ax.set_xlim(-0.6, len(stages) - 0.4)
    ax.margins(y=0.15)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylabel("validation accuracy")
    ax.set_title("Validation accuracy per stage: every measured trial, best starred")
    return fig


def importance_png(result: StageImportance) -> Figure:
    rows = result.ranked()[::-1]
    fig = _figure(9, 1.6 + 0.32 * len(rows))
    left, right = fig.subplots(1, 2, sharey=True)
    names = [r[0] for r in rows]
    left.barh(names, [r[1] for r in rows], color="#1f77b4")
    left.set_title("importance (random forest)", fontsize=10)
    right.barh(
        names, [r[2] for r in rows], color=["#2ca02c" if r[2] >= 0 else "#d62728" for r in rows]
    )
    right.set_xlim(-1, 1)
    right.set_xticks([-1, -0.5, 0, 0.5, 1])  # matplotlib's own ticks crowd a narrow panel
    right.axvline(0, color="#666", lw=0.8)
    right.set_title("correlation with val accuracy (Pearson)", fontsize=10)
    fig.suptitle(f"Stage {result.stage}: {result.n_trials} measured trials")
    fig.text(0.01, 0.0, ENCODING_NOTE, fontsize=7.5, color="#555", va="bottom")
    fig.get_layout_engine().set(h_pad=0.25)
    return fig


def curves_png(curves: list[Curve]) -> Figure:
    fig = _figure(9, 4.8)
    ax = fig.add_subplot()
    for i, curve in enumerate(curves):
        final = curve.key == "final"
        color = "#111" if final else COLORS[i % len(COLORS)]
        epochs = [p["epoch"] for p in curve.history]
        for metric, style in (("val_accuracy", "-"), ("train_accuracy", "--")):
            points = [(e, p[metric]) for e, p in zip(epochs, curve.history, strict=True)]
            points = [(e, v) for e, v in points if v is not None]
            if points:
                x, y = zip(*points, strict=True)
                label = f"{curve.label} ({metric.split('_')[0]})"
                ax.plot(
                    x,
                    y,
                    style,
                    color=color,
                    marker="o",
                    ms=3,
                    lw=2.5 if final else 1.5,
                    label=label,
                )
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy")
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.grid(alpha=0.3)
    ax.set_title("Learning curves (solid: validation, dashed: training)")
    if curves:
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return fig


def confusion_png(matrix: list[list[int]], class_names: list[str]) -> Figure:
    counts = np.array(matrix)
    shares = counts / np.maximum(1, counts.sum(axis=1, keepdims=True))
    fig = _figure(8, 7)
    ax = fig.add_subplot()
    image = ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for i in range(counts.shape[0]):
        for j in range(counts.shape[1]):
            color = "white" if shares[i, j] > 0.6 else "black"
            ax.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=8, color=color)
    ax.set_xticks(range(len(class_names)), class_names, rotation=40, ha="right")
    ax.set_yticks(range(len(class_names)), class_names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    fig.colorbar(image, ax=ax, label="share of the true class", fraction=0.046)
    ax.set_title("Confusion matrix on the test set (counts)")
    return fig


def samples_png(images: np.ndarray, true: list[int], predicted: list[int], names: list[str]):
    columns = 5
    rows = max(1, -(-len(images) // columns))
    fig = _figure(2.2 * columns, 2.6 * rows)
    grid = fig.subplots(rows, columns, squeeze=False)
    for k, ax in enumerate(grid.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if k >= len(images):
            ax.set_axis_off()
            continue
        ax.imshow(images[k], cmap="gray_r", vmin=0, vmax=255)
        wrong = true[k] != predicted[k]
        color = "#c00" if wrong else "#222"
        text = f"predicted: {names[predicted[k]]}\ntrue: {names[true[k]]}"
        ax.set_title(("✗ " if wrong else "") + text, fontsize=9, color=color)
        for spine in ax.spines.values():
            spine.set_color("#c00" if wrong else "#999")
            spine.set_linewidth(3 if wrong else 1)
    fig.suptitle("Ten random test images (red: wrongly classified)")
    return fig


def image_png(image: np.ndarray) -> bytes:
    """One 28x28 image as PNG bytes (dark on light, as the figure shows it)."""
    buffer = io.BytesIO()
    plt.imsave(buffer, image, cmap="gray_r", vmin=0, vmax=255, format="png")
    return buffer.getvalue()
