"""notebooks/compare.ipynb, run for real in JupyterLab and Chromium.

The notebook starts four training scripts in the background and shows
``hypertuner.compare`` on their folder; a later cell waits for the trainers. While
that cell shows [*], the view must grow on its own (a background thread follows the
folder). Once everything has finished, selecting rows must overlay exactly those
runs, each in its swatch colour. Tests share the one run, in file order.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import lab
import pytest

pytestmark = pytest.mark.browser

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "compare.ipynb"
LOSS = "val/loss"

# What a person sees of the view: one entry per table row, and per chart its lines.
_READ_VIEW = """
(view) => {
  const rows = [...view.querySelectorAll("table.ht-runs tbody tr")].map((tr) => {
    const cells = [...tr.querySelectorAll("td")].map((td) => td.textContent.trim());
    const swatch = tr.querySelector(".ht-swatch");
    return {
      name: tr.dataset.run,
      checked: tr.querySelector("input[type=checkbox]").checked,
      color: swatch ? getComputedStyle(swatch).backgroundColor : null,
      status: cells[2],
      points: Number((cells[5] || "").replace(/,/g, "")),
    };
  });
  const charts = [...view.querySelectorAll(".ht-board .ht-chart")].map((figure) => {
    const title = figure.querySelector(".mainheading");
    const lines = [...figure.querySelectorAll("path.line")]
      .filter((path) => {
        const shown = (el) => !el || el === figure || (getComputedStyle(el).display !== "none"
          && getComputedStyle(el).visibility !== "hidden" && shown(el.parentElement));
        return shown(path) && (path.getAttribute("d") || "").length > 1;
      })
      .map((path) => ({
        color: getComputedStyle(path).stroke,
        opacity: Number(getComputedStyle(path).opacity),
        points: ((path.getAttribute("d") || "").match(/[ML]/g) || []).length,
      }));
    return { title: title ? title.textContent : "", lines };
  });
  return {
    rows,
    charts,
    dots: view.querySelectorAll("circle.ht-dot").length,
    polylines: view.querySelectorAll("polyline.ht-pc-line").length,
    headers: [...view.querySelectorAll("table.ht-runs th")].map((th) => th.textContent),
  };
}
"""


class CompareRun:
    """The page running the compare notebook."""

    def __init__(self, page, artifacts: Path) -> None:
        self.page = page
        self.artifacts = artifacts
        self.view_cell = lab.code_cell_index(page, "hypertuner.compare(")
        self.wait_cell = lab.code_cell_index(page, "trainer.wait()")

    def view(self):
        return lab.code_cell(self.page, self.view_cell).locator(".ht-compare").last

    def read(self) -> dict:
        return self.view().evaluate(_READ_VIEW)

    def chart(self, state: dict, key: str) -> dict:
        return next(c for c in state["charts"] if c["title"].split("  ·  ")[0] == key)

    def wait_for(self, condition, what: str, timeout: float = 60.0) -> dict:
        """Poll the view until ``condition(state)`` holds; return that state."""
        deadline = time.monotonic() + timeout
        last = None
        while True:
            try:
                state = self.read()
                if condition(state):
                    return state
                last = state
            except Exception as exc:  # noqa: BLE001 - not drawn yet: keep polling
                last = f"{type(exc).__name__}: {exc}"
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting until {what}; last seen: {last}")
            self.page.wait_for_timeout(200)

    def waiting(self) -> bool:
        """True while the cell waiting for the trainers still shows [*]."""
        return lab.prompts(self.page)[self.wait_cell] == "*"

    def shot(self, name: str) -> None:
        self.page.mouse.move(0, 0)
        lab.screenshot(self.view(), self.artifacts, f"compare_{name}")


@pytest.fixture(scope="module")
def compare(page, lab_server, artifacts_dir) -> CompareRun:
    """A fresh copy of the compare notebook, Run All'd; returns once its view shows runs."""
    shutil.copy(NOTEBOOK, lab_server.root_dir / "compare.ipynb")
    lab.open_notebook(page, lab_server.url, "compare.ipynb")
    lab.collapse_left_sidebar(page)
    run = CompareRun(page, artifacts_dir)
    lab.run_all(page)
    lab.wait_running(page, run.wait_cell, timeout=120)
    return run


@pytest.fixture(scope="module")
def finished(compare) -> CompareRun:
    """The same page once every cell has finished and the view shows four finished runs."""
    lab.wait_all_done(compare.page, timeout=180)
    compare.wait_for(
        lambda s: len(s["rows"]) == 4 and all(r["status"] == "finished" for r in s["rows"]),
        "the view shows four finished runs",
    )
    return compare


def test_background_runs_grow_on_screen(compare):
    """While the notebook waits, the table's points and the overlaid lines grow by themselves."""
    first = compare.wait_for(
        lambda s: len(s["rows"]) == 4 and any(c["lines"] for c in s["charts"]),
        "four runs are listed and drawn",
    )
    assert compare.waiting(), "the trainers finished before the view could be watched"
    compare.shot("1_running")
    points = sum(r["points"] for r in first["rows"])
    drawn = sum(line["points"] for line in compare.chart(first, LOSS)["lines"])
    later = compare.wait_for(
        lambda s: sum(r["points"] for r in s["rows"]) > points
        and sum(line["points"] for line in compare.chart(s, LOSS)["lines"]) > drawn,
        "the table's points and the val/loss lines grow",
        timeout=30,
    )
    assert compare.waiting(), "the growth was only seen after the trainers had finished"
    assert any(r["status"] == "running" for r in later["rows"])


def test_every_run_is_overlaid_in_its_swatch_colour(finished):
    """Each listed run has a line of its swatch's colour on the val/loss chart."""
    state = finished.read()
    swatches = {r["color"] for r in state["rows"]}
    assert len(swatches) == 4
    strokes = {line["color"] for line in finished.chart(state, LOSS)["lines"]}
    assert swatches <= strokes
    finished.shot("2_finished")


def test_selecting_a_row_adds_its_line(finished):
    """Unticking every row empties the charts; ticking one adds a line of that row's colour."""
    rows = finished.read()["rows"]
    for row in rows:
        box = finished.view().locator(f"[data-testid='select-{row['name']}']")
        if box.is_checked():
            box.uncheck()
    finished.wait_for(
        lambda s: not any(r["checked"] for r in s["rows"]) and not finished.chart(s, LOSS)["lines"],
        "no run is selected and the val/loss chart is empty",
    )
    chosen = rows[2]
    finished.view().locator(f"[data-testid='select-{chosen['name']}']").check()
    state = finished.wait_for(
        lambda s: [line["color"] for line in finished.chart(s, LOSS)["lines"]]
        and {line["color"] for line in finished.chart(s, LOSS)["lines"]} == {chosen["color"]},
        f"the val/loss chart shows only {chosen['name']}'s colour",
    )
    finished.shot("3_one_selected")
    assert [r["name"] for r in state["rows"] if r["checked"]] == [chosen["name"]]


def test_sort_and_filter(finished):
    """Clicking a header sorts the rows; typing lr=0.1 keeps the one run trained with it."""
    header = finished.view().locator("table.ht-runs th[data-column='p:lr']")
    header.click()
    ascending = finished.wait_for(lambda s: s["headers"][6].endswith("▲"), "sorted by lr")
    header.click()
    descending = finished.wait_for(lambda s: s["headers"][6].endswith("▼"), "sorted by lr, reversed")
    assert [r["name"] for r in descending["rows"]] == [r["name"] for r in ascending["rows"]][::-1]
    finished.view().locator("[data-testid='filter']").fill("lr=0.1")
    filtered = finished.wait_for(lambda s: len(s["rows"]) == 1, "one row matches lr=0.1")
    finished.shot("4_filtered")
    finished.view().locator("[data-testid='filter']").fill("")
    finished.wait_for(lambda s: len(s["rows"]) == 4, "the filter is cleared")
    assert filtered["rows"][0]["name"] in {r["name"] for r in ascending["rows"]}


def test_hyperparameter_views_show_every_run(finished):
    """The scatter has a dot per run and the parallel coordinates a line per run."""
    state = finished.wait_for(lambda s: s["dots"] == 4 and s["polylines"] == 4, "4 dots and 4 lines")
    assert any(h.startswith("lr •") for h in state["headers"])  # the varying parameter is marked


def test_no_errors_anywhere(finished, page):
    """No traceback or stderr output, and nothing logged as an error in the console."""
    assert lab.stderr_outputs(page) == []
    assert page.console_log.errors == []
