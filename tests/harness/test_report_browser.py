"""The report renders in a real browser: headless Chromium, offline, from a file:// URL.

Fails on any SEVERE console entry (a JavaScript error), an empty plotly figure, parallel
coordinates with no lines drawn, an image that did not decode, or a request that left the
page's own file. Skipped when Chromium or chromedriver is missing, unless
KATA_REQUIRE_BROWSER=1 (then it fails and says how to install them).
"""

import os
import shutil
import time
from pathlib import Path

import pytest

from kata.figures import parcoords_axes
from kata.report import render_html
from kata.report_files import read_job
from tests.harness.report_fixture import write_job

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-unsafe-swiftshader",  # software WebGL for the parallel coordinates, opted in
)
WIDTH = 1280

# Per plotly figure: has it drawn its SVG? For WebGL canvases (parcoords): coloured pixels.
FIGURE_STATE = """
return [...document.querySelectorAll('.plotly-graph-div')].map(div => {
  const canvases = [...div.querySelectorAll('canvas.gl-canvas-context')];
  const painted = canvases.map(c => {
    const copy = document.createElement('canvas');
    copy.width = c.width; copy.height = c.height;
    const ctx = copy.getContext('2d');
    ctx.drawImage(c, 0, 0);
    const data = ctx.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++;
    return n;
  });
  return {id: div.id, plot: div.classList.contains('js-plotly-plot'),
          svg: div.querySelectorAll('svg.main-svg').length,
          marks: div.querySelectorAll('.point, .bars path, .trace, .hm, image').length,
          axes: div.querySelectorAll('.parcoords .y-axis').length,
          painted: painted};
});
"""


def _browser_or_skip():
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not shutil.which(p)]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("the selenium package (pip install selenium)")
    if missing:
        message = (
            f"missing {', '.join(missing)}: on Debian or Ubuntu, "
            "`apt-get install -y chromium chromium-driver`, then `pip install -e .[dev]`"
        )
        if os.environ.get("KATA_REQUIRE_BROWSER") == "1":
            pytest.fail("KATA_REQUIRE_BROWSER=1 and " + message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    _browser_or_skip()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.add_argument(f"--window-size={WIDTH},900")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def open_report(driver, job_dir: Path, screenshot: Path) -> list[dict]:
    """Write and load the report, wait for the figures, take a full-page screenshot.

    The page only, without the PNG files (the same HTML as `write_report`'s, which
    test_report checks), to keep this test fast. Returns the browser's console log.
    """
    html, _ = render_html(read_job(job_dir), with_pngs=False)
    report = job_dir / "report.html"
    report.write_text(html, encoding="utf-8")
    driver.get_log("browser")  # drop anything from before
    driver.get(report.resolve().as_uri())
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        state = driver.execute_script(FIGURE_STATE)
        if state and all(f["plot"] and f["svg"] for f in state):
            break
        time.sleep(0.2)
    time.sleep(0.5)  # let WebGL finish its first frame
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(WIDTH, min(height + 150, 16000))
    time.sleep(0.5)
    driver.save_screenshot(str(screenshot))
    return driver.get_log("browser")


def test_report_renders_without_errors_and_every_figure_is_drawn(browser, tmp_path):
    job = write_job(tmp_path / "job")
    log = open_report(browser, job, tmp_path / "report.png")
    severe = [entry for entry in log if entry["level"] == "SEVERE"]
    assert not severe, f"browser console errors: {severe}"

    state = browser.execute_script(FIGURE_STATE)
    ids = [f["id"] for f in state]
    assert {"fig-best", "fig-parcoords", "fig-curves", "fig-confusion"} <= set(ids), ids
    assert any(i.startswith("fig-importance") for i in ids), ids
    for figure in state:
        assert figure["plot"] and figure["svg"] > 0, f"plotly figure not drawn: {figure}"
        assert figure["marks"] + figure["axes"] > 0, f"plotly figure drew no data: {figure}"
    parcoords = next(f for f in state if f["id"] == "fig-parcoords")
    axes, _ = parcoords_axes(read_job(job).trials)
    assert parcoords["axes"] == len(axes)
    assert parcoords["painted"] and max(parcoords["painted"]) > 500, (
        f"parallel coordinates drew no lines (WebGL canvas pixels: {parcoords['painted']})"
    )

    images = browser.execute_script(
        "return [...document.images].map(i => [i.alt, i.complete, i.naturalWidth])"
    )
    assert len(images) == 10
    assert all(complete and width > 0 for _, complete, width in images), images

    outside = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
        ".filter(n => !n.startsWith('file:') && !n.startsWith('data:'))"
    )
    assert outside == [], f"the report requested {outside}"
    assert (tmp_path / "report.png").stat().st_size > 50_000
