"""The report's interactive figures (plotly), and the data they share with the PNGs.

Each `*_figure` function builds a `plotly.graph_objects.Figure` from the job's data; the
matplotlib versions in `kata.figures_png` draw the same data. `parcoords_axes` is the one
place that decides the parallel-coordinates axes, so both versions agree.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .importance import ENCODING_NOTE, StageImportance
from .report_files import BOOLEAN_PARAMS, HYPERPARAMETERS, Curve, Trial
from .summary import stage_epochs_text

ACTIVATION_ORDER = ("sigmoid", "tanh", "ReLU")
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")
COLORS += ("#7f7f7f", "#bcbd22", "#17becf")
# Plotly renders a subset of HTML in its text and decodes entities: text from the job's files
# goes in escaped, so it shows as written.
esc = html.escape

FONT = dict(family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif", size=13)


@dataclass(frozen=True)
class Axis:
    """One parallel-coordinates axis: plotted values, and tick labels where they are coded."""

    name: str
    label: str
    values: list[float]
    tickvals: list[float] | None = None
    ticktext: list[str] | None = None
    range: tuple[float, float] | None = None
    tickformat: str | None = None  # d3 format of a continuous axis


def _levels(param: str, values: list) -> list:
    if param in BOOLEAN_PARAMS:
        return [False, True]
    if param == "activationFunction":
        known = [a for a in ACTIVATION_ORDER if a in values]
        return known + sorted(set(values) - set(known), key=str)
    return sorted(set(values))


def _log_ticks(lo: float, hi: float) -> tuple[list[float], list[str]]:
    ticks = list(range(math.floor(lo), math.ceil(hi) + 1))
    return [float(t) for t in ticks], [f"1e{t}" for t in ticks]


def parcoords_axes(trials: list[Trial]) -> tuple[list[Axis], list[str]]:
    """Axes over the measured trials' varying hyperparameters, then validation accuracy.

    Returns the axes and the names of the hyperparameters left out for being constant.
    Categorical, boolean and discrete numeric values are coded 0, 1, ... with their values
    as tick labels; the learning rate is on a log10 axis; dropout is plotted as it is.
    """
    measured = [t for t in trials if t.measured]
    axes, constant = [], []
    for param in HYPERPARAMETERS:
        values = [t.params[param] for t in measured]
        if len(set(values)) < 2:
            constant.append(param)
            continue
        if param == "learningRate":
            logs = [math.log10(v) for v in values]
            tickvals, ticktext = _log_ticks(min(logs), max(logs))
            rng = (tickvals[0], tickvals[-1])
            axes.append(Axis(param, "learningRate (log10)", logs, tickvals, ticktext, rng))
        elif param == "dropoutProbability":
            axes.append(Axis(param, param, [float(v) for v in values], tickformat=".2f"))
        else:
            levels = _levels(param, values)
            codes = [float(levels.index(v)) for v in values]
            text = [f"{v:g}" if isinstance(v, float) else str(v) for v in levels]
            ticks = [float(i) for i in range(len(levels))]
            axes.append(Axis(param, param, codes, ticks, text, (0.0, len(levels) - 1.0)))
    accuracy = [t.val_accuracy for t in measured]
    axes.append(Axis("val_accuracy", "val accuracy", accuracy, tickformat=".1%"))
    return axes, constant


def _layout(fig: go.Figure, title: str, height: int, **kwargs) -> go.Figure:
    fig.update_layout(
        title=dict(text=title, x=0.01, xanchor="left"),
        height=height,
        font=FONT,
        template="plotly_white",
        margin=kwargs.pop("margin", dict(l=60, r=30, t=60, b=50)),
        **kwargs,
    )
    return fig


def parcoords_figure(trials: list[Trial]) -> go.Figure:
    axes, _ = parcoords_axes(trials)
    dimensions = []
    for axis in axes:
        dimension = dict(label=axis.label, values=axis.values)
        if axis.tickvals is not None:
            dimension.update(tickvals=axis.tickvals, ticktext=axis.ticktext)
        if axis.range is not None:
            dimension.update(range=list(axis.range))
        if axis.tickformat is not None:
            dimension.update(tickformat=axis.tickformat)
        dimensions.append(dimension)
    accuracy = axes[-1].values
    line = dict(
        color=accuracy,
        colorscale="Viridis",
        showscale=True,
        colorbar=dict(title=dict(text="val acc"), tickformat=".0%", x=0.97),
    )
    fig = go.Figure(
        go.Parcoords(line=line, dimensions=dimensions, labelangle=-25, domain=dict(x=[0, 0.9]))
    )
    title = f"Parallel coordinates: {len(accuracy)} measured trials, coloured by val accuracy"
    return _layout(fig, title, 520, margin=dict(l=70, r=40, t=130, b=40))


def best_per_stage_figure(trials: list[Trial], stages: list[str]) -> go.Figure:
    """Every measured trial as a point per stage; the best one marked and labelled."""
    fig = go.Figure()
    names = []
    for x, stage in enumerate(stages):
        measured = [t for t in trials if t.stage == stage and t.measured]
        names.append(f"{esc(stage)}<br>({stage_epochs_text(trials, stage)})")
        spread = (
            [0.0]
            if len(measured) < 2
            else [-0.2 + 0.4 * i / (len(measured) - 1) for i in range(len(measured))]
        )
        fig.add_trace(
            go.Scatter(
                x=[x + dx for dx in spread],
                y=[t.val_accuracy for t in measured],
                mode="markers",
                marker=dict(color="#555", size=8, opacity=0.5),
                name="measured trial",
                legendgroup="trials",
                showlegend=x == 0,
                text=[esc(t.trial) for t in measured],
                hovertemplate="%{text}: %{y:.1%}<extra></extra>",
            )
        )
        best = max(measured, key=lambda t: t.val_accuracy, default=None)
        if best is not None:
            fig.add_trace(
                go.Scatter(
                    x=[x],
                    y=[best.val_accuracy],
                    mode="markers+text",
                    marker=dict(color="#d62728", size=16, symbol="star"),
                    text=[f"{100 * best.val_accuracy:.1f}%"],
                    textposition="top center",
                    textfont=dict(size=14, color="#d62728"),
                    name="best of the stage",
                    legendgroup="best",
                    showlegend=not any(t.legendgroup == "best" for t in fig.data),
                    customdata=[esc(best.trial)],
                    hovertemplate="best: %{customdata}, %{y:.1%}<extra></extra>",
                )
            )
    fig.update_xaxes(
        tickvals=list(range(len(stages))), ticktext=names, range=[-0.6, len(stages) - 0.2]
    )
    fig.update_yaxes(title="validation accuracy", tickformat=".0%")
    return _layout(fig, "Validation accuracy per stage: every measured trial, best starred", 420)


def importance_figure(result: StageImportance) -> go.Figure:
    rows = result.ranked()[::-1]  # most important at the top
    names = [r[0] for r in rows]
    fig = make_subplots(
        rows=1,
        cols=2,
        shared_yaxes=True,
        horizontal_spacing=0.04,
        subplot_titles=("importance (random forest)", "correlation with val accuracy"),
    )
    fig.add_trace(
        go.Bar(
            y=names,
            x=[r[1] for r in rows],
            orientation="h",
            marker_color="#1f77b4",
            texttemplate="%{x:.2f}",
            textposition="outside",
            name="importance",
            showlegend=False,
        ),
        1,
        1,
    )
    fig.add_trace(
        go.Bar(
            y=names,
            x=[r[2] for r in rows],
            orientation="h",
            marker_color=["#2ca02c" if r[2] >= 0 else "#d62728" for r in rows],
            texttemplate="%{x:+.2f}",
            textposition="outside",
            name="correlation",
            showlegend=False,
        ),
        1,
        2,
    )
    top = max((r[1] for r in rows), default=1.0)
    fig.update_xaxes(range=[0, top * 1.3 + 1e-9], row=1, col=1)
    fig.update_xaxes(range=[-1.35, 1.35], zeroline=True, zerolinecolor="#888", row=1, col=2)
    fig.add_annotation(
        text=ENCODING_NOTE,
        xref="paper",
        yref="paper",
        x=0,
        y=-0.02,
        yanchor="top",
        yshift=-10,
        showarrow=False,
        font=dict(size=11, color="#555"),
    )
    stage, n = esc(result.stage), result.n_trials
    title = f"Stage {stage}: hyperparameter importance ({n} measured trials)"
    height = 170 + 26 * len(rows)
    return _layout(fig, title, height, margin=dict(l=200, r=30, t=80, b=60))


def curves_figure(curves: list[Curve]) -> go.Figure:
    fig = go.Figure()
    for i, curve in enumerate(curves):
        final = curve.key == "final"
        color = "#111" if final else COLORS[i % len(COLORS)]
        epochs = [p["epoch"] for p in curve.history]
        for metric, dash in (("val_accuracy", "solid"), ("train_accuracy", "dash")):
            values = [p[metric] for p in curve.history]
            if all(v is None for v in values):
                continue
            fig.add_trace(
                go.Scatter(
                    x=epochs,
                    y=values,
                    mode="lines+markers",
                    name=f"{esc(curve.label)} ({metric.split('_')[0]})",
                    legendgroup=curve.key,
                    line=dict(color=color, dash=dash, width=3 if final else 2),
                    marker=dict(size=6),
                    hovertemplate="epoch %{x}: %{y:.1%}<extra>%{fullData.name}</extra>",
                )
            )
    fig.update_xaxes(title="epoch")
    fig.update_yaxes(title="accuracy", tickformat=".0%")
    title = "Learning curves of the best runs and the final training (solid: val, dashed: train)"
    return _layout(fig, title, 480, legend=dict(font=dict(size=11)))


def confusion_figure(matrix: list[list[int]], class_names: list[str]) -> go.Figure:
    shares = [[n / max(1, sum(row)) for n in row] for row in matrix]
    fig = go.Figure(
        go.Heatmap(
            z=shares,
            x=[esc(n) for n in class_names],
            y=[esc(n) for n in class_names],
            text=matrix,
            texttemplate="%{text}",
            colorscale="Blues",
            zmin=0,
            zmax=1,
            colorbar=dict(title=dict(text="share of row"), tickformat=".0%"),
            hovertemplate="true %{y}, predicted %{x}: %{text} (%{z:.1%} of the row)<extra></extra>",
        )
    )
    fig.update_xaxes(title="predicted class", side="bottom", tickangle=-35)
    fig.update_yaxes(title="true class", autorange="reversed", scaleanchor="x", constrain="domain")
    title = "Confusion matrix on the test set (counts; colour: share of the true class)"
    return _layout(fig, title, 700, width=780, margin=dict(l=120, r=30, t=90, b=120))
