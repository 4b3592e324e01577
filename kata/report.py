"""The job's report: one self-contained HTML page and the same figures as PNG files.

`write_report(job_dir)` reads the job folder's trials.csv, curves.json, metrics.json and
test_samples.npz (their format: `kata.report_files`), and writes `report.html` and
`figures/*.png` there. It is a pure function of those files, so a report can always be
rebuilt: `python -m kata.report JOB_DIR`. Every file is written to a temporary name and
then renamed, so an interrupted report never leaves half a file; the HTML is written last.

The page opens offline: plotly's JavaScript is embedded once, images are data: URIs, and
nothing is fetched from the network. All text from the files is HTML-escaped.
"""

from __future__ import annotations

import argparse
import base64
import html
import io
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio
from matplotlib.figure import Figure

from . import figures, figures_png
from .importance import importance_by_stage
from .report_files import HYPERPARAMETERS, JobFiles, ReportError, read_job
from .summary import pct, summarise

__all__ = ["ReportError", "write_report", "render_html"]

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0;
       color: #222; background: #f6f7f9; line-height: 1.45; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 32px 64px; background: #fff; }
h1 { margin: 0 0 4px; font-size: 1.7em; }
h2 { margin-top: 2.2em; border-bottom: 2px solid #e3e6ea; padding-bottom: 4px; }
.meta { color: #666; margin: 0 0 20px; font-size: 0.92em; }
.headline { display: flex; gap: 40px; align-items: center; flex-wrap: wrap;
            background: #eef5fb; border-radius: 10px; padding: 18px 26px; }
.big { font-size: 3.2em; font-weight: 700; color: #0b5394; line-height: 1.1; }
.big small { display: block; font-size: 0.3em; font-weight: 500; color: #345; }
.headline p { margin: 4px 0; }
.protocol { font-style: italic; color: #345; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 0.92em; }
th, td { border: 1px solid #dde1e6; padding: 4px 10px; text-align: left; }
th { background: #f2f4f7; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.tables { display: flex; gap: 40px; flex-wrap: wrap; align-items: flex-start; }
.note { background: #fff7e0; border-left: 4px solid #e0a800; padding: 8px 14px; }
.figure { margin: 12px 0 4px; }
.png { font-size: 0.85em; color: #666; margin: 0 0 18px; }
.summary p { margin: 14px 0 4px; }
.summary ul { margin: 0; padding-left: 22px; }
.summary li { margin: 2px 0; }
.samples { display: flex; flex-wrap: wrap; gap: 14px; }
.sample { width: 170px; text-align: center; font-size: 0.86em; border: 2px solid #ccd;
          border-radius: 6px; padding: 8px 4px; }
.sample img { width: 112px; height: 112px; image-rendering: pixelated; display: block;
              margin: 0 auto 6px; }
.sample.wrong { border: 3px solid #c00; background: #fff2f2; }
.sample.wrong .pred { color: #c00; font-weight: 700; }
details summary { cursor: pointer; color: #0b5394; }
tr.failed td { color: #a00; }
"""

PNG_NAMES = {
    "best": "best_per_stage.png",
    "parcoords": "parallel_coordinates.png",
    "curves": "learning_curves.png",
    "confusion": "confusion_matrix.png",
    "samples": "test_samples.png",
}


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _atomic_write(path: Path, data: bytes) -> None:
    """Write to a temporary file beside `path`, then rename it over `path`."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temp.write_bytes(data)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _png_bytes(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def _stage_file(stage: str) -> str:
    return "importance_" + re.sub(r"[^A-Za-z0-9_-]", "_", stage) + ".png"


class _Page:
    """Collects the page's parts; plotly's JavaScript goes in with the first figure only."""

    def __init__(self, with_pngs: bool) -> None:
        self.parts: list[str] = []
        self.pngs: dict[str, bytes] = {}
        self.with_pngs = with_pngs
        self._plotly_embedded = False

    def add(self, text: str) -> None:
        self.parts.append(text)

    def note(self, text: str) -> None:
        self.add(f'<p class="note">{esc(text)}</p>')

    def figure(self, name: str, fig: go.Figure, png_name: str, png: Callable[[], Figure]) -> None:
        config = {"displaylogo": False, "responsive": True}
        div = pio.to_html(
            fig,
            full_html=False,
            include_plotlyjs=not self._plotly_embedded,
            div_id=f"fig-{name}",
            config=config,
        )
        self._plotly_embedded = True
        self.add(f'<div class="figure">{div}</div>')
        self.png(png_name, png)

    def png(self, png_name: str, png: Callable[[], Figure]) -> None:
        """Link to figures/png_name; draw it (matplotlib) only when PNGs are wanted."""
        if self.with_pngs:
            self.pngs[png_name] = _png_bytes(png())
        link = f"figures/{esc(png_name)}"
        self.add(f'<p class="png">Static copy: <a href="{link}">{link}</a></p>')


def _value(value: Any) -> str:
    """A cell's text: floats to 4 significant digits, None as empty."""
    if value is None:
        return ""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _table(rows: list[tuple[Any, Any]], header: tuple[str, str]) -> str:
    head = f"<tr><th>{esc(header[0])}</th><th>{esc(header[1])}</th></tr>"
    body = "".join(f"<tr><td>{esc(k)}</td><td>{esc(_value(v))}</td></tr>" for k, v in rows)
    return f"<table>{head}{body}</table>"


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    clock = f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {secs:02d} s"
    return f"{seconds:,.1f} s ({clock})"


def _headline(page: _Page, job: JobFiles) -> None:
    m = job.metrics
    search = m.get("search_val_accuracy")
    search_text = f"{pct(search)} in the search" if search is not None else "not in the search"
    total = sum(map(sum, m["confusion_matrix"]))
    note = m.get("choice_note")
    note_html = f"<p>Why this trial: {esc(note)}</p>" if isinstance(note, str) and note else ""
    page.add(
        '<section class="headline">'
        f'<div class="big" id="test-accuracy">{pct(m["test_accuracy"])}'
        f"<small>test accuracy on {total:,} test images</small></div>"
        f"<div><p>Validation accuracy of the retrained model: <b>{pct(m['val_accuracy'])}</b></p>"
        f"<p>Chosen trial <b>{esc(m['chosen_trial'])}</b> (stage {esc(m['chosen_stage'])}): "
        f"{esc(search_text)}</p>"
        f"{note_html}"
        f'<p class="protocol">Protocol: {esc(m["protocol"])}</p></div></section>'
    )


def _summary(page: _Page, job: JobFiles, importances) -> None:
    page.add('<h2 id="summary">Summary</h2><div class="summary">')
    for lead, *rest in summarise(job.trials, job.stages, job.metrics, importances):
        items = "".join(f"<li>{esc(sentence)}</li>" for sentence in rest)
        page.add(f"<p>{esc(lead)}</p>" + (f"<ul>{items}</ul>" if items else ""))
    page.add("</div>")


def _configuration(page: _Page, job: JobFiles) -> None:
    m = job.metrics
    config = [(k, m["config"][k]) for k in HYPERPARAMETERS]
    config += [(k, v) for k, v in m["config"].items() if k not in HYPERPARAMETERS]
    phases = [(k, _duration(v)) for k, v in m["phases"].items()]
    phases.append(("total", _duration(sum(m["phases"].values()))))
    run = [("device", m["device"]), ("implementation", m["implementation"])]
    run += [(f"seed: {k}", v) for k, v in m["seeds"].items()]
    page.add('<h2 id="configuration">Chosen configuration and wall clock</h2><div class="tables">')
    page.add(_table(config, ("hyperparameter", "value")))
    page.add(_table(phases, ("phase", "wall clock")))
    page.add(_table(run, ("run", "value")))
    page.add("</div>")


def _search(page: _Page, job: JobFiles, importances) -> None:
    page.add('<h2 id="search">The search</h2>')
    if not job.trials:
        page.note("trials.csv has no trials: there is no search to show.")
        return
    measured = [t for t in job.trials if t.measured]
    if not measured:
        page.note(
            f"None of the {len(job.trials)} trials finished with a validation accuracy "
            "(all failed, or are still running): nothing of the search to plot. The summary "
            "above counts the failures and their most common reason."
        )
        return
    page.figure(
        "best",
        figures.best_per_stage_figure(job.trials, job.stages),
        PNG_NAMES["best"],
        lambda: figures_png.best_per_stage_png(job.trials, job.stages),
    )
    _, constant = figures.parcoords_axes(job.trials)
    page.figure(
        "parcoords",
        figures.parcoords_figure(job.trials),
        PNG_NAMES["parcoords"],
        lambda: figures_png.parcoords_png(job.trials),
    )
    if constant:
        page.add(
            f'<p class="png">Not shown, the same in every trial: {esc(", ".join(constant))}.</p>'
        )
    page.add('<h3 id="importance">Hyperparameter importance, per stage</h3>')
    for number, result in enumerate(importances):
        if result.note is not None:
            page.note(result.note)
            continue
        page.figure(
            f"importance-{number}",
            figures.importance_figure(result),
            _stage_file(result.stage),
            lambda result=result: figures_png.importance_png(result),
        )


def _curves(page: _Page, job: JobFiles) -> None:
    page.add('<h2 id="curves">Learning curves</h2>')
    if not job.curves:
        page.note("curves.json holds no learning curves.")
        return
    page.figure(
        "curves",
        figures.curves_figure(job.curves),
        PNG_NAMES["curves"],
        lambda: figures_png.curves_png(job.curves),
    )


def _test_set(page: _Page, job: JobFiles) -> None:
    m = job.metrics
    names = m["class_names"]
    page.add('<h2 id="test">The test set</h2>')
    page.figure(
        "confusion",
        figures.confusion_figure(m["confusion_matrix"], names),
        PNG_NAMES["confusion"],
        lambda: figures_png.confusion_png(m["confusion_matrix"], names),
    )
    samples = m["samples"]
    wrong = sum(t != p for t, p in zip(samples["true"], samples["predicted"], strict=True))
    page.add(
        f"<h3>{len(samples['index'])} random test images</h3>"
        f"<p>{wrong} of {len(samples['index'])} wrongly classified (red frame).</p>"
        '<div class="samples">'
    )
    for k, image in enumerate(job.images):
        true, predicted = samples["true"][k], samples["predicted"][k]
        data = base64.b64encode(figures_png.image_png(image)).decode("ascii")
        css = "sample wrong" if true != predicted else "sample"
        alt = f"test image {samples['index'][k]}: true {names[true]}, predicted {names[predicted]}"
        page.add(
            f'<div class="{css}"><img src="data:image/png;base64,{data}" alt="{esc(alt)}">'
            f'<div class="pred">{"✗ " if true != predicted else ""}predicted: '
            f"{esc(names[predicted])}</div>"
            f"<div>true: {esc(names[true])}</div>"
            f'<div class="idx">test image #{samples["index"][k]}</div></div>'
        )
    page.add("</div>")
    page.png(
        PNG_NAMES["samples"],
        lambda: figures_png.samples_png(job.images, samples["true"], samples["predicted"], names),
    )


def _trials_table(page: _Page, job: JobFiles) -> None:
    if not job.trials:
        return
    columns = ["stage", "trial", "status", "val_accuracy", "epochs", "seconds", "reason"]
    columns += list(HYPERPARAMETERS)
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    rows = []
    for t in job.trials:
        values = {**t.params, **t.__dict__}
        if t.val_accuracy is not None:
            values["val_accuracy"] = pct(t.val_accuracy)
        cells = "".join(f"<td>{esc(_value(values[c]))}</td>" for c in columns)
        rows.append(f'<tr class="{esc(t.status)}">{cells}</tr>')
    page.add(
        f'<h2 id="trials">All {len(job.trials)} trials</h2><details><summary>Show the table'
        f'</summary><div style="overflow-x:auto"><table>{head}{"".join(rows)}</table></div>'
        "</details>"
    )


def render_html(job: JobFiles, *, with_pngs: bool = True) -> tuple[str, dict[str, bytes]]:
    """The page's HTML and its PNG files (name: bytes; none unless `with_pngs`)."""
    importances = importance_by_stage(job.trials, job.stages)
    page = _Page(with_pngs)
    m = job.metrics
    page.add(
        "<h1>Fashion-MNIST MLP: search and test report</h1>"
        f'<p class="meta">Created {esc(m["created"])} · implementation '
        f"{esc(m['implementation'])} · device {esc(m['device'])}</p>"
    )
    _headline(page, job)
    _summary(page, job, importances)
    _configuration(page, job)
    _search(page, job, importances)
    _curves(page, job)
    _test_set(page, job)
    _trials_table(page, job)
    document = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Fashion-MNIST kata report</title><style>{STYLE}</style></head>"
        f"<body><main>{''.join(page.parts)}</main></body></html>\n"
    )
    return document, page.pngs


def write_report(job_dir: str | Path) -> Path:
    """Write job_dir/report.html and job_dir/figures/*.png; returns the HTML's path."""
    job_dir = Path(job_dir)
    job = read_job(job_dir)
    document, pngs = render_html(job)
    figure_dir = job_dir / "figures"
    figure_dir.mkdir(exist_ok=True)
    for name, data in pngs.items():
        _atomic_write(figure_dir / name, data)
    for stale in figure_dir.glob("*.png"):
        if stale.name not in pngs:
            stale.unlink()
    target = job_dir / "report.html"
    _atomic_write(target, document.encode("utf-8"))
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kata.report",
        description="Write JOB_DIR/report.html and JOB_DIR/figures/*.png from a job folder.",
    )
    parser.add_argument("job_dir", metavar="JOB_DIR", help="folder written by `kata run`")
    args = parser.parse_args(argv)
    try:
        path = write_report(args.job_dir)
    except ReportError as error:
        print(f"report: error: {error}", file=sys.stderr)
        return 2
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
