"""notebooks/compare.ipynb, run for real in JupyterLab and Chromium.

The notebook starts four training scripts in the background and shows
``hypertuner.compare`` on their folder; a later cell waits for the trainers. While
that cell shows [*], the view must grow on its own (a background thread follows the
folder). Once everything has finished, selecting rows must overlay exactly those
runs, each in its swatch colour. Tests share the one run, in file order.

The trainers inherit the server's demo gate (see ``gate.py``): the test holds them
at steps it chooses, so the wait cell shows [*] for as long as the test looks, and
it knows what the view should show (the runs on disk), however loaded the machine.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import lab
import pytest
from board_dom import look_at

import hypertuner

pytestmark = pytest.mark.browser

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "compare.ipynb"
LOSS = "val/loss"
TRAINERS = 4
# Steps the trainers may log before Run All, then the allowances the growth test
# raises them to; all far short of the steps they train, so the wait cell shows [*].
FIRST_ALLOWANCE = 300
GROWTH = [600, 900]
# Where the overlay test lets them go on to, so that the follower updates the table.
LAST_HOLD = GROWTH[-1] + 100

# What a person sees of the view: one entry per table row, and per chart its lines.
_READ_VIEW = """
(view) => {
  const heads = [...view.querySelectorAll("table.ht-runs th")];
  const columns = heads.map((th) => th.dataset.column || "");
  const rows = [...view.querySelectorAll("table.ht-runs tbody tr")].map((tr) => {
    const texts = [...tr.querySelectorAll("td")].map((td) => td.textContent.trim());
    const cells = Object.fromEntries(columns.map((column, k) => [column, texts[k]]));
    const swatch = tr.querySelector(".ht-swatch");
    return {
      name: tr.dataset.run,
      checked: tr.querySelector("input[type=checkbox]").checked,
      color: swatch ? getComputedStyle(swatch).backgroundColor : null,
      status: cells.status,
      points: Number((cells.points || "").replace(/,/g, "")),
      cells,
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
    faded: view.querySelectorAll("polyline.ht-pc-line.ht-out").length,
    headers: [...view.querySelectorAll("table.ht-runs th")].map((th) => th.textContent),
    columns,
    same: (view.querySelector("[data-testid=same]") || {}).textContent || "",
    metrics: [...view.querySelectorAll("[data-testid=metric] option")].map((o) => o.value),
    legend: [...view.querySelectorAll(".ht-toggles button")].map((b) => b.textContent),
  };
}
"""


def chart(state: dict, key: str) -> dict:
    """The chart of ``key`` in a state read by ``_READ_VIEW``."""
    return next(c for c in state["charts"] if c["title"].split("  ·  ")[0] == key)


def trainer_steps(notebook: Path = NOTEBOOK) -> int:
    """The "steps" the notebook's training scripts are configured with."""
    source = "".join("".join(c["source"]) for c in json.loads(notebook.read_text())["cells"])
    found = re.search(r"""["']steps["']\s*:\s*(\d+)""", source)
    if not found:
        raise LookupError(f"{notebook} sets no steps for its trainers")
    return int(found.group(1))


class CompareRun:
    """The page running the compare notebook, and the gate holding its trainers."""

    def __init__(self, page, gate, runs_dir: Path, artifacts: Path) -> None:
        self.page = page
        self.gate = gate
        self.runs_dir = runs_dir
        self.artifacts = artifacts
        self.view_cell = lab.code_cell_index(page, "hypertuner.compare(")
        self.wait_cell = lab.code_cell_index(page, "trainer.wait()")
        self._on_disk: dict[str, hypertuner.Run] = {}

    def on_disk(self) -> dict[str, tuple[int, int]]:
        """Each run in the sweep folder on disk: name -> (points, last train/loss step)."""
        found = {}
        for folder in sorted(self.runs_dir.iterdir()) if self.runs_dir.is_dir() else []:
            try:
                run = self._on_disk.get(folder.name) or hypertuner.load(folder)
                run.refresh()
            except (hypertuner.HypertunerError, OSError):
                continue  # a folder still being made: not a run yet
            self._on_disk[folder.name] = run
            loss = run.get("train/loss")
            found[run.name] = (
                run.points,
                int(loss.steps[-1]) if loss is not None and len(loss) else -1,
            )
        return found

    def hold_at(self, steps: int, timeout: float = 90.0) -> dict[str, int]:
        """Let the trainers go on to ``steps`` steps and wait until every one holds there.

        Held means each run on disk ends at step ``steps - 1``. Returns each run's
        points on disk then, which stay put until the gate lets more through.
        """
        self.gate.allow(steps)
        deadline = time.monotonic() + timeout
        while True:
            runs = self.on_disk()
            past = {name: step for name, (_, step) in runs.items() if step >= steps}
            assert not past, f"trainers logged steps past the gate's {steps - 1}: {past}"
            if len(runs) == TRAINERS and all(step == steps - 1 for _, step in runs.values()):
                return {name: points for name, (points, _) in runs.items()}
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"timed out after {timeout:.0f} s waiting for {TRAINERS} trainers to hold "
                    f"at step {steps - 1}; on disk (points, last step): {runs}; "
                    f"prompts {lab.prompts(self.page)}"
                )
            self.page.wait_for_timeout(200)

    def view(self):
        return lab.code_cell(self.page, self.view_cell).locator(".ht-compare").last

    def read(self) -> dict:
        # The overlay builds and draws only charts near the view: look at the loss
        # chart first (its title, or until built its place, which names it).
        look_at(self.view().locator(".ht-board .ht-chart").filter(has_text=LOSS).first)
        return self.view().evaluate(_READ_VIEW)

    def chart(self, state: dict, key: str) -> dict:
        return chart(state, key)

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


def drawn(state: dict) -> int:
    """Points drawn on the val/loss chart, over all its lines."""
    return sum(line["points"] for line in chart(state, LOSS)["lines"])


def shows(state: dict, points: dict[str, int]) -> bool:
    """Whether the table lists exactly these runs, running, with these points."""
    rows = {r["name"]: (r["status"], r["points"]) for r in state["rows"]}
    return rows == {name: ("running", count) for name, count in points.items()}


@pytest.fixture(scope="module")
def compare(page, gate, lab_server, artifacts_dir) -> CompareRun:
    """A fresh copy of the compare notebook, Run All'd with the trainers held at the gate."""
    steps = trainer_steps()
    if LAST_HOLD >= steps:
        pytest.fail(f"the test holds trainers at {LAST_HOLD} steps but they train only {steps}")
    shutil.copy(NOTEBOOK, lab_server.root_dir / "compare.ipynb")
    lab.open_notebook(page, lab_server.url, "compare.ipynb")
    lab.collapse_left_sidebar(page)
    run = CompareRun(page, gate, lab_server.root_dir / "sweep" / "runs", artifacts_dir)
    gate.allow(FIRST_ALLOWANCE)
    lab.run_all(page)
    lab.wait_running(page, run.wait_cell, timeout=120)
    return run


@pytest.fixture(scope="module")
def finished(compare) -> CompareRun:
    """The same page once the gate lets the trainers end and every cell has finished.

    The end of the cell after which no run is running refreshes the output's saved
    picture, and JupyterLab then builds the view anew, once: wait for that view.
    """
    compare.view().evaluate("(view) => { view.dataset.before = 'end'; }")
    compare.gate.release()
    lab.wait_all_done(compare.page, timeout=180)
    fresh = lab.code_cell(compare.page, compare.view_cell).locator(".ht-compare:not([data-before])")
    fresh.wait_for(timeout=60_000)
    compare.wait_for(
        lambda s: len(s["rows"]) == 4 and all(r["status"] == "finished" for r in s["rows"]),
        "the view shows four finished runs",
    )
    return compare


def test_background_runs_grow_on_screen(compare):
    """While the notebook waits, the table's points and the overlaid lines grow by themselves."""
    on_disk = compare.hold_at(FIRST_ALLOWANCE)
    state = compare.wait_for(
        lambda s: (
            shows(s, on_disk)
            and {line["color"] for line in chart(s, LOSS)["lines"]}
            == {r["color"] for r in s["rows"]}
        ),
        f"{TRAINERS} running runs are listed with their points on disk, each drawn",
    )
    assert compare.waiting(), "the wait cell finished while the trainers were held"
    compare.shot("1_running")
    samples = [(FIRST_ALLOWANCE, sum(on_disk.values()), drawn(state))]
    for allowance in GROWTH:
        before = on_disk
        on_disk = compare.hold_at(allowance)
        assert all(on_disk[name] > before[name] for name in before), (before, on_disk)
        lines = drawn(state)
        state = compare.wait_for(
            lambda s, on_disk=on_disk, lines=lines: shows(s, on_disk) and drawn(s) > lines,
            f"the table's points grow to those on disk at step {allowance - 1}, "
            "and the val/loss lines with them",
        )
        assert compare.waiting(), f"the wait cell finished before the growth to {allowance} steps"
        samples.append((allowance, sum(on_disk.values()), drawn(state)))
    print(f"(steps allowed, points listed, val/loss points drawn): {samples}")


def test_ticks_and_the_filter_redraw_the_overlay_while_the_kernel_is_busy(compare):
    """The wait cell keeps the kernel busy (it runs no widget callback), yet unticking
    a run, filtering the table and ticking the run again change the overlay at once;
    and the follower's updates every second leave the table's rows in place."""
    assert compare.waiting(), "the wait cell finished before the test began"
    view = compare.view()
    rows = compare.read()["rows"]
    everyone = {r["color"] for r in rows}
    colours = lambda s: {line["color"] for line in chart(s, LOSS)["lines"]}  # noqa: E731
    compare.wait_for(lambda s: colours(s) == everyone, "every run is overlaid")
    view.evaluate("(v) => v.querySelectorAll('tr[data-run]').forEach((tr) => (tr.kept = true))")

    first, second = rows[0], rows[1]
    started = time.monotonic()
    view.locator(f"[data-testid='select-{first['name']}']").uncheck()
    compare.wait_for(
        lambda s: colours(s) == everyone - {first["color"]}, f"{first['name']} leaves the overlay"
    )
    print(f"an untick redrew the overlay within {time.monotonic() - started:.2f} s")
    view.locator("[data-testid='filter']").fill(second["name"])
    compare.wait_for(
        lambda s: colours(s) == {second["color"]}, f"the filter leaves {second['name']} alone"
    )
    view.locator("[data-testid='filter']").fill("")
    view.locator(f"[data-testid='select-{first['name']}']").check()
    compare.wait_for(lambda s: colours(s) == everyone, "every run is back")
    assert compare.waiting(), "the wait cell finished: the kernel may have drawn these"

    # The trainers go on: the follower's updates bring the new points to the table.
    on_disk = compare.hold_at(LAST_HOLD)
    compare.wait_for(lambda s: shows(s, on_disk), "the table lists the points now on disk")
    kept = view.evaluate("(v) => [...v.querySelectorAll('tr[data-run]')].map((tr) => !!tr.kept)")
    assert kept == [True] * len(rows), "the table's rows were built anew by an update"


def test_every_run_is_overlaid_in_its_swatch_colour(finished):
    """Each listed run has a line of its swatch's colour on the val/loss chart."""
    state = finished.read()
    swatches = {r["color"] for r in state["rows"]}
    assert len(swatches) == 4
    strokes = {line["color"] for line in finished.chart(state, LOSS)["lines"]}
    assert swatches <= strokes
    finished.shot("2_finished")


def test_the_table_leads_with_what_varies(finished):
    """The varying param, then the chosen metric's summaries; the params every run
    shares on one line; the legend names runs by what sets them apart."""
    state = finished.wait_for(lambda s: s["same"] and len(s["legend"]) == 4, "the note, 4 labels")
    columns = state["columns"]
    assert columns[:3] == ["", "name", "p:lr"], columns
    metric = state["metrics"][0]
    assert columns[3:6] == [f"m:{metric}/last", f"m:{metric}/min", f"m:{metric}/max"], columns
    assert not [c for c in columns if c.startswith("p:") and c != "p:lr"], columns
    assert "hidden=32" in state["same"] and "steps=3000" in state["same"], state["same"]
    assert "lr" not in state["metrics"], "the demo logs its lr schedule: a param, not a metric"
    assert sorted(state["legend"]) == sorted(["lr=1", "lr=0.3", "lr=0.1", "lr=0.03"])
    finished.shot("2b_table")


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
        lambda s: (
            [line["color"] for line in finished.chart(s, LOSS)["lines"]]
            and {line["color"] for line in finished.chart(s, LOSS)["lines"]} == {chosen["color"]}
        ),
        f"the val/loss chart shows only {chosen['name']}'s colour",
    )
    finished.shot("3_one_selected")
    assert [r["name"] for r in state["rows"] if r["checked"]] == [chosen["name"]]


def test_sort_and_filter(finished):
    """Clicking a header sorts the rows; typing lr=0.1 keeps the one run trained with it."""
    header = finished.view().locator("table.ht-runs th[data-column='p:lr']")
    header.click()
    ascending = finished.wait_for(lambda s: sorted_by(s, "p:lr", "▲"), "sorted by lr")
    header.click()
    descending = finished.wait_for(lambda s: sorted_by(s, "p:lr", "▼"), "sorted by lr, reversed")
    assert [r["name"] for r in descending["rows"]] == [r["name"] for r in ascending["rows"]][::-1]
    finished.view().locator("[data-testid='filter']").fill("lr=0.1")
    filtered = finished.wait_for(lambda s: len(s["rows"]) == 1, "one row matches lr=0.1")
    finished.shot("4_filtered")
    finished.view().locator("[data-testid='filter']").fill("")
    finished.wait_for(lambda s: len(s["rows"]) == 4, "the filter is cleared")
    assert filtered["rows"][0]["name"] in {r["name"] for r in ascending["rows"]}


def sorted_by(state: dict, column: str, arrow: str) -> bool:
    return state["headers"][state["columns"].index(column)].endswith(arrow)


def test_hyperparameter_views_show_every_run(finished):
    """The scatter has a dot per run and the parallel coordinates a line per run."""
    state = finished.wait_for(
        lambda s: s["dots"] == 4 and s["polylines"] == 4, "4 dots and 4 lines"
    )
    assert any(h.startswith("lr •") for h in state["headers"])  # the varying parameter is marked
    drawn = finished.view().evaluate(_READ_SCATTER)
    assert len(drawn["x"]) >= 3 and len(drawn["y"]) >= 3, drawn
    for axis in ("x", "y"):
        assert not overlapping(drawn[axis]), f"{axis} tick labels overlap: {drawn[axis]}"
    assert drawn["dots_inside"] == 4, f"a dot is clipped by the frame: {drawn}"


# The scatter's tick labels (boxes, split into axes by where they sit) and how many
# dots lie wholly inside its frame.
_READ_SCATTER = """
(view) => {
  const node = view.querySelector("[data-testid=scatter]");
  const frame = node.querySelector(".ht-frame").getBoundingClientRect();
  const boxes = [...node.querySelectorAll("text.ht-tick")].map((t) => {
    const b = t.getBoundingClientRect();
    return { text: t.textContent, left: b.left, right: b.right, top: b.top, bottom: b.bottom };
  });
  const inside = [...node.querySelectorAll("circle.ht-dot")].filter((c) => {
    const b = c.getBoundingClientRect();
    return b.left >= frame.left && b.right <= frame.right
      && b.top >= frame.top && b.bottom <= frame.bottom;
  });
  return {
    x: boxes.filter((b) => b.top >= frame.bottom),
    y: boxes.filter((b) => b.right <= frame.left),
    dots_inside: inside.length,
  };
}
"""


def overlapping(boxes: list[dict]) -> list[tuple[str, str]]:
    return [
        (a["text"], b["text"])
        for i, a in enumerate(boxes)
        for b in boxes[i + 1 :]
        if a["left"] < b["right"]
        and b["left"] < a["right"]
        and a["top"] < b["bottom"]
        and b["top"] < a["bottom"]
    ]


def colours(state: dict) -> set[str]:
    """The colours of the lines on the val/loss chart: one per run drawn."""
    return {line["color"] for line in chart(state, LOSS)["lines"]}


def test_brushing_an_axis_filters_the_table_and_the_overlay(finished, page):
    """Dragging along the lr axis keeps the runs in that range in the table and on the
    charts and fades the others' lines; a click on the axis brings every run back."""
    for row in finished.read()["rows"]:
        box = finished.view().locator(f"[data-testid='select-{row['name']}']")
        if not box.is_checked():
            box.check()
    everyone = finished.wait_for(
        lambda s: len(s["rows"]) == 4 and len(colours(s)) == 4,
        "4 runs listed and overlaid",
    )
    area = finished.view().locator("[data-testid='brush-lr']")
    look_at(area)
    box = area.bounding_box()
    x = box["x"] + box["width"] / 2
    # lr is drawn log, 1 at the top: the upper half of the axis holds lr 1 and 0.3.
    page.mouse.move(x, box["y"] + 2)
    page.mouse.down()
    page.mouse.move(x, box["y"] + box["height"] * 0.5, steps=8)
    page.mouse.up()
    brushed = finished.wait_for(
        lambda s: len(s["rows"]) == 2 and len(colours(s)) == 2,
        "2 runs left in the table and on the charts",
    )
    assert sorted(r["cells"]["p:lr"] for r in brushed["rows"]) == ["0.3", "1"]
    kept = {r["color"] for r in brushed["rows"]}
    assert colours(brushed) == kept
    assert brushed["faded"] == 2 and brushed["polylines"] == 4, "the others fade, not vanish"
    look_at(area)
    finished.shot("5_brushed")
    box = area.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.9)
    back = finished.wait_for(
        lambda s: len(s["rows"]) == 4 and len(colours(s)) == 4,
        "every run back after a click clears the brush",
    )
    assert back["faded"] == 0
    assert {r["name"] for r in back["rows"]} == {r["name"] for r in everyone["rows"]}


def test_the_saved_picture_is_of_the_finished_runs(finished, lab_server):
    """Saved now, the notebook's picture of the view (what GitHub and nbconvert
    without widget state show) has four finished runs overlaid, not the state the
    view was first shown in; and the page holds one view of it."""
    page = finished.page
    assert lab.code_cell(page, finished.view_cell).locator(".ht-compare").count() == 1
    page.locator(f"{lab.PANEL} .jp-Toolbar [data-command='docmanager:save']").click()
    page.wait_for_selector(".lm-TabBar-tab.lm-mod-current:not(.jp-mod-dirty)")
    cells = json.loads((lab_server.root_dir / "compare.ipynb").read_text())["cells"]
    (output,) = next(c for c in cells if "hypertuner.compare(" in "".join(c["source"]))["outputs"]
    picture = "".join(output["data"]["image/svg+xml"])
    assert "4 finished" in picture and "running" not in picture
    assert picture.count('class="line"') >= 4 and "lr=0.03" in picture


def test_no_errors_anywhere(finished, page):
    """No traceback or stderr output, and nothing logged as an error in the console."""
    assert lab.stderr_outputs(page) == []
    assert page.console_log.errors == []
