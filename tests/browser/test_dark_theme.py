"""A board and a comparison in JupyterLab's dark theme, legible as in the light one.

In the dark theme bqplot turned axis labels orange, a raw line under its smoothed one
(drawn faint, for a light theme) all but vanished into the black, and the status
colours, dark shades made for white, read poorly. The test switches the theme from
JupyterLab's own menu, as a person does, and measures the contrast (WCAG's ratio of
relative luminances) of what is drawn against the page behind it; it switches back
to the light theme, which the other tests' server shares, pass or fail.
"""

from __future__ import annotations

import time

import lab
import pytest
from board_dom import look_at

pytestmark = pytest.mark.browser

NAME = "dark_theme.ipynb"
RUNS = """\
import math
import numpy as np
import hypertuner

for lr in (0.01, 0.03, 0.1):
    p = hypertuner.params({"lr": lr, "hidden": 32}, argv=[])
    with hypertuner.Logger(name=f"lr{lr}", dir="dark_runs", params=p, display=False) as run:
        rng = np.random.default_rng(1)
        for i in range(2000):
            loss = 2 * math.exp(-i * lr / 5) + 0.3 + 0.1 * rng.standard_normal()
            run.log({"train/loss": loss, "val/acc": 1 - math.exp(-i * lr / 8)}, i)
"""
BOARD = """\
logger = hypertuner.Logger(name="board")
rng = np.random.default_rng(0)
for i in range(3000):
    loss = 2 * math.exp(-i / 600) + 0.3 + 0.1 * rng.standard_normal()
    logger.log({"loss": loss, "acc": 1 - math.exp(-i / 900), "word": "hi"}, i)
logger.close()
"""
COMPARE = 'hypertuner.compare("dark_runs")'

# Per output: the page's background, and each drawn thing's colour (opacity applied
# over that background) with what it is, for the contrast to be worked out here.
_READ_COLOURS = """
(output) => {
  const rgb = (text) => (text.match(/[\\d.]+/g) || []).slice(0, 4).map(Number);
  const probe = document.createElement("div");
  probe.style.background = "var(--jp-layout-color0)";
  document.body.appendChild(probe);
  const background = rgb(getComputedStyle(probe).backgroundColor);
  probe.remove();
  const shown = (el) =>
    el.getClientRects().length > 0 && getComputedStyle(el).visibility !== "hidden";
  const things = [];
  for (const path of output.querySelectorAll(".ht-chart path.line")) {
    if (!shown(path) || (path.getAttribute("d") || "").length < 2) continue;
    const style = getComputedStyle(path);
    things.push({ what: "line", stroke: rgb(style.stroke), opacity: +style.opacity });
  }
  for (const text of output.querySelectorAll(".ht-chart text.axislabel, .ht-chart .tick text")) {
    const kind = text.matches(".axislabel") ? "axis label " : "tick ";
    if (shown(text) && text.textContent.trim()) things.push({ what: kind + text.textContent,
      stroke: rgb(getComputedStyle(text).fill), opacity: 1 });
  }
  for (const el of output.querySelectorAll(".ht-name, .ht-finished")) {
    const kind = el.matches(".ht-name") ? "title " : "status ";
    if (shown(el)) things.push({ what: kind + el.textContent,
      stroke: rgb(getComputedStyle(el).color), opacity: 1 });
  }
  return { background, things, light: document.body.dataset.jpThemeLight };
}
"""


def colours(seen, kind: str) -> set[tuple]:
    """The colours of the things of one kind (their description's first words)."""
    return {tuple(t["stroke"]) for t in seen["things"] if t["what"].startswith(kind)}


def test_the_dark_theme_keeps_lines_and_text_legible(page, lab_server, artifacts_dir):
    lab.open_cells(page, lab_server, NAME, [RUNS, BOARD, COMPARE])
    lab.run_all(page)
    assert lab.wait_all_done(page, timeout=300) == ["1", "2", "3"]
    lab.choose_theme(page, "JupyterLab Dark")
    try:
        for index, what in ((1, "board"), (2, "compare")):
            output = lab.code_cell(page, index).locator(".jp-OutputArea").first
            look_at(output)
            # The theme's change redraws the raw lines: read once they are.
            seen, ratios, worst = read_when_drawn(page, output)
            lab.screenshot(output, artifacts_dir, f"dark_theme_{what}")
            assert lab.luminance(seen["background"]) < 0.05, seen  # the theme is dark indeed
            print(what, ratios, {kind: t["what"] for kind, t in worst.items()})
            # Raw lines stay faint under their smoothed ones, yet visible; solid lines
            # and text are as legible as WCAG asks of graphics and of small text.
            assert ratios["raw"] >= 1.5, worst["raw"]
            assert ratios["line"] >= 3.0, worst["line"]
            assert ratios["text"] >= 4.5, worst["text"]

            # Axis labels in the titles' colour (bqplot's own is orange in a dark theme).
            assert len(colours(seen, "title")) == 1, seen["things"]
            assert colours(seen, "axis label") == colours(seen, "title"), seen["things"]
    finally:
        lab.choose_theme(page, "JupyterLab Light")


def read_when_drawn(page, output, timeout: float = 20.0):
    """What the output draws, and its least legible raw line, line and text with their
    contrast ratios: as soon as they pass, else as they are after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        seen = output.evaluate(_READ_COLOURS)
        background = seen["background"]
        things = seen["things"]
        kinds = {
            "raw": [t for t in things if t["what"] == "line" and t["opacity"] < 1],
            "line": [t for t in things if t["what"] == "line" and t["opacity"] == 1],
            "text": [t for t in things if t["what"] != "line"],
        }
        if all(kinds.values()) and len(kinds["text"]) > 10:
            worst = {
                k: min(ts, key=lambda t: lab.contrast(t, background)) for k, ts in kinds.items()
            }
            ratios = {k: round(lab.contrast(t, background), 2) for k, t in worst.items()}
            passing = ratios["raw"] >= 1.5 and ratios["line"] >= 3 and ratios["text"] >= 4.5
            if passing or time.monotonic() > deadline:
                return seen, ratios, worst
        elif time.monotonic() > deadline:
            raise AssertionError(f"not every kind of line and text is drawn: {seen}")
        time.sleep(0.2)
